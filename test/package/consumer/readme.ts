// README's examples as a consumer writes them, type-checked against the installed package
// (strict, no skipLibCheck) by test/package/consumer.test.ts.
import { last, pipe } from 'rxjs'
import {
  checkpoint,
  derivative,
  fromServerSentStates,
  numericalDiff,
  numericalGradient,
  resume,
  sampleFrames,
  tensor,
  toStore,
  train,
  trainInWorker,
  type Tensor,
  type TrainState,
} from 'gradstream'
import { loadMnist } from 'gradstream/node'
import {
  applyUpdates,
  centralDifference,
  clipByGlobalNorm,
  cosineDecay,
  earlyStopping,
  gradient,
  loss,
  maxSteps,
  perturb,
  scaleByAdam,
  scaleByLearningRate,
  update,
  warmup,
} from 'gradstream/operators'

// The training loop
train({
  params: tensor([-3, 4]),
  step: pipe(
    perturb(centralDifference()),
    loss((x: Tensor) => x.data[0] ** 2 + x.data[1] ** 2),
    gradient(),
    update(warmup({ to: 0.1, steps: 50, then: cosineDecay({ init: 0.1, steps: 950 }) })),
  ),
})
  .pipe(maxSteps(1000), earlyStopping({ patience: 100 }))
  .subscribe((s) => console.log(s.step, s.loss, s.lr))

// Optimizers are pipes of transforms
const lr = warmup({ to: 0.1, steps: 30, then: cosineDecay({ init: 0.1, steps: 270 }) })
const step = pipe(
  perturb<Tensor>(centralDifference()),
  loss((x: Tensor) => x.data[0] ** 2),
  gradient(),
  clipByGlobalNorm(1),
  scaleByAdam(),
  scaleByLearningRate(lr),
  applyUpdates(),
)

// Checkpoints: stop, resume, same result
let saved = ''
train({ params: tensor([1, 2]), step })
  .pipe(maxSteps(10), last())
  .subscribe((s: TrainState) => (saved = checkpoint(s)))
resume<Tensor>(saved, { step }).pipe(maxSteps(20)).subscribe()

// Watching and steering a run live
const run = trainInWorker(
  () => new Worker(new URL('./mnist.worker.ts', import.meta.url), { type: 'module' }),
  {
    lr: 0.005,
  },
)
run.setLr(0.001)
const store = toStore(run.pipe(sampleFrames()), null)
const shown: string = ((s) => (s ? `step ${s.step}: loss ${s.loss.toFixed(4)}` : 'starting…'))(
  store.getSnapshot(),
)
fromServerSentStates('http://127.0.0.1:8080/events').subscribe((f) =>
  console.log(f.step, f.loss, f.metrics, shown),
)

// Numerical differentiation, exact to the book
const d1: number = numericalDiff((x) => 0.01 * x ** 2 + 0.1 * x, 5)
const g: number[] = numericalGradient((x: number[]) => x[0] ** 2 + x[1] ** 2, [3, 4])
const { value, error } = derivative(Math.atan, 10)
console.log(d1, g, value, error)

// gradstream/node
const mnist = loadMnist({ trainSize: 100, testSize: 10 })
const images: Tensor = mnist.train.x
console.log(images.shape)
