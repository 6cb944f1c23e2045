import { useEffect, useMemo, useRef, useState } from 'react'
import { globalNorm, mapTree, sampleFrames, toStore } from 'gradstream'
import type { GradientTransformDefinition } from 'gradstream/operators'
import { LineChart } from '../LineChart.js'
import { useWidth } from '../useWidth.js'
import { useStore } from '../useStore.js'
import { paintContour, viewport } from './contour.js'
import { objectives } from './functions.js'
import {
  allRacers,
  customRacer,
  defaultRacers,
  Race,
  type Racer,
  type RaceSnapshot,
} from './race.js'

const SIZE = 440
/** The slider moves log10(lr) in steps of 0.05; the rate it sets is that power of ten to 3 digits. */
const lrOf = (v: number) => Number((10 ** v).toPrecision(3))
/** What the "write your own transform" box starts with: heavy-ball momentum, β = 0.8. */
const EXAMPLE = `// a gradientTransform definition: the race runs
//   gradient → yours → scaleByLearningRate(lr) → applyUpdates()
// g, the updates, is [gx, gy]; return [new updates, new slot]
({
  name: 'mine',
  init: (params) => ({ v: params.map(() => 0) }),
  update: (g, slot) => {
    const v = slot.v.map((vi, i) => 0.8 * vi + g[i])
    return [v, { v }]
  },
})`

/** Evaluates the box's text to a definition (mapTree is in scope for tree-shaped updates). */
function definitionOf(code: string): GradientTransformDefinition<unknown> {
  // the person's own code, run in their own page, as a console would
  const make = new Function('mapTree', `"use strict"; return (${code}\n)`) as (
    m: typeof mapTree,
  ) => unknown
  const d = make(mapTree)
  if (typeof d !== 'object' || d === null) {
    throw new TypeError(
      `your transform: expected an object { name, init, update }, got ${String(d)}`,
    )
  }
  return d as GradientTransformDefinition<unknown>
}

/**
 * The learning rate a racer's last step used: `state.lr`, or, where an optimizer leaves that NaN
 * (the schedule-free ones), the `lr` it records among its hyperparameters.
 */
const lrUsed = (s: { lr: number; hyper: { readonly [k: string]: number } } | undefined) => {
  if (!s || Number.isFinite(s.lr)) return s?.lr
  const k = Object.keys(s.hyper).find((h) => h === 'lr' || h.endsWith('.lr'))
  return k === undefined ? s.lr : s.hyper[k]
}

/** A coordinate at a fixed width, so the table does not reflow as the numbers change. */
const coord = (v: number) =>
  Math.abs(v) < 1000 ? (v < 0 && v > -0.0005 ? 0 : v).toFixed(3) : v.toExponential(1)

const show = (v: number | undefined, digits = 4) =>
  v === undefined || Number.isNaN(v)
    ? '—'
    : Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3)
      ? v.toExponential(digits - 1)
      : v.toPrecision(digits)

export function DescentPage() {
  const race = useMemo(
    () =>
      new Race(
        objectives[0],
        allRacers.filter((r) => defaultRacers.includes(r.name)),
      ),
    [],
  )
  const [picked, setPicked] = useState<readonly string[]>(defaultRacers)
  const [custom, setCustom] = useState<Racer | null>(null)
  const [code, setCode] = useState(EXAMPLE)
  const [codeError, setCodeError] = useState('')
  const pick = (names: readonly string[], mine: Racer | null) => {
    setPicked(names)
    race.setRacers([
      ...allRacers.filter((r) => names.includes(r.name)),
      ...(mine && names.includes(mine.name) ? [mine] : []),
    ])
  }
  const store = useMemo(
    () => toStore(race.snapshot$.pipe(sampleFrames<RaceSnapshot>()), race.snapshot$.value),
    [race],
  )
  useEffect(() => () => race.stop(), [race])
  const snap = useStore(store)
  const [lrLog, setLrLog] = useState(Math.log10(objectives[0].lr))
  const lr = lrOf(lrLog)
  const contour = useRef<HTMLCanvasElement>(null)
  const overlay = useRef<HTMLCanvasElement>(null)

  useEffect(() => {
    if (contour.current) paintContour(contour.current, snap.objective)
  }, [snap.objective])

  // the paths, redrawn once per animation frame at most (the store is sampled per frame)
  useEffect(() => {
    const c = overlay.current
    if (!c) return
    const ctx = c.getContext('2d')!
    ctx.clearRect(0, 0, c.width, c.height)
    const { toPixel } = viewport(snap.objective.box, c.width, c.height)
    // each path twice: a thin solid line, then (over all of them) a wider dashed one whose
    // dashes take turns with the other racers' (racer k owns the k-th of n dash slots), so where
    // paths run together (sgd and nesterov down a round bowl) they show as coloured stripes
    const n = racers.length
    const labels: [number, number][] = []
    const DASH = 8
    const trace = (p: number[]) => {
      ctx.beginPath()
      for (let i = 0; i < p.length; i += 2) {
        const [px, py] = toPixel(p[i], p[i + 1])
        if (i === 0) ctx.moveTo(px, py)
        else ctx.lineTo(px, py)
      }
      ctx.stroke()
    }
    ctx.lineJoin = 'round'
    for (const pass of ['line', 'stripes'] as const) {
      racers.forEach((r, k) => {
        const p = snap.paths[r.name]
        if (!p) return
        ctx.strokeStyle = r.color
        ctx.lineWidth = pass === 'line' ? 1.5 : 4
        ctx.setLineDash(pass === 'line' || n === 1 ? [] : [DASH, DASH * (n - 1)])
        ctx.lineDashOffset = -DASH * k
        trace(p)
      })
    }
    ctx.setLineDash([])
    // each head with its name and the learning rate its last step used, labels kept apart
    ctx.font = '11px system-ui, sans-serif'
    racers.forEach((r) => {
      const p = snap.paths[r.name]
      if (!p) return
      const [hx, hy] = toPixel(p[p.length - 2], p[p.length - 1])
      ctx.fillStyle = r.color
      ctx.strokeStyle = '#fff'
      ctx.lineWidth = 1.5
      ctx.beginPath()
      ctx.arc(hx, hy, 4.5, 0, 2 * Math.PI)
      ctx.fill()
      ctx.stroke()
      const lr = lrUsed(snap.states[r.name])
      if (lr === undefined || Number.isNaN(lr)) return
      let ly = hy - 8
      while (labels.some(([x, y]) => Math.abs(x - hx) < 110 && Math.abs(y - ly) < 13)) ly += 13
      labels.push([hx, ly])
      const text = `${r.name} · lr ${show(lr, 3)}`
      const lx = Math.min(Math.max(hx + 7, 2), c.width - ctx.measureText(text).width - 2)
      ctx.lineWidth = 3
      ctx.strokeText(text, lx, ly)
      ctx.fillText(text, lx, ly)
    })
    const [sx, sy] = toPixel(snap.start[0], snap.start[1])
    ctx.strokeStyle = '#fff'
    ctx.strokeRect(sx - 5, sy - 5, 10, 10)
  }, [snap])

  const racers = snap.racers
  const chartData = useMemo(() => {
    const n = Math.max(0, ...racers.map((r) => snap.losses[r.name]?.length ?? 0))
    const x = Array.from({ length: n }, (_, i) => i + 1)
    return [x, ...racers.map((r) => snap.losses[r.name] ?? [])]
    // snap.version changes whenever a loss was appended
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [snap.version])
  const series = useMemo(() => racers.map((r) => ({ label: r.name, color: r.color })), [racers])

  const step = Math.max(0, ...racers.map((r) => snap.states[r.name]?.step ?? 0))
  const width = useWidth()
  const chartWidth = Math.max(300, Math.min(660, width - 560))

  return (
    <div className="descent">
      <div className="panel">
        <div className="controls">
          <select
            aria-label="function to minimise"
            data-testid="fn-select"
            value={snap.objective.name}
            onChange={(e) => {
              const o = objectives.find((f) => f.name === e.target.value)!
              const v = Math.log10(o.lr)
              setLrLog(v)
              race.setLr(lrOf(v))
              race.reset(o, o.start, false)
            }}
          >
            {objectives.map((o) => (
              <option key={o.name} value={o.name}>
                {o.label}
              </option>
            ))}
          </select>
          <button
            data-testid="play"
            onClick={() =>
              Object.keys(race.snapshot$.value.states).length > 0
                ? race.play()
                : race.reset(undefined, undefined, true)
            }
          >
            Play
          </button>
          <button data-testid="pause" onClick={() => race.pause()}>
            Pause
          </button>
          <button
            data-testid="step"
            onClick={() =>
              Object.keys(race.snapshot$.value.states).length > 0
                ? race.step()
                : race.reset(undefined, undefined, false)
            }
          >
            Step
          </button>
          <button data-testid="reset" onClick={() => race.reset(undefined, undefined, false)}>
            Reset
          </button>
        </div>
        <div className="stack map">
          <canvas ref={contour} width={SIZE} height={SIZE} />
          <canvas
            ref={overlay}
            width={SIZE}
            height={SIZE}
            data-testid="contour"
            tabIndex={0}
            role="application"
            aria-label={`start point (${snap.start[0].toFixed(2)}, ${snap.start[1].toFixed(2)}): click the map, or move it with the arrow keys and press Enter to race`}
            style={{ cursor: 'crosshair' }}
            onKeyDown={(e) => {
              // keyboard: the arrows move the start by 1/40 of the window, Enter races from it
              const [x0, x1, y0, y1] = snap.objective.box
              const move: Record<string, [number, number]> = {
                ArrowLeft: [-(x1 - x0) / 40, 0],
                ArrowRight: [(x1 - x0) / 40, 0],
                ArrowUp: [0, (y1 - y0) / 40],
                ArrowDown: [0, -(y1 - y0) / 40],
              }
              // the race's own start, not the rendered one: two keys can come within one frame
              const [sx, sy] = race.snapshot$.value.start
              if (e.key in move) {
                e.preventDefault()
                const [dx, dy] = move[e.key]
                const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v))
                race.reset(snap.objective, [clamp(sx + dx, x0, x1), clamp(sy + dy, y0, y1)], false)
              } else if (e.key === 'Enter' || e.key === ' ') {
                e.preventDefault()
                race.reset(snap.objective, [sx, sy], true)
              }
            }}
            onClick={(e) => {
              const rect = e.currentTarget.getBoundingClientRect()
              const { toPoint } = viewport(snap.objective.box, SIZE, SIZE)
              // the canvas may be drawn smaller than SIZE (a phone): scale the click back
              const px = ((e.clientX - rect.left) / rect.width) * SIZE
              const py = ((e.clientY - rect.top) / rect.height) * SIZE
              race.reset(snap.objective, toPoint(px, py), true)
            }}
          />
        </div>
        <p className="muted" style={{ maxWidth: 440 }}>
          Click the map to start a race from that point (or focus it, move the start with the arrow
          keys, and press Enter).
        </p>
      </div>
      <div className="panel">
        <div className="controls">
          <label htmlFor="lr">learning rate</label>
          <input
            id="lr"
            data-testid="lr-slider"
            type="range"
            min={-4}
            max={0}
            step={0.05}
            value={lrLog}
            onChange={(e) => {
              const v = Number(e.target.value)
              setLrLog(v)
              race.setLr(lrOf(v))
            }}
          />
          <span data-testid="lr-value" data-value={lr}>
            {lr}
          </span>
          <span className="muted">
            step{' '}
            <span data-testid="race-step" data-value={step}>
              {step}
            </span>
            {snap.playing ? ' · running' : ' · paused'}
          </span>
        </div>
        <div className="scrollx">
          <table className="readouts race" style={{ width: '42.5em' }}>
            <colgroup>
              <col style={{ width: '10em' }} />
              <col style={{ width: '3.5em' }} />
              <col style={{ width: '7.5em' }} />
              <col style={{ width: '5.5em' }} />
              <col style={{ width: '7.5em' }} />
              <col style={{ width: '8.5em' }} />
            </colgroup>
            <thead>
              <tr>
                <th>optimizer</th>
                <th>step</th>
                <th>loss</th>
                <th>lr</th>
                <th>‖∇f‖</th>
                <th>x, y</th>
              </tr>
            </thead>
            <tbody>
              {racers.map((r) => {
                const s = snap.states[r.name]
                const g = s?.grad ? globalNorm(s.grad) : NaN
                const why = snap.finished[r.name]
                return (
                  <tr key={r.name}>
                    <td title={why ?? r.note}>
                      <span className="swatch" style={{ background: r.color }} />
                      {r.name}
                      {why ? (
                        <span className="muted"> ({why === 'done' ? 'done' : 'failed'})</span>
                      ) : null}
                    </td>
                    <td data-testid={`readout-${r.name}-step`} data-value={s?.step ?? 0}>
                      {s?.step ?? 0}
                    </td>
                    <td data-testid={`readout-${r.name}-loss`} data-value={String(s?.loss ?? NaN)}>
                      {show(s?.loss)}
                    </td>
                    <td data-testid={`readout-${r.name}-lr`} data-value={String(lrUsed(s) ?? NaN)}>
                      {show(lrUsed(s), 3)}
                    </td>
                    <td data-testid={`readout-${r.name}-gradnorm`} data-value={String(g)}>
                      {show(g)}
                    </td>
                    <td className="muted">
                      {s ? `${coord(s.params[0])}, ${coord(s.params[1])}` : '—'}
                    </td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
        {racers
          .filter((r) => snap.finished[r.name] && snap.finished[r.name] !== 'done')
          .map((r) => (
            <p key={r.name} className="bad small" role="alert" data-testid={`failed-${r.name}`}>
              {r.name}: {snap.finished[r.name]}
            </p>
          ))}
        <LineChart
          title="loss"
          series={series}
          data={chartData}
          scale={snap.objective.name === 'saddle' ? 'asinh' : 'log'}
          width={chartWidth}
          height={260}
          testId="loss-chart"
        />
      </div>
      <section className="panel picks" aria-labelledby="picks-title">
        <h2 id="picks-title">Who races</h2>
        <fieldset className="checks" data-testid="racer-picks">
          <legend className="sr-only">optimizers in the race</legend>
          {[...allRacers, ...(custom ? [custom] : [])].map((r) => (
            <label key={r.name} title={r.note}>
              <input
                type="checkbox"
                data-testid={`pick-${r.name}`}
                checked={picked.includes(r.name)}
                onChange={(e) =>
                  pick(
                    e.target.checked ? [...picked, r.name] : picked.filter((n) => n !== r.name),
                    custom,
                  )
                }
              />
              <span className="swatch" style={{ background: r.color }} />
              {r.name}
              {r.note ? <span className="muted small"> ({r.note})</span> : null}
            </label>
          ))}
        </fieldset>
        <label className="block">
          Write your own transform
          <textarea
            data-testid="custom-code"
            value={code}
            rows={11}
            spellCheck={false}
            onChange={(e) => setCode(e.target.value)}
          />
        </label>
        <div className="controls">
          <button
            data-testid="custom-add"
            onClick={() => {
              try {
                const mine = customRacer(definitionOf(code))
                setCustom(mine)
                setCodeError('')
                pick([...picked.filter((n) => !n.startsWith('custom:')), mine.name], mine)
              } catch (e) {
                setCodeError(e instanceof Error ? `${e.name}: ${e.message}` : String(e))
              }
            }}
          >
            Add to the race
          </button>
        </div>
        {codeError ? (
          <p className="bad small" role="alert" data-testid="custom-error">
            {codeError}
          </p>
        ) : null}
      </section>
    </div>
  )
}
