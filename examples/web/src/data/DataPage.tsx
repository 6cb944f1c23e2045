import { useEffect, useMemo, useRef, useState } from 'react'
import { BehaviorSubject, type Subscription } from 'rxjs'
import {
  fromData,
  mlp,
  sampleFrames,
  toStore,
  trainInWorker,
  type MlpParams,
  type TrainState,
  type WorkerRun,
} from 'gradstream'
import { FilePicker } from '../FilePicker.js'
import { LineChart } from '../LineChart.js'
import { fixed, Readouts } from '../Readouts.js'
import { useStore } from '../useStore.js'
import { useWidth } from '../useWidth.js'
import { optimizerNames, type OptimizerName } from '../mnist/settings.js'
import { CsvError, parseCsv, sampleCsv, standardize, type Table } from './csv.js'
import type { DataConfig } from './data.worker.js'

type State = TrainState<MlpParams>

interface View {
  readonly status: 'idle' | 'training' | 'paused' | 'done' | 'error'
  readonly state: State | null
  readonly steps: number[]
  readonly losses: number[]
  readonly evalSteps: number[]
  readonly accuracy: number[]
}
const fresh = (status: View['status']): View => ({
  status,
  state: null,
  steps: [],
  losses: [],
  evalSteps: [],
  accuracy: [],
})

const COLORS = [
  '#e6194b',
  '#4363d8',
  '#3cb44b',
  '#f58231',
  '#911eb4',
  '#42d4f4',
  '#f032e6',
  '#9a6324',
  '#469990',
  '#000075',
]
const RGB = COLORS.map((c) => [1, 3, 5].map((k) => parseInt(c.slice(k, k + 2), 16)))
const MAP = 300 // the decision map's size in pixels
/** The largest CSV file the page reads. */
const MAX_CSV_BYTES = 16 * 2 ** 20
const CELLS = 60 // …and its resolution in cells per side

const samples = ['moons', 'circles', 'xor', 'spiral'] as const

/**
 * The 2-D table's points over the net's decision regions (each cell coloured by its most likely
 * class, lighter where the net is unsure), in the standardised coordinates the net sees.
 */
function DecisionMap(props: {
  readonly table: Table
  readonly x: Float64Array
  readonly params: MlpParams | null
  readonly net: ReturnType<typeof mlp>
}) {
  const ref = useRef<HTMLCanvasElement>(null)
  const drawn = useRef(0)
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null)
  const latest = useRef(props)
  latest.current = props
  const box = useMemo(() => {
    let m = 0
    for (const v of props.x) m = Math.max(m, Math.abs(v))
    return m * 1.1 || 1
  }, [props.x])
  const grid = useMemo(() => {
    const g = new Float64Array(CELLS * CELLS * 2)
    for (let r = 0; r < CELLS; r++)
      for (let c = 0; c < CELLS; c++) {
        g[2 * (r * CELLS + c)] = -box + ((c + 0.5) / CELLS) * 2 * box
        g[2 * (r * CELLS + c) + 1] = box - ((r + 0.5) / CELLS) * 2 * box
      }
    return fromData([CELLS * CELLS, 2], g)
  }, [box])
  useEffect(() => {
    const draw = () => {
      timer.current = null
      drawn.current = performance.now()
      const { table, x, params, net } = latest.current
      const ctx = ref.current!.getContext('2d')!
      ctx.fillStyle = '#fff'
      ctx.fillRect(0, 0, MAP, MAP)
      if (params) {
        const p = net.predict(params, grid)
        const k = p.shape[1]
        const img = ctx.createImageData(CELLS, CELLS)
        for (let i = 0; i < CELLS * CELLS; i++) {
          let best = 0
          for (let j = 1; j < k; j++) if (p.data[i * k + j] > p.data[i * k + best]) best = j
          // confidence above chance, 0 … 1, sets how deep the colour is
          const conf = (p.data[i * k + best] - 1 / k) / (1 - 1 / k)
          const a = 0.15 + 0.45 * conf
          const [r, g, b] = RGB[best]
          img.data.set([255 - a * (255 - r), 255 - a * (255 - g), 255 - a * (255 - b), 255], 4 * i)
        }
        const tmp = document.createElement('canvas')
        tmp.width = CELLS
        tmp.height = CELLS
        tmp.getContext('2d')!.putImageData(img, 0, 0)
        ctx.imageSmoothingEnabled = true
        ctx.drawImage(tmp, 0, 0, MAP, MAP)
      }
      for (let i = 0; i < table.n; i++) {
        const px = ((x[2 * i] + box) / (2 * box)) * MAP
        const py = ((box - x[2 * i + 1]) / (2 * box)) * MAP
        ctx.beginPath()
        ctx.arc(px, py, 3, 0, 2 * Math.PI)
        ctx.fillStyle = COLORS[table.y[i]]
        ctx.fill()
        ctx.strokeStyle = '#fff'
        ctx.lineWidth = 0.8
        ctx.stroke()
      }
    }
    const wait = drawn.current + 200 - performance.now()
    if (wait <= 0) draw()
    else if (timer.current === null) timer.current = setTimeout(draw, wait)
  }, [props.params, props.table, props.x, grid, box])
  useEffect(() => () => void (timer.current !== null && clearTimeout(timer.current)), [])
  return (
    <canvas
      ref={ref}
      width={MAP}
      height={MAP}
      className="map"
      role="img"
      aria-label={`the ${props.table.n} points coloured by class over the net's decision regions`}
      data-testid="data-map"
    />
  )
}

export function DataPage() {
  const view$ = useMemo(() => new BehaviorSubject<View>(fresh('idle')), [])
  const store = useMemo(() => toStore(view$.pipe(sampleFrames<View>()), view$.value), [view$])
  const view = useStore(store)
  const width = useWidth()
  const [text, setText] = useState(() => sampleCsv('moons'))
  const [table, setTable] = useState<Table | null>(null)
  const [error, setError] = useState('')
  const [hidden, setHidden] = useState('8, 8')
  const [optimizer, setOptimizer] = useState<OptimizerName>('adam')
  const [lr, setLr] = useState(0.03)
  const [dragging, setDragging] = useState(false)
  const run = useRef<{ run: WorkerRun<State>; sub: Subscription } | null>(null)
  useEffect(() => () => run.current?.sub.unsubscribe(), [])

  const scaled = useMemo(() => (table ? standardize(table) : null), [table])
  const sizes = useMemo(
    () =>
      hidden
        .split(/[\s,]+/)
        .filter((s) => s !== '')
        .map(Number),
    [hidden],
  )
  const sizesOk = sizes.length <= 4 && sizes.every((s) => Number.isInteger(s) && s >= 1 && s <= 64)
  const net = useMemo(
    () =>
      table && sizesOk
        ? mlp({ sizes: [table.d, ...sizes, table.classes.length], activation: 'tanh' })
        : null,
    [table, sizes, sizesOk],
  )

  const set = (patch: Partial<View>) => view$.next({ ...view$.value, ...patch })

  /** Parses the text; on success trains a fresh net on it. */
  const trainOn = (csv: string) => {
    run.current?.sub.unsubscribe()
    run.current = null
    let t: Table
    try {
      t = parseCsv(csv)
    } catch (e) {
      setError(e instanceof CsvError ? e.message : String(e))
      setTable(null)
      view$.next(fresh('error'))
      return
    }
    if (!sizesOk) {
      setError(`hidden layers: expected up to 4 widths from 1 to 64, got "${hidden}"`)
      return
    }
    setError('')
    setTable(t)
    const config: DataConfig = {
      x: standardize(t).x,
      n: t.n,
      d: t.d,
      y: t.y,
      classes: t.classes.length,
      hidden: sizes,
      activation: 'tanh',
      optimizer,
      lr,
      batch: 32,
      seed: 1,
      steps: 3000,
    }
    const r = trainInWorker<State>(
      () => new Worker(new URL('./data.worker.ts', import.meta.url), { type: 'module' }),
      config,
    )
    view$.next(fresh('training'))
    const sub = r.subscribe({
      next: (s) => {
        const v = view$.value
        if (s.step > 0) (v.steps.push(s.step), v.losses.push(s.loss))
        if (s.metrics.accuracy !== undefined && s.step % 20 === 0) {
          v.evalSteps.push(s.step)
          v.accuracy.push(s.metrics.accuracy)
        }
        view$.next({ ...v, state: s })
      },
      complete: () => set({ status: 'done' }),
      error: (e: unknown) => {
        setError(e instanceof Error ? e.message : String(e))
        set({ status: 'error' })
      },
    })
    run.current = { run: r, sub }
  }

  const load = async (file: File) => {
    // checked before reading: 20,000 rows of numbers fit in far less (issue 20)
    if (file.size > MAX_CSV_BYTES) {
      setError(
        `csv: ${file.name}: size: expected at most 16 MiB (${MAX_CSV_BYTES} bytes), got ${file.size} bytes`,
      )
      return
    }
    const csv = await file.text()
    setText(csv)
    trainOn(csv)
  }

  const s = view.state
  const acc = view.accuracy.length > 0 ? view.accuracy[view.accuracy.length - 1] : undefined
  const chartWidth = Math.min(380, width - 60)
  const lossData = useMemo(() => [view.steps, view.losses], [view])
  const accData = useMemo(() => [view.evalSteps, view.accuracy], [view])
  const lossSeries = useMemo(() => [{ label: 'loss', color: '#e6194b' }], [])
  const accSeries = useMemo(() => [{ label: 'accuracy', color: '#4363d8' }], [])

  return (
    <div className="datapage">
      <section className="panel" aria-labelledby="data-title">
        <h2 id="data-title">Your data</h2>
        <div
          className={`drop ${dragging ? 'over' : ''}`}
          data-testid="data-drop"
          onDragOver={(e) => (e.preventDefault(), setDragging(true))}
          onDragLeave={() => setDragging(false)}
          onDrop={(e) => {
            e.preventDefault()
            setDragging(false)
            const f = e.dataTransfer.files[0]
            if (f) void load(f)
          }}
        >
          <p>
            Drop a CSV file here: numeric columns, the last one the class label (at most 10
            classes), an optional header line.
          </p>
          <FilePicker
            label="or choose one"
            testId="data-file"
            accept=".csv,text/csv,text/plain"
            onFile={(f) => void load(f)}
          />
        </div>
        <div className="controls">
          <span className="muted small">or start from</span>
          {samples.map((k) => (
            <button
              key={k}
              data-testid={`data-sample-${k}`}
              onClick={() => {
                const csv = sampleCsv(k)
                setText(csv)
                trainOn(csv)
              }}
            >
              {k}
            </button>
          ))}
        </div>
        <label className="block">
          the CSV text (edit it, then Train)
          <textarea
            data-testid="data-text"
            value={text}
            rows={8}
            spellCheck={false}
            onChange={(e) => setText(e.target.value)}
          />
        </label>
        <div className="settings">
          <label>
            hidden layers
            <input
              data-testid="data-hidden"
              value={hidden}
              onChange={(e) => setHidden(e.target.value)}
            />
          </label>
          <label>
            optimizer
            <select
              data-testid="data-optimizer"
              value={optimizer}
              onChange={(e) => setOptimizer(e.target.value as OptimizerName)}
            >
              {optimizerNames.map((o) => (
                <option key={o}>{o}</option>
              ))}
            </select>
          </label>
          <label className="wide">
            learning rate <output>{lr}</output>
            <input
              data-testid="data-lr"
              type="range"
              aria-label="learning rate (log scale)"
              min={-4}
              max={0}
              step={0.05}
              value={Math.log10(lr)}
              aria-valuetext={String(lr)}
              onChange={(e) => {
                const v = Number((10 ** Number(e.target.value)).toPrecision(3))
                setLr(v)
                run.current?.run.setLr(v)
              }}
            />
          </label>
        </div>
        <div className="controls">
          <button data-testid="data-train" onClick={() => trainOn(text)}>
            Train
          </button>
          <button
            data-testid="data-stop"
            disabled={view.status !== 'training'}
            onClick={() => run.current?.run.stop()}
          >
            Stop
          </button>
        </div>
        {error ? (
          <p className="bad" role="alert" data-testid="data-message">
            {error}
          </p>
        ) : null}
      </section>
      <section className="panel" aria-labelledby="map-title">
        <h2 id="map-title">
          {table
            ? `${table.n} rows · ${table.d} features · ${table.classes.length} classes`
            : 'no data yet'}
        </h2>
        {table && scaled && net && table.d === 2 ? (
          <DecisionMap table={table} x={scaled.x} params={s?.params ?? null} net={net} />
        ) : table ? (
          <p className="muted">Decision regions are drawn for data with 2 features.</p>
        ) : null}
        <Readouts
          rows={[
            { label: 'status', testId: 'data-status', text: view.status },
            { label: 'step', testId: 'data-step', text: s?.step ?? 0, value: s?.step ?? 0 },
            {
              label: 'loss',
              testId: 'data-loss',
              text: fixed(s?.loss, 4),
              value: String(s?.loss ?? NaN),
            },
            {
              label: 'accuracy (all rows)',
              testId: 'data-accuracy',
              text: fixed(acc, 3),
              value: String(acc ?? NaN),
            },
          ]}
        />
        {table ? (
          <p className="muted small">
            mlp {[table.d, ...sizes, table.classes.length].join('–')} (tanh), features scaled to
            mean 0 and standard deviation 1; classes{' '}
            {table.classes.map((c, k) => (
              <span key={k}>
                <span className="swatch" style={{ background: COLORS[k] }} />
                {c}{' '}
              </span>
            ))}
          </p>
        ) : null}
      </section>
      <section className="panel charts" aria-label="loss and accuracy curves">
        <LineChart
          title="loss"
          series={lossSeries}
          data={lossData}
          width={chartWidth}
          height={190}
        />
        <LineChart
          title="accuracy"
          series={accSeries}
          data={accData}
          width={chartWidth}
          height={190}
        />
      </section>
    </div>
  )
}
