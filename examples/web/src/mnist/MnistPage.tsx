import { useEffect, useMemo, useRef, useState } from 'react'
import { BehaviorSubject, type Subscription } from 'rxjs'
import {
  restore,
  sampleFrames,
  toStore,
  trainInWorker,
  twoLayerNet,
  type TwoLayerParams,
  type WorkerRun,
} from 'gradstream'
import { FilePicker } from '../FilePicker.js'
import { LineChart } from '../LineChart.js'
import { fixed, precise, Readouts } from '../Readouts.js'
import { useFps } from '../useFps.js'
import { useStore } from '../useStore.js'
import { useWidth } from '../useWidth.js'
import { DrawDigit } from './DrawDigit.js'
import { loadPart, mnistBase, type MnistPart } from './mnistData.js'
import type { Evaluation, MnistConfig, MnistFrame } from './mnist.worker.js'
import { ConfusionMatrix, Digit, WeightGrid, WrongDigits } from './pictures.js'
import {
  batchSizes,
  hiddenSizes,
  optimizerNames,
  optimizerOf,
  readSettings,
  settingsHash,
  type MnistSettings,
  type OptimizerName,
} from './settings.js'

const STRIP = 16
/** The largest checkpoint the page opens (the command line's `--resume` limit). */
const MAX_CHECKPOINT_BYTES = 256 * 2 ** 20
const EVAL_EVERY = 25

interface View {
  readonly status:
    'idle' | 'loading' | 'training' | 'paused' | 'stopping' | 'stopped' | 'done' | 'error'
  readonly state: MnistFrame | null
  /** every step's loss, by step (appended in place) */
  readonly steps: number[]
  readonly losses: number[]
  readonly evalSteps: number[]
  readonly testAcc: number[]
  readonly trainAcc: number[]
  readonly evaluation: Evaluation | null
  readonly checkpoint: { readonly step: number; readonly json: string } | null
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
  evaluation: null,
  checkpoint: null,
  message: '',
})
const initial = fresh('idle')

/** The slider moves log10(lr) in steps of 0.05; the rate is that power of ten to 3 digits. */
const lrOf = (v: number) => Number((10 ** v).toPrecision(3))

function save(text: string, name: string) {
  const a = document.createElement('a')
  a.href = URL.createObjectURL(new Blob([text], { type: 'application/json' }))
  a.download = name
  a.click()
  setTimeout(() => URL.revokeObjectURL(a.href), 1000)
}

export function MnistPage() {
  const view$ = useMemo(() => new BehaviorSubject<View>(initial), [])
  const store = useMemo(() => toStore(view$.pipe(sampleFrames<View>()), initial), [view$])
  const view = useStore(store)
  const fps = useFps()
  const width = useWidth()
  const [test, setTest] = useState<MnistPart | null>(null)
  const run = useRef<{ run: WorkerRun<MnistFrame>; sub: Subscription } | null>(null)
  const [settings, setSettings] = useState<MnistSettings>(() => readSettings())
  const [lrLog, setLrLog] = useState(() => Math.log10(settings.lr))
  const downloadWanted = useRef(false)
  const strip16 = useMemo(() => twoLayerNet({ inputSize: 784, hiddenSize: 1, outputSize: 10 }), [])
  const sample = useRef(0)

  useEffect(() => {
    void loadPart(mnistBase(), 'test').then(setTest)
    return () => run.current?.sub.unsubscribe()
  }, [])
  // the settings live in the URL: copy the link, get the same run
  useEffect(() => {
    const hash = settingsHash(settings)
    if (location.hash !== hash) history.replaceState(null, '', hash)
  }, [settings])
  // a test hook (and a console one): the whole loss curve as the page holds it
  useEffect(() => {
    const w = window as unknown as { gradstreamPlayground?: Record<string, unknown> }
    w.gradstreamPlayground = {
      ...w.gradstreamPlayground,
      mnist: () => ({ steps: [...view$.value.steps], losses: [...view$.value.losses] }),
    }
  }, [view$])

  const set = (patch: Partial<View>) => view$.next({ ...view$.value, ...patch })
  const change = (patch: Partial<MnistSettings>) => setSettings((s) => ({ ...s, ...patch }))

  const start = (from?: string, use: MnistSettings = settings) => {
    run.current?.sub.unsubscribe()
    const config: MnistConfig = {
      ...use,
      base: mnistBase(),
      evalEvery: EVAL_EVERY,
      ...(from !== undefined ? { checkpoint: from } : {}),
    }
    const r = trainInWorker<MnistFrame>(
      () => new Worker(new URL('./mnist.worker.ts', import.meta.url), { type: 'module' }),
      config,
    )
    view$.next(fresh('loading'))
    // the view keeps the curves and the latest state, and the store hands React at most one
    // snapshot per animation frame
    const sub = r.subscribe({
      next: (s) => {
        const v = view$.value
        s.losses.forEach((loss, i) => {
          const step = s.lossesFrom + i
          if (step > 0) (v.steps.push(step), v.losses.push(loss))
        })
        if (s.metrics.testAcc !== undefined && s.step % EVAL_EVERY === 0) {
          if (v.evalSteps[v.evalSteps.length - 1] !== s.step) {
            v.evalSteps.push(s.step)
            v.testAcc.push(s.metrics.testAcc)
            v.trainAcc.push(s.metrics.trainAcc)
          }
        }
        const checkpoint = s.checkpoint ? { step: s.step, json: s.checkpoint } : v.checkpoint
        if (s.checkpoint && downloadWanted.current) {
          downloadWanted.current = false
          save(s.checkpoint, `gradstream-mnist-step${s.step}.json`)
        }
        view$.next({
          ...v,
          state: s,
          evaluation: s.evaluation ?? v.evaluation,
          checkpoint,
          status: v.status === 'loading' ? 'training' : v.status,
        })
      },
      // after Stop, the states the worker had already sent still arrive; then it completes
      complete: () => set({ status: view$.value.status === 'stopping' ? 'stopped' : 'done' }),
      error: (e: unknown) =>
        set({ status: 'error', message: e instanceof Error ? e.message : String(e) }),
    })
    run.current = { run: r, sub }
  }

  const pause = () => (run.current?.run.pause(), set({ status: 'paused' }))

  const download = () => {
    const v = view$.value
    if (v.status === 'training' || v.status === 'loading') {
      downloadWanted.current = true // the paused run posts its checkpoint
      pause()
    } else if (v.checkpoint) {
      save(v.checkpoint.json, `gradstream-mnist-step${v.checkpoint.step}.json`)
    }
  }

  const open = async (file: File) => {
    // checked before reading, as the command line's --resume does (issue 20)
    if (file.size > MAX_CHECKPOINT_BYTES) {
      const message = `${file.name}: size: expected at most 256 MiB (${MAX_CHECKPOINT_BYTES} bytes), got ${file.size} bytes`
      set({ status: 'error', message })
      return
    }
    const text = await file.text()
    try {
      const s = restore(text)
      const W1 = (s.params as TwoLayerParams).W1
      const optimizer = optimizerOf(s.hyper)
      if (!W1 || W1.shape[0] !== 784 || !optimizer) {
        throw new TypeError(
          `${file.name}: expected a checkpoint of this page's 784–hidden–10 net, got parameters ${Object.keys(s.params as object).join(', ')}`,
        )
      }
      // batch size and seed are not in the state: the envelope's run record has them (this
      // page and the command line write one), else the page's own settings hold
      const recorded = (JSON.parse(text) as { run?: { config?: Record<string, unknown> } }).run
        ?.config
      const int = (v: unknown, fallback: number) =>
        typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : fallback
      const next: MnistSettings = {
        ...settings,
        optimizer,
        hidden: W1.shape[1],
        lr: Number.isFinite(s.lr) ? s.lr : settings.lr,
        batch: int(recorded?.batch, settings.batch),
        seed: int(recorded?.seed, settings.seed),
      }
      setSettings(next)
      setLrLog(Math.log10(next.lr))
      start(text, next)
    } catch (e) {
      set({ status: 'error', message: e instanceof Error ? e.message : String(e) })
    }
  }

  const s = view.state
  const strip = useMemo(
    () =>
      test && Array.from({ length: STRIP }, (_, i) => test.x.data.subarray(i * 784, (i + 1) * 784)),
    [test],
  )
  // the strip's guesses change with each evaluation (every 25 steps), not with every frame
  const evaluated = view.evaluation?.step
  const guesses = useMemo(() => {
    if (!s || !test) return null
    const x = { shape: [STRIP, 784], data: test.x.data.subarray(0, STRIP * 784) }
    const y = strip16.predict(s.params, x)
    return Array.from({ length: STRIP }, (_, i) => {
      let best = 0
      for (let j = 1; j < 10; j++) if (y.data[i * 10 + j] > y.data[i * 10 + best]) best = j
      return best
    })
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [evaluated, test, strip16])

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
  const wide = width >= 900
  const chartWidth = wide ? Math.min(460, Math.floor((width - 380) / 2)) : Math.min(460, width - 60)
  const lr = lrOf(lrLog)
  const confusionTotal = view.evaluation?.confusion.reduce((a, b) => a + b, 0) ?? 0

  return (
    <div className="mnist">
      <section className="panel side" aria-label="training controls">
        <div className="controls">
          <button data-testid="mnist-start" onClick={() => start()}>
            {view.status === 'idle' ? 'Train' : 'Restart'}
          </button>
          <button data-testid="mnist-pause" disabled={!running} onClick={pause}>
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
        </div>
        <div className="settings">
          <label>
            optimizer
            <select
              data-testid="mnist-optimizer"
              value={settings.optimizer}
              onChange={(e) => change({ optimizer: e.target.value as OptimizerName })}
            >
              {optimizerNames.map((o) => (
                <option key={o}>{o}</option>
              ))}
            </select>
          </label>
          <label>
            hidden units
            <select
              data-testid="mnist-hidden"
              value={settings.hidden}
              onChange={(e) => change({ hidden: Number(e.target.value) })}
            >
              {[...new Set([...hiddenSizes, settings.hidden])].map((h) => (
                <option key={h}>{h}</option>
              ))}
            </select>
          </label>
          <label>
            batch size
            <select
              data-testid="mnist-batch"
              value={settings.batch}
              onChange={(e) => change({ batch: Number(e.target.value) })}
            >
              {[...new Set([...batchSizes, settings.batch])].map((b) => (
                <option key={b}>{b}</option>
              ))}
            </select>
          </label>
          <label>
            seed
            <input
              data-testid="mnist-seed"
              type="number"
              min={0}
              step={1}
              value={settings.seed}
              onChange={(e) => {
                const v = Number(e.target.value)
                if (Number.isInteger(v) && v >= 0) change({ seed: v })
              }}
            />
          </label>
          <label className="wide">
            learning rate{' '}
            <output data-testid="mnist-lr-value" data-value={lr}>
              {lr}
            </output>
            <input
              data-testid="mnist-lr"
              type="range"
              aria-label="learning rate (log scale)"
              min={-4}
              max={0}
              step={0.05}
              value={lrLog}
              aria-valuetext={String(lr)}
              onChange={(e) => {
                const v = Number(e.target.value)
                setLrLog(v)
                change({ lr: lrOf(v) })
                run.current?.run.setLr(lrOf(v)) // live: the next steps use it
              }}
            />
          </label>
        </div>
        <p className="muted small">
          The learning rate applies at once; optimizer, hidden units, batch size and seed at the
          next Train. The URL holds them all: the same link trains the same run.
        </p>
        <div className="controls">
          <button data-testid="mnist-download" disabled={view.status === 'idle'} onClick={download}>
            Download checkpoint
          </button>
          <FilePicker
            label="Open checkpoint"
            testId="mnist-open"
            accept=".json,application/json"
            onFile={(f) => void open(f)}
          />
        </div>
        <Readouts
          rows={[
            { label: 'status', testId: 'mnist-status', text: view.status },
            { label: 'step', testId: 'mnist-step', text: s?.step ?? 0, value: s?.step ?? 0 },
            {
              label: 'loss',
              testId: 'mnist-loss',
              text: fixed(s?.loss, 4),
              value: String(s?.loss ?? NaN),
            },
            { label: 'lr', testId: 'mnist-lr-used', text: precise(s?.lr, 3) },
            { label: '‖∇‖', testId: 'mnist-gradnorm', text: precise(s?.metrics.gradNorm, 4) },
            {
              label: 'test accuracy',
              testId: 'mnist-test-acc',
              text: fixed(testAcc, 3),
              value: String(testAcc ?? NaN),
            },
            { label: 'train accuracy', testId: 'mnist-train-acc', text: fixed(trainAcc, 3) },
            { label: 'frames / s', testId: 'mnist-fps', text: fps },
          ]}
        />
        {view.message ? (
          <p className="bad" role="alert" data-testid="mnist-message">
            {view.message}
          </p>
        ) : null}
        <p className="muted small">
          TwoLayerNet 784–{settings.hidden}–10 (sigmoid) with {settings.optimizer} on 10,000
          training digits, in a Web Worker; test accuracy on 1,000 test digits every {EVAL_EVERY}{' '}
          steps.
        </p>
      </section>
      <section className="panel" aria-labelledby="weights-title">
        <h2 id="weights-title">What each hidden unit looks for</h2>
        <WeightGrid W1={s?.params.W1 ?? null} />
        <p className="muted small">
          Each tile is one hidden unit's 784 input weights (a column of W1) as a 28×28 image: red
          pixels raise its activation, blue ones lower it.
        </p>
      </section>
      <section className="panel" aria-labelledby="draw-title">
        <h2 id="draw-title">Draw a digit</h2>
        <DrawDigit
          params={s?.params ?? null}
          sample={() => {
            if (!test) return null
            const i = sample.current++ % test.labels.length
            return test.x.data.subarray(i * 784, (i + 1) * 784)
          }}
        />
      </section>
      <section className="panel charts" aria-label="loss and accuracy curves">
        <LineChart
          title="loss"
          series={lossSeries}
          data={lossData}
          width={chartWidth}
          height={200}
          testId="mnist-loss-chart"
          redrawEvery={250}
        />
        <LineChart
          title="accuracy"
          series={accSeries}
          data={accData}
          width={chartWidth}
          height={200}
          testId="mnist-acc-chart"
          redrawEvery={250}
        />
      </section>
      <section className="panel" aria-labelledby="confusion-title">
        <h2 id="confusion-title">
          Confusion on the test digits{' '}
          <span className="muted" data-testid="mnist-confusion-total" data-value={confusionTotal}>
            {view.evaluation ? `(step ${view.evaluation.step}, ${confusionTotal} digits)` : ''}
          </span>
        </h2>
        <ConfusionMatrix confusion={view.evaluation?.confusion ?? null} />
        <h2>Most confidently wrong</h2>
        <WrongDigits wrong={view.evaluation?.wrong ?? null} images={test?.x.data ?? null} />
      </section>
      <section className="panel strip" aria-labelledby="strip-title">
        <h2 id="strip-title">The first {STRIP} test digits and the net's guesses</h2>
        <div className="digits" data-testid="digit-strip">
          {strip
            ? strip.map((pixels, i) => {
                const guess = guesses ? guesses[i] : null
                return (
                  <figure key={i} className="digit">
                    <Digit pixels={pixels} label={`test digit ${i}, a ${test!.labels[i]}`} />
                    <figcaption
                      data-testid={`digit-pred-${i}`}
                      className={
                        guess === null ? 'muted' : guess === test!.labels[i] ? 'ok' : 'bad'
                      }
                    >
                      {guess ?? '·'}
                    </figcaption>
                  </figure>
                )
              })
            : 'loading digits…'}
        </div>
      </section>
    </div>
  )
}
