// One tree's side of bench/inProcessAb.ts: a workload, set up once, then run in blocks of calls
// or steps (`run(n)` → wall µs a call or step), public API only. bench/inProcessAb.ts bundles
// this file once per tree (gradstream aliased to that tree's sources) and loads both bundles in
// one node process. `check()` is the same-bits check: the sum of every call's or step's loss and a
// few gradient entries (calls) or the parameters after the last step (steps), which two trees
// that compute the same numbers print alike after the same blocks.
import { BehaviorSubject, pipe, tap } from 'rxjs'
import {
  epochBatches,
  mlp,
  pausable,
  randomBatches,
  setKernelThreads,
  train,
  twoLayerNet,
  type Tensor,
} from 'gradstream'
import { loadMnist } from 'gradstream/node'
import { adam, gradient, update } from 'gradstream/operators'

export type Workload = 'w3grad' | 'w3step' | 'w5step'

export interface Side {
  /** `n` more calls or steps; their wall time, µs a call or step */
  run(n: number): number
  /** the same-bits check so far */
  check(): string
}

type Batch = { x: Tensor; t: Tensor }

export function setup(workload: Workload, threads: 1 | 2 | 'auto'): Side {
  setKernelThreads(threads)
  const mnist = loadMnist({ oneHotLabel: true })
  if (workload === 'w3grad') {
    // W3's gradient call alone on 256 batches drawn once (their rows compressed before timing)
    const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 0 })
    const batches: Batch[] = []
    for (const b of randomBatches(mnist.train, { batchSize: 100, seed: 0 })) {
      if (batches.push(b) === 256) break
    }
    let k = 0
    let sum = 0
    return {
      run(n) {
        const t0 = performance.now()
        for (let i = 0; i < n; i++, k++) {
          const b = batches[k % batches.length]
          const { loss, grad } = net.lossAndGradient(net.params, b.x, b.t)
          // ∂W1 is lazy (made when read): read the others only, as `update` would not
          sum += loss + grad.b1.data[k % 50] + grad.b2.data[k % 10] + grad.W2.data[k % 500]
        }
        return ((performance.now() - t0) / n) * 1000
      },
      check: () => `loss+grad sum ${sum}`,
    }
  }
  // a whole step through `train` (the sampler's draw, the gradient, the update), as
  // workloads.bench.ts's w3 and w5 run it, paused between blocks (`pausable`: a paused sync run
  // resumes in `paused$.next(false)` and runs until the tap pauses it again)
  const w3 = workload === 'w3step'
  const net = w3
    ? twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 0 })
    : mlp({ sizes: [784, 256, 128, 10], seed: 0 })
  type P = Record<string, Tensor>
  const lossAndGradient = net.lossAndGradient as (
    p: P,
    x: Tensor,
    t: Tensor,
  ) => { loss: number; grad: P }
  const paused$ = new BehaviorSubject(true)
  let target = 0
  let losses = 0
  let lastLoss = NaN
  let last = net.params as P
  train({
    params: net.params as P,
    data: w3
      ? randomBatches(mnist.train, { batchSize: 100, seed: 0 })
      : epochBatches(mnist.train, { batchSize: 128, seed: 0 }),
    step: pipe(
      gradient((p: P, b: Batch) => lossAndGradient(p, b.x, b.t)),
      w3 ? update(0.1) : adam(0.001),
    ),
    mode: pausable(paused$),
  })
    .pipe(
      tap((s) => {
        if (s.step === 0) return
        losses += s.loss
        lastLoss = s.loss
        if (s.step >= target) {
          last = s.params as P
          paused$.next(true)
        }
      }),
    )
    .subscribe({ error: (e) => console.error(e) })
  return {
    run(n) {
      target += n
      const t0 = performance.now()
      paused$.next(false)
      return ((performance.now() - t0) / n) * 1000
    },
    check() {
      let p = 0
      for (const t of Object.values(last)) {
        for (const v of t.data) p += v
      }
      return `steps ${target}, last loss ${lastLoss}, loss sum ${losses}, params sum ${p}`
    },
  }
}
