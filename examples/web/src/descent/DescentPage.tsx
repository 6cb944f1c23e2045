import { useEffect, useMemo, useRef, useState } from 'react'
import { globalNorm, sampleFrames, toStore } from 'gradstream'
import { LineChart } from '../LineChart.js'
import { useStore } from '../useStore.js'
import { paintContour, viewport } from './contour.js'
import { objectives } from './functions.js'
import { Race, racers, type RaceSnapshot } from './race.js'

const SIZE = 440
/** The slider moves log10(lr) in steps of 0.05; the rate it sets is that power of ten to 3 digits. */
const lrOf = (v: number) => Number((10 ** v).toPrecision(3))
const show = (v: number | undefined, digits = 4) =>
  v === undefined || Number.isNaN(v)
    ? '—'
    : Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3)
      ? v.toExponential(digits - 1)
      : v.toPrecision(digits)

export function DescentPage() {
  const race = useMemo(() => new Race(objectives[0]), [])
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
    for (const r of racers) {
      const p = snap.paths[r.name]
      ctx.strokeStyle = r.color
      ctx.fillStyle = r.color
      ctx.lineWidth = 2
      ctx.beginPath()
      for (let i = 0; i < p.length; i += 2) {
        const [px, py] = toPixel(p[i], p[i + 1])
        if (i === 0) ctx.moveTo(px, py)
        else ctx.lineTo(px, py)
      }
      ctx.stroke()
      const [hx, hy] = toPixel(p[p.length - 2], p[p.length - 1])
      ctx.beginPath()
      ctx.arc(hx, hy, 4, 0, 2 * Math.PI)
      ctx.fill()
    }
    const [sx, sy] = toPixel(snap.start[0], snap.start[1])
    ctx.strokeStyle = '#fff'
    ctx.strokeRect(sx - 5, sy - 5, 10, 10)
  }, [snap])

  const chartData = useMemo(() => {
    const n = Math.max(...racers.map((r) => snap.losses[r.name].length))
    const x = Array.from({ length: n }, (_, i) => i + 1)
    return [x, ...racers.map((r) => snap.losses[r.name])]
    // snap.version changes whenever a loss was appended
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [snap.version])
  const series = useMemo(() => racers.map((r) => ({ label: r.name, color: r.color })), [])

  const step = Math.max(0, ...racers.map((r) => snap.states[r.name]?.step ?? 0))

  return (
    <div className="row">
      <div className="panel">
        <div className="controls">
          <select
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
              race.snapshot$.value.states.sgd ? race.play() : race.reset(undefined, undefined, true)
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
              race.snapshot$.value.states.sgd
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
        <div className="stack" style={{ width: SIZE, height: SIZE }}>
          <canvas ref={contour} width={SIZE} height={SIZE} />
          <canvas
            ref={overlay}
            width={SIZE}
            height={SIZE}
            data-testid="contour"
            style={{ cursor: 'crosshair' }}
            onClick={(e) => {
              const rect = e.currentTarget.getBoundingClientRect()
              const { toPoint } = viewport(snap.objective.box, SIZE, SIZE)
              race.reset(snap.objective, toPoint(e.clientX - rect.left, e.clientY - rect.top), true)
            }}
          />
        </div>
        <p className="muted">Click the map to start a race from that point.</p>
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
        <table className="readouts">
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
              return (
                <tr key={r.name}>
                  <td>
                    <span className="swatch" style={{ background: r.color }} />
                    {r.name}
                    {snap.finished[r.name] ? (
                      <span className="muted"> ({snap.finished[r.name]})</span>
                    ) : null}
                  </td>
                  <td data-testid={`readout-${r.name}-step`} data-value={s?.step ?? 0}>
                    {s?.step ?? 0}
                  </td>
                  <td data-testid={`readout-${r.name}-loss`} data-value={String(s?.loss ?? NaN)}>
                    {show(s?.loss)}
                  </td>
                  <td data-testid={`readout-${r.name}-lr`} data-value={String(s?.lr ?? NaN)}>
                    {show(s?.lr, 3)}
                  </td>
                  <td data-testid={`readout-${r.name}-gradnorm`} data-value={String(g)}>
                    {show(g)}
                  </td>
                  <td className="muted">
                    {s ? `${s.params[0].toFixed(3)}, ${s.params[1].toFixed(3)}` : '—'}
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
        <LineChart
          title="loss"
          series={series}
          data={chartData}
          scale="asinh"
          width={560}
          height={260}
          testId="loss-chart"
        />
      </div>
    </div>
  )
}
