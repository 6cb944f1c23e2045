import { useEffect, useMemo, useRef, useState } from 'react'
import { BehaviorSubject, type Subscription } from 'rxjs'
import {
  sampleFrames,
  toStore,
  trainInWorker,
  twoLayerNet,
  type TrainState,
  type TwoLayerParams,
  type WorkerRun,
} from 'gradstream'
import { LineChart } from '../LineChart.js'
import { useFps } from '../useFps.js'
import { useStore } from '../useStore.js'
import { loadPart, mnistBase, type MnistPart } from './mnistData.js'
import type { MnistConfig } from './mnist.worker.js'

const STRIP = 16

interface View {
  readonly status:
    'idle' | 'loading' | 'training' | 'paused' | 'stopping' | 'stopped' | 'done' | 'error'
  readonly state: TrainState<TwoLayerParams> | null
  readonly steps: number[]
  readonly losses: number[]
  readonly evalSteps: number[]
  readonly testAcc: number[]
  readonly trainAcc: number[]
  readonly message: string
}

/** A new empty view: the arrays are appended to in place, so every run needs its own. */
const fresh = (status: View['status']): View => ({
  status,
  state: null,
  steps: [],
  losses: [],
  evalSteps: [],
  testAcc: [],
  trainAcc: [],
  message: '',
})
const initial = fresh('idle')

/** Draws one 28×28 digit. */
function Digit(props: {
  readonly pixels: Float64Array
  readonly label: number
  readonly guess: number | null
  readonly i: number
}) {
  const ref = useRef<HTMLCanvasElement>(null)
  useEffect(() => {
    const ctx = ref.current!.getContext('2d')!
    const img = ctx.createImageData(28, 28)
    for (let k = 0; k < 784; k++) {
      const v = 255 - Math.round(props.pixels[k] * 255)
      img.data.set([v, v, v, 255], 4 * k)
    }
    ctx.putImageData(img, 0, 0)
  }, [props.pixels])
  const ok = props.guess === props.label
  return (
    <div className="digit">
      <canvas ref={ref} width={28} height={28} style={{ width: 42, height: 42 }} />
      <div
        data-testid={`digit-pred-${props.i}`}
        className={props.guess === null ? 'muted' : ok ? 'ok' : 'bad'}
      >
        {props.guess ?? '·'}
      </div>
    </div>
  )
}

export function MnistPage() {
  const view$ = useMemo(() => new BehaviorSubject<View>(initial), [])
  const store = useMemo(() => toStore(view$.pipe(sampleFrames<View>()), initial), [view$])
  const view = useStore(store)
  const fps = useFps()
  const [test, setTest] = useState<MnistPart | null>(null)
  const run = useRef<{ run: WorkerRun<TrainState<TwoLayerParams>>; sub: Subscription } | null>(null)
  const [lr, setLr] = useState(0.005)
  const net = useMemo(() => twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10 }), [])

  useEffect(() => {
    void loadPart(mnistBase(), 'test').then(setTest)
    return () => run.current?.sub.unsubscribe()
  }, [])

  const set = (patch: Partial<View>) => view$.next({ ...view$.value, ...patch })

  const start = () => {
    run.current?.sub.unsubscribe()
    const config: MnistConfig = {
      base: mnistBase(),
      hidden: 50,
      batch: 100,
      lr,
      optimizer: 'adam',
      seed: 1,
      evalEvery: 25,
      maxSteps: 2000,
    }
    const r = trainInWorker<TrainState<TwoLayerParams>>(
      () => new Worker(new URL('./mnist.worker.ts', import.meta.url), { type: 'module' }),
      config,
    )
    view$.next(fresh('loading'))
    // every state arrives (the worker posts them all); the view keeps the curves and the
    // latest state, and the store hands React at most one snapshot per animation frame
    const sub = r.subscribe({
      next: (s) => {
        const v = view$.value
        if (s.step > 0) {
          v.steps.push(s.step)
          v.losses.push(s.loss)
        }
        if (s.step % config.evalEvery === 0 && s.metrics.testAcc !== undefined) {
          v.evalSteps.push(s.step)
          v.testAcc.push(s.metrics.testAcc)
          v.trainAcc.push(s.metrics.trainAcc)
        }
        view$.next({ ...v, state: s, status: v.status === 'loading' ? 'training' : v.status })
      },
      // after Stop, the states the worker had already sent still arrive; then it completes
      complete: () => set({ status: view$.value.status === 'stopping' ? 'stopped' : 'done' }),
      error: (e: unknown) =>
        set({ status: 'error', message: e instanceof Error ? e.message : String(e) }),
    })
    run.current = { run: r, sub }
  }

  const s = view.state
  const strip = useMemo(
    () =>
      test && Array.from({ length: STRIP }, (_, i) => test.x.data.subarray(i * 784, (i + 1) * 784)),
    [test],
  )
  const guesses = useMemo(() => {
    if (!s || !test) return null
    const x = { shape: [STRIP, 784], data: test.x.data.subarray(0, STRIP * 784) }
    const y = net.predict(s.params, x)
    return Array.from({ length: STRIP }, (_, i) => {
      let best = 0
      for (let j = 1; j < 10; j++) if (y.data[i * 10 + j] > y.data[i * 10 + best]) best = j
      return best
    })
  }, [s, test, net])

  const lossData = useMemo(() => [view.steps, view.losses], [view])
  const accData = useMemo(() => [view.evalSteps, view.testAcc, view.trainAcc], [view])
  const lossSeries = useMemo(() => [{ label: 'loss', color: '#e6194b' }], [])
  const accSeries = useMemo(
    () => [
      { label: 'test accuracy', color: '#4363d8' },
      { label: 'train accuracy', color: '#3cb44b' },
    ],
    [],
  )
  // the latest measurement (only every evalEvery-th state carries one)
  const testAcc = view.testAcc.length > 0 ? view.testAcc[view.testAcc.length - 1] : undefined
  const trainAcc = view.trainAcc.length > 0 ? view.trainAcc[view.trainAcc.length - 1] : undefined
  const running = view.status === 'training' || view.status === 'loading'

  return (
    <div className="row">
      <div className="panel">
        <div className="controls">
          <button data-testid="mnist-start" onClick={start}>
            {view.status === 'idle' ? 'Train' : 'Restart'}
          </button>
          <button
            data-testid="mnist-pause"
            disabled={!running}
            onClick={() => (run.current?.run.pause(), set({ status: 'paused' }))}
          >
            Pause
          </button>
          <button
            data-testid="mnist-resume"
            disabled={view.status !== 'paused'}
            onClick={() => (run.current?.run.resume(), set({ status: 'training' }))}
          >
            Resume
          </button>
          <button
            data-testid="mnist-stop"
            disabled={!(running || view.status === 'paused')}
            onClick={() => (set({ status: 'stopping' }), run.current?.run.stop())}
          >
            Stop
          </button>
          <label>
            lr{' '}
            <input
              data-testid="mnist-lr"
              type="number"
              step="0.001"
              min="0.0001"
              value={lr}
              onChange={(e) => {
                const v = Number(e.target.value)
                setLr(v)
                if (v > 0) run.current?.run.setLr(v)
              }}
              style={{ width: '6em' }}
            />
          </label>
        </div>
        <table className="readouts">
          <tbody>
            <tr>
              <td>status</td>
              <td data-testid="mnist-status">{view.status}</td>
            </tr>
            <tr>
              <td>step</td>
              <td data-testid="mnist-step" data-value={s?.step ?? 0}>
                {s?.step ?? 0}
              </td>
            </tr>
            <tr>
              <td>loss</td>
              <td data-testid="mnist-loss" data-value={String(s?.loss ?? NaN)}>
                {s && !Number.isNaN(s.loss) ? s.loss.toFixed(4) : '—'}
              </td>
            </tr>
            <tr>
              <td>lr</td>
              <td data-testid="mnist-lr-used">
                {s && !Number.isNaN(s.lr) ? s.lr.toPrecision(3) : '—'}
              </td>
            </tr>
            <tr>
              <td>‖∇‖</td>
              <td data-testid="mnist-gradnorm">
                {s?.metrics.gradNorm !== undefined ? s.metrics.gradNorm.toPrecision(4) : '—'}
              </td>
            </tr>
            <tr>
              <td>test accuracy</td>
              <td data-testid="mnist-test-acc" data-value={String(testAcc ?? NaN)}>
                {testAcc !== undefined ? testAcc.toFixed(3) : '—'}
              </td>
            </tr>
            <tr>
              <td>train accuracy</td>
              <td data-testid="mnist-train-acc">
                {trainAcc !== undefined ? trainAcc.toFixed(3) : '—'}
              </td>
            </tr>
            <tr>
              <td>frames / s</td>
              <td data-testid="mnist-fps">{fps}</td>
            </tr>
          </tbody>
        </table>
        {view.message ? <p className="bad">{view.message}</p> : null}
        <p className="muted">
          TwoLayerNet 784–50–10 with Adam on 10,000 training digits, in a Web Worker; test accuracy
          on 1,000 test digits every 25 steps.
        </p>
        <div className="digits" data-testid="digit-strip">
          {strip
            ? strip.map((pixels, i) => (
                <Digit
                  key={i}
                  i={i}
                  pixels={pixels}
                  label={test!.labels[i]}
                  guess={guesses ? guesses[i] : null}
                />
              ))
            : 'loading digits…'}
        </div>
      </div>
      <div className="panel">
        <LineChart title="loss" series={lossSeries} data={lossData} testId="mnist-loss-chart" />
        <LineChart title="accuracy" series={accSeries} data={accData} testId="mnist-acc-chart" />
      </div>
    </div>
  )
}
