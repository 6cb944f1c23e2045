// The TensorFlow.js peer of W3 and W5 (`npm run bench`), on its wasm or cpu backend, from bench/'s own
// package (installed on demand by the runner: `npm --prefix bench ci`). The same networks, data and
// hyperparameters as gradstream's side; float32, as TensorFlow.js computes. The wasm backend's .wasm
// files ship inside @tensorflow/tfjs-backend-wasm, so nothing downloads at run time.
import { createRequire } from 'node:module'
import { loadMnist } from 'gradstream/node'

// Non-literal specifiers: the library's type-check must not need bench/'s packages installed.
const load = (name: string): Promise<any> => import(name)

async function tfjs(backend: 'wasm' | 'cpu'): Promise<any> {
  const tf = await load('@tensorflow/tfjs-core')
  // tfjs-core's node bundle leaves gradients out; their ES modules register into tfjs's global registry
  createRequire(import.meta.url)('@tensorflow/tfjs-core/dist/register_all_gradients')
  await load(backend === 'wasm' ? '@tensorflow/tfjs-backend-wasm' : '@tensorflow/tfjs-backend-cpu')
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs: backend ${backend} did not start`)
  await tf.ready()
  return tf
}

/** A small seeded stream (the batches need not match gradstream's, only their statistics). */
function lcg(seed: number) {
  let s = seed >>> 0
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32
}

const now = () => performance.now() / 1000

function accuracy(
  tf: any,
  predict: (x: any) => any,
  x: Float32Array,
  labels: Float32Array,
  n: number,
) {
  let hits = 0
  for (let s = 0; s < n; s += 5000) {
    const e = Math.min(n, s + 5000)
    hits += tf.tidy(() => {
      const xb = tf.tensor2d(x.subarray(s * 784, e * 784), [e - s, 784])
      const tb = tf.tensor2d(labels.subarray(s * 10, e * 10), [e - s, 10])
      return tf
        .sum(tf.cast(tf.equal(tf.argMax(predict(xb), 1), tf.argMax(tb, 1)), 'int32'))
        .dataSync()[0]
    })
  }
  return hits / n
}

function data() {
  const m = loadMnist({ oneHotLabel: true })
  return {
    xTrain: Float32Array.from(m.train.x.data),
    tTrain: Float32Array.from(m.train.t.data),
    xTest: Float32Array.from(m.test.x.data),
    tTest: Float32Array.from(m.test.t.data),
    n: m.train.x.shape[0],
    nTest: m.test.x.shape[0],
  }
}

/** W3: 784–50–10 sigmoid, SGD lr 0.1, batch 100, random batches, loss read every step (as the book). */
export async function w3({
  backend = 'wasm',
  iters = 10_000,
}: {
  backend?: 'wasm' | 'cpu'
  iters?: number
}) {
  const tf = await tfjs(backend)
  const d = data()
  const xTrain = tf.tensor2d(d.xTrain, [d.n, 784])
  const tTrain = tf.tensor2d(d.tTrain, [d.n, 10])
  const W1 = tf.variable(tf.randomNormal([784, 50], 0, 0.01, 'float32', 1))
  const b1 = tf.variable(tf.zeros([50]))
  const W2 = tf.variable(tf.randomNormal([50, 10], 0, 0.01, 'float32', 2))
  const b2 = tf.variable(tf.zeros([10]))
  const predict = (x: any) => tf.add(tf.matMul(tf.sigmoid(tf.add(tf.matMul(x, W1), b1)), W2), b2)
  const opt = tf.train.sgd(0.1)
  const rand = lcg(0)
  const idx = new Int32Array(100)
  let loss = NaN
  const t0 = now()
  for (let i = 0; i < iters; i++) {
    for (let j = 0; j < 100; j++) idx[j] = Math.floor(rand() * d.n)
    loss = tf.tidy(() => {
      const ib = tf.tensor1d(idx, 'int32')
      const xb = tf.gather(xTrain, ib)
      const tb = tf.gather(tTrain, ib)
      const cost = opt.minimize(() => tf.losses.softmaxCrossEntropy(tb, predict(xb)), true)
      return cost.dataSync()[0]
    })
  }
  const t1 = now()
  const trainAcc = accuracy(tf, predict, d.xTrain, d.tTrain, d.n)
  const testAcc = accuracy(tf, predict, d.xTest, d.tTest, d.nTest)
  const t2 = now()
  return {
    seconds: t2 - t0,
    trainSeconds: t1 - t0,
    evalSeconds: t2 - t1,
    units: iters,
    loss,
    trainAcc,
    testAcc,
  }
}

/** W5: 784–256–128–10 ReLU (He init), Adam lr 0.001, batch 128, one shuffled epoch. */
export async function w5({
  backend = 'wasm',
  iters = Infinity,
}: {
  backend?: 'wasm' | 'cpu'
  iters?: number
}) {
  const tf = await tfjs(backend)
  const d = data()
  const xTrain = tf.tensor2d(d.xTrain, [d.n, 784])
  const tTrain = tf.tensor2d(d.tTrain, [d.n, 10])
  const sizes = [784, 256, 128, 10]
  const W: any[] = []
  const b: any[] = []
  for (let l = 0; l < 3; l++) {
    W.push(
      tf.variable(
        tf.randomNormal([sizes[l], sizes[l + 1]], 0, Math.sqrt(2 / sizes[l]), 'float32', l + 1),
      ),
    )
    b.push(tf.variable(tf.zeros([sizes[l + 1]])))
  }
  const predict = (x: any) => {
    let h = x
    for (let l = 0; l < 3; l++) {
      h = tf.add(tf.matMul(h, W[l]), b[l])
      if (l < 2) h = tf.relu(h)
    }
    return h
  }
  const opt = tf.train.adam(0.001)
  const rand = lcg(0)
  const perm = Int32Array.from({ length: d.n }, (_, i) => i)
  for (let i = d.n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[perm[i], perm[j]] = [perm[j], perm[i]]
  }
  const steps = Math.min(iters, Math.ceil(d.n / 128))
  let loss = NaN
  const t0 = now()
  for (let s = 0; s < steps; s++) {
    loss = tf.tidy(() => {
      const ib = tf.tensor1d(perm.subarray(s * 128, Math.min(d.n, s * 128 + 128)), 'int32')
      const cost = opt.minimize(
        () => tf.losses.softmaxCrossEntropy(tf.gather(tTrain, ib), predict(tf.gather(xTrain, ib))),
        true,
      )
      return cost.dataSync()[0]
    })
  }
  const t1 = now()
  const testAcc = accuracy(tf, predict, d.xTest, d.tTest, d.nTest)
  const t2 = now()
  return {
    seconds: t2 - t0,
    trainSeconds: t1 - t0,
    evalSeconds: t2 - t1,
    units: steps,
    loss,
    testAcc,
  }
}
