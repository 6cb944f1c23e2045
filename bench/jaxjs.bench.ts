// The jax-js peer of W5 (`npm run bench`), from bench/'s own package (@jax-js/jax, installed on
// demand by the runner: `npm --prefix bench ci`): the same network, data and hyperparameters as
// gradstream's side, on jax-js's wasm device in float32 (its default dtype), the whole training
// step — forward, valueAndGrad and the book's Adam — one `jit`-compiled function, and
// `blockUntilReady` on its outputs every step (without it jax-js queues the epoch lazily and the
// time lands wherever the results are first read).
import { loadMnist } from 'gradstream/node'

// Non-literal specifier: the library's type-check must not need bench/'s packages installed.
const load = (name: string): Promise<any> => import(name)

const now = () => performance.now() / 1000

/** A small seeded stream (the batches need not match gradstream's, only their statistics). */
function lcg(seed: number) {
  let s = seed >>> 0
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32
}

/** W5: 784–256–128–10 ReLU (He init), Adam lr 0.001, batch 128, one shuffled epoch. */
export async function w5({ iters = Infinity }: { iters?: number }) {
  const jax = await load('@jax-js/jax')
  const { numpy: np, nn, jit, valueAndGrad, blockUntilReady } = jax
  // only the wasm device: Node 20 has no `navigator` (jax-js probes navigator.gpu for WebGPU) and no
  // global `Worker`, so jax-js's wasm runs on this one thread here
  await jax.init('wasm')
  jax.defaultDevice('wasm')
  const m = loadMnist({ oneHotLabel: true })
  const n = m.train.x.shape[0]
  const xTrain = Float32Array.from(m.train.x.data)
  const tTrain = Float32Array.from(m.train.t.data)
  const sizes = [784, 256, 128, 10]
  const batch = 128
  const rand = lcg(1)
  const gauss = () => {
    const u = Math.max(rand(), 1e-12)
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand())
  }
  // params as one flat list [W1, b1, W2, b2, W3, b3]
  let params: any[] = []
  for (let l = 0; l < 3; l++) {
    const std = Math.sqrt(2 / sizes[l])
    const w = Float32Array.from({ length: sizes[l] * sizes[l + 1] }, () => std * gauss())
    params.push(np.array(w).reshape([sizes[l], sizes[l + 1]]))
    params.push(np.zeros([sizes[l + 1]]))
  }
  let mom: any[] = params.map((p) => np.zerosLike(p.ref))
  let vel: any[] = params.map((p) => np.zerosLike(p.ref))

  // each argument is used once (jax-js's ownership rule: passing an array consumes it)
  const loss = (p: any[], x: any, t: any) => {
    let h = x
    for (let l = 0; l < 3; l++) {
      h = np.matmul(h, p[2 * l]).add(p[2 * l + 1])
      if (l < 2) h = nn.relu(h)
    }
    return nn
      .logSoftmax(h, -1)
      .mul(t)
      .sum()
      .mul(-1 / batch)
  }
  const beta1 = 0.9
  const beta2 = 0.999
  // the book's Adam (common/optimizer.py): lr_t = lr·√(1 − β2ᵗ)/(1 − β1ᵗ), passed in each step
  const step = jit((p: any[], mo: any[], ve: any[], x: any, t: any, lrT: any) => {
    const [value, g] = valueAndGrad(loss)(
      p.map((q) => q.ref),
      x,
      t,
    )
    const p2: any[] = []
    const m2: any[] = []
    const v2: any[] = []
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]
      const mi = mo[i].mul(beta1).add(gi.ref.mul(1 - beta1))
      const vi = ve[i].mul(beta2).add(gi.ref.mul(gi).mul(1 - beta2))
      p2.push(p[i].sub(mi.ref.mul(lrT.ref).div(np.sqrt(vi.ref).add(1e-7))))
      m2.push(mi)
      v2.push(vi)
    }
    lrT.dispose()
    return [value, p2, m2, v2]
  })

  const perm = Int32Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[perm[i], perm[j]] = [perm[j], perm[i]]
  }
  const steps = Math.min(iters, Math.ceil(n / batch))
  const xb = new Float32Array(batch * 784)
  const tb = new Float32Array(batch * 10)
  let lossValue = NaN
  const c0 = process.cpuUsage()
  const t0 = now()
  for (let s = 0; s < steps; s++) {
    const lo = s * batch
    const rows = Math.min(batch, n - lo)
    for (let r = 0; r < rows; r++) {
      const i = perm[lo + r]
      xb.set(xTrain.subarray(i * 784, i * 784 + 784), r * 784)
      tb.set(tTrain.subarray(i * 10, i * 10 + 10), r * 10)
    }
    // the last, short batch: its rows only (a fresh shape, so one more trace)
    const x = np.array(xb.slice(0, rows * 784)).reshape([rows, 784])
    const t = np.array(tb.slice(0, rows * 10)).reshape([rows, 10])
    const lrT = np
      .array(new Float32Array([(0.001 * Math.sqrt(1 - beta2 ** (s + 1))) / (1 - beta1 ** (s + 1))]))
      .reshape([])
    const [value, p2, m2, v2] = step(params, mom, vel, x, t, lrT)
    await blockUntilReady([
      value.ref,
      p2.map((q: any) => q.ref),
      m2.map((q: any) => q.ref),
      v2.map((q: any) => q.ref),
    ])
    if (s === steps - 1) lossValue = (await value.data())[0]
    else value.dispose()
    params = p2
    mom = m2
    vel = v2
  }
  const t1 = now()
  const c1 = process.cpuUsage(c0)
  // test accuracy: logits in chunks of 5,000 images, argmax on the JavaScript side
  const xTest = Float32Array.from(m.test.x.data)
  const labels = m.test.t.data
  const nTest = m.test.x.shape[0]
  let hits = 0
  for (let s = 0; s < nTest; s += 5000) {
    const e = Math.min(nTest, s + 5000)
    let h = np.array(xTest.slice(s * 784, e * 784)).reshape([e - s, 784])
    for (let l = 0; l < 3; l++) {
      h = np.matmul(h, params[2 * l].ref).add(params[2 * l + 1].ref)
      if (l < 2) h = nn.relu(h)
    }
    const y: Float32Array = await h.data()
    for (let i = 0; i < e - s; i++) {
      let best = 0
      let label = 0
      for (let j = 1; j < 10; j++) {
        if (y[i * 10 + j] > y[i * 10 + best]) best = j
        if (labels[(s + i) * 10 + j] > labels[(s + i) * 10 + label]) label = j
      }
      if (best === label) hits++
    }
  }
  const t2 = now()
  return {
    seconds: t2 - t0,
    trainSeconds: t1 - t0,
    evalSeconds: t2 - t1,
    trainCpuSeconds: (c1.user + c1.system) / 1e6,
    units: steps,
    msPerStep: (1000 * (t1 - t0)) / steps,
    loss: lossValue,
    testAcc: hits / nTest,
  }
}
