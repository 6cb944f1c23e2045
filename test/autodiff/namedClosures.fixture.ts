// Run by namedClosures.test.ts under tsx: counts the functions named by Object.defineProperty(f,
// 'name', …) — what esbuild's keepNames, which tsx turns on, does as each named closure is made —
// while the library loads and in the steps of W3 (twoLayerNet 784–50–10, SGD) and of W5's kind
// of net (mlp with ReLU, Adam) after a warm-up. Prints `RESULT <json>`.
import { lastValueFrom, pipe, tap, type OperatorFunction } from 'rxjs'

const define = Object.defineProperty
let counting = true
const named = new Map<string, number>()
// patched before the library's modules run: each one keeps Object.defineProperty as it loads
Object.defineProperty = function <T>(
  o: T,
  key: PropertyKey,
  d: PropertyDescriptor & ThisType<unknown>,
): T {
  if (counting && key === 'name' && typeof o === 'function') {
    const name = String(d.value)
    named.set(name, (named.get(name) ?? 0) + 1)
  }
  return define(o, key, d)
}

const { epochBatches, mlp, randomBatches, train, twoLayerNet } = await import('gradstream')
const { closeWorkers, loadMnist } = await import('gradstream/node')
const { adam, clipByGlobalNorm, gradient, maxSteps, momentum, update } =
  await import('gradstream/operators')
type Tensor = import('gradstream').Tensor
type Net<P> = {
  params: P
  lossAndGradient: (p: P, x: Tensor, t: Tensor) => { loss: number; grad: P }
}

const atLoad = [...named.values()].reduce((a, b) => a + b, 0)
named.clear()
counting = false
const mnist = loadMnist({ oneHotLabel: true, trainSize: 3000, testSize: 1 })
const WARM = 30
const STEPS = 20

/** The names given in steps WARM+1 … WARM+STEPS of `net` trained on `data` by `optimizer`. */
async function namesInSteps<P extends Record<string, Tensor>>(
  net: Net<P>,
  data: Iterable<{ x: Tensor; t: Tensor }>,
  optimizer: OperatorFunction<any, any>,
): Promise<Record<string, number>> {
  named.clear()
  await lastValueFrom(
    train({
      params: net.params,
      data,
      step: pipe(
        gradient((p: P, b: { x: Tensor; t: Tensor }) => net.lossAndGradient(p, b.x, b.t)),
        optimizer,
      ),
    }).pipe(
      maxSteps(WARM + STEPS),
      // a step's state comes out after its work: count from the end of step WARM on
      tap((s) => (counting = s.step >= WARM && s.step < WARM + STEPS)),
    ),
  )
  counting = false
  return Object.fromEntries(named)
}

const w3 = await namesInSteps(
  twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 0 }),
  randomBatches(mnist.train, { batchSize: 100, seed: 0 }),
  update(0.1),
)
const w5 = await namesInSteps(
  mlp({ sizes: [784, 64, 32, 10], seed: 0 }),
  epochBatches(mnist.train, { batchSize: 128, seed: 0 }),
  adam(0.001),
)
// clipByGlobalNorm's norm, momentum, tanh
const clipped = await namesInSteps(
  mlp({ sizes: [784, 32, 10], activation: 'tanh', seed: 0 }),
  epochBatches(mnist.train, { batchSize: 64, seed: 0 }),
  pipe(clipByGlobalNorm(1), momentum(0.01)),
)
await closeWorkers()
console.log('RESULT ' + JSON.stringify({ atLoad, steps: STEPS, w3, w5, clipped }))
