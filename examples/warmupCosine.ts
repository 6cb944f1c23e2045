// Mini-batch SGD on a small regression with a warmup-then-cosine learning rate, early stopping,
// and a live one-line status (rewritten in place with \r). The data: y = 2x − 1 + noise at 200
// points; the model: y ≈ w·x + b; the loss: mean squared error on a batch of 20, with its
// analytic gradient. `npm run example:warmup-cosine`.
import { filter, last, pipe, tap } from 'rxjs'
import { rng, train, type TrainState } from 'gradstream'
import {
  cosineDecay,
  earlyStopping,
  gradient,
  maxSteps,
  update,
  warmup,
} from 'gradstream/operators'
import { isMain } from './svg.js'

type Line = { w: number; b: number }
type Batch = { x: number[]; y: number[] }

/** The dataset and an endless stream of random batches, both from seeded generators. */
function data(seed: number) {
  const r = rng(seed)
  for (let i = 0; i < 16; i++) r.uniform() // past the generator's seed-dominated first draws
  const xs = Array.from({ length: 200 }, () => 4 * r.uniform() - 2)
  const ys = xs.map((x) => 2 * x - 1 + 0.1 * r.normal())
  const batches = (function* (): Generator<Batch> {
    for (;;) {
      const idx = Array.from({ length: 20 }, () => r.int(200))
      yield { x: idx.map((i) => xs[i]), y: idx.map((i) => ys[i]) }
    }
  })()
  return { xs, ys, batches }
}

/** Mean squared error of w·x + b on a batch, and its gradient. */
function mse(p: Line, { x, y }: Batch) {
  let loss = 0
  let gw = 0
  let gb = 0
  for (let i = 0; i < x.length; i++) {
    const e = p.w * x[i] + p.b - y[i]
    loss += e * e
    gw += 2 * e * x[i]
    gb += 2 * e
  }
  const n = x.length
  return { loss: loss / n, grad: { w: gw / n, b: gb / n } }
}

/** Runs the training; `status` receives the live line (default: rewrite stdout's line). */
export function main({
  steps = 1000,
  status = (line: string): void => void process.stdout.write(`\r${line}`),
}: { steps?: number; status?: (line: string) => void } = {}) {
  const lr = warmup({ to: 0.1, steps: 50, then: cosineDecay({ init: 0.1, steps: steps - 50 }) })
  const { batches } = data(42)
  const lines: string[] = []
  let final: TrainState<Line> | undefined
  train({
    params: { w: 0, b: 0 } as Line,
    data: batches,
    step: pipe(gradient(mse), update(lr)),
    seed: 42,
  })
    .pipe(
      maxSteps(steps),
      earlyStopping({ patience: 100, minDelta: 1e-4, restoreBest: true }),
      tap((s) => (final = s)),
      filter((s) => s.step % 25 === 0 || s.stopReason !== undefined),
      tap((s) => {
        const line = `step ${String(s.step).padStart(4)}  loss ${s.loss.toFixed(5)}  lr ${s.lr.toFixed(5)}  w ${s.params.w.toFixed(4)}  b ${s.params.b.toFixed(4)}`
        lines.push(line)
        status(line)
      }),
      last(),
    )
    .subscribe()
  const s = final!
  const text = `\nstopped at step ${s.step}: ${JSON.stringify(s.stopReason)}\nw = ${s.params.w}, b = ${s.params.b}`
  status(text)
  return { final: s, lines, lr, text }
}

if (isMain(import.meta.url)) main()
