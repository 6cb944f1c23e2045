import fc from 'fast-check'
import {
  last,
  lastValueFrom,
  type OperatorFunction,
  pipe,
  toArray,
  VirtualTimeScheduler,
} from 'rxjs'
import { describe, expect, it } from 'vitest'
import {
  chunked,
  mlp,
  randomBatches,
  tensor,
  train,
  type Tensor,
  type TrainState,
} from 'gradstream'
import { adam, gradient, maxSteps, sam, sgd } from 'gradstream/operators'
import { expectClose } from '../../helpers/expectClose.js'
import { images } from '../../helpers/sparseRows.js'
import { onWasmOneThread } from '../../helpers/wasmOneThread.js'
import { sameBits } from '../transforms/fixture.js'
import { lazyGradients, setLazyGradients } from '../../../src/autodiff/lazyGradient.js'
import { keptSums, setKeptSums } from '../../../src/tensor/keptSums.js'

// f(θ) = Σ c_i·θ_i⁴/4 + θ_i²/2 over a tree { w: tensor, b: number }, ∇f_i = c_i·θ_i³ + θ_i:
// not quadratic, so the gradient at θ + e really differs from the one at θ.
type P = { readonly w: Tensor; readonly b: number }
type Mode = ReturnType<typeof chunked>
const c = [0.5, 1, 2, 0.25]
const flat = (p: P) => [...p.w.data, p.b]
const lossOf = (x: number[]) => x.reduce((s, v, i) => s + (c[i] * v ** 4) / 4 + v ** 2 / 2, 0)
const gradOf = (x: number[]) => x.map((v, i) => c[i] * v ** 3 + v)
const fg = (p: P) => {
  const g = gradOf(flat(p))
  return { loss: lossOf(flat(p)), grad: { w: tensor(g.slice(0, 3)), b: g[3] } }
}
const P0: P = { w: tensor([1, -2, 0.5]), b: 1.5 }

/** The SAM gradient written out anew (davda54/sam's first_step, then the second gradient). */
function samGrad(x: number[], rho: number, adaptive: boolean): number[] {
  const g = gradOf(x)
  const s = adaptive ? g.map((gi, i) => Math.abs(x[i]) * gi) : g
  const norm = Math.sqrt(s.reduce((a, v) => a + v * v, 0))
  const e = g.map((gi, i) => (rho * (adaptive ? x[i] * x[i] : 1) * gi) / (norm + 1e-12))
  return gradOf(x.map((v, i) => v + e[i]))
}

async function steps(step: OperatorFunction<TrainState<P>, TrainState<P>>, n: number) {
  return lastValueFrom(train({ params: P0, step }).pipe(maxSteps(n), toArray()))
}

describe('sam', () => {
  it('documents its example: the gradient is taken at θ + ρ·g/‖g‖', async () => {
    const f = ({ w }: { w: number }) => ({ loss: w ** 4 / 4, grad: { w: w ** 3 } })
    const s = await lastValueFrom(
      train({ params: { w: 1 }, step: pipe(sam(f, { rho: 0.5 }), sgd(0.1)) }).pipe(
        maxSteps(1),
        last(),
      ),
    )
    expect(s.grad).toEqual({ w: 3.374999999996625 })
    expect(s.params).toEqual({ w: 0.6625000000003375 })
    expect([s.loss, s.evaluations]).toEqual([0.25, 2])
  })

  for (const adaptive of [false, true]) {
    it(`${adaptive ? 'ASAM' : 'SAM'}-SGD, 5 steps, equals the formula written out (loss f(θ), 2 evaluations a step)`, async () => {
      const [rho, lr] = [0.3, 0.05]
      const states = await steps(pipe(sam(fg, { rho, adaptive }), sgd(lr)), 5)
      let x = flat(P0)
      for (let t = 1; t <= 5; t++) {
        const g = samGrad(x, rho, adaptive)
        const s = states[t]
        // the norm is summed in another order (globalNorm vs this reduce): a few ulp in e,
        // times f'' ≤ 3·2·3² + 1 in g, then θ − η·g: far below 1e-13
        g.forEach((v, i) =>
          expectClose(flat(s.grad!)[i], v, { atol: 1e-13, rtol: 1e-13 }, `g${t}[${i}]`),
        )
        expectClose(s.loss, lossOf(x), { rtol: 1e-13 }, `loss${t}`)
        x = x.map((v, i) => v - lr * g[i])
        x.forEach((v, i) =>
          expectClose(flat(s.params)[i], v, { atol: 1e-13, rtol: 1e-13 }, `θ${t}[${i}]`),
        )
        expect(s.evaluations).toBe(2 * t)
      }
    })
  }

  it('ρ → 0 tends to the plain gradient: ‖∇f(θ + e) − ∇f(θ)‖ ≤ L·‖e‖ ≤ L·ρ (property)', () => {
    const v = fc.double({ min: -2, max: 2, noNaN: true }).map((z) => z + 0)
    fc.assert(
      fc.property(
        fc.array(v, { minLength: 4, maxLength: 4 }),
        fc.double({ min: 0, max: 0.1, noNaN: true }),
        fc.boolean(),
        (x, rho, adaptive) => {
          const p: P = { w: tensor(x.slice(0, 3)), b: x[3] }
          let got: number[] = []
          train({ params: p, step: pipe(sam(fg, { rho, adaptive }), sgd(1)) })
            .pipe(maxSteps(1), last())
            .subscribe((s) => (got = flat(s.grad!)))
          const g = gradOf(x)
          const diff = Math.sqrt(got.reduce((a, gi, i) => a + (gi - g[i]) ** 2, 0))
          // ‖e‖ ≤ ρ (SAM) or ρ·max θ² ≤ 4ρ (ASAM); L = max f'' = 3·2·(2 + 4·0.1)² + 1 < 36
          const radius = adaptive ? 4 * rho : rho
          expect(diff).toBeLessThanOrEqual(36 * radius + 1e-12)
          if (rho === 0) expect(got).toEqual(g)
        },
      ),
    )
  })

  it('takes the { value, grad } and [loss, grad] shapes too, and any optimizer after it', async () => {
    const value = (p: P) => ({ value: fg(p).loss, grad: fg(p).grad })
    const tuple = (p: P) => [fg(p).loss, fg(p).grad] as const
    const a = await steps(pipe(sam(fg), adam(0.01)), 3)
    expect((await steps(pipe(sam(value), adam(0.01)), 3)).map((s) => s.params)).toEqual(
      a.map((s) => s.params),
    )
    expect((await steps(pipe(sam(tuple), adam(0.01)), 3)).map((s) => s.params)).toEqual(
      a.map((s) => s.params),
    )
  })

  it('gives each of two runs of one operator stepped in turn its own stream', () => {
    const run = (
      p: P,
      n: number,
      op: OperatorFunction<TrainState<P>, TrainState<P>>,
      mode?: Mode,
    ) => {
      let out: TrainState<P>[] = []
      train({ params: p, step: op, mode })
        .pipe(maxSteps(n), toArray())
        .subscribe((v) => (out = v))
      return () => out
    }
    const P1: P = { w: tensor([-1, 0.25, 2]), b: -0.5 }
    const alone = [run(P0, 4, pipe(sam(fg), sgd(0.05)))(), run(P1, 3, pipe(sam(fg), sgd(0.05)))()]
    const shared = pipe(sam(fg), sgd(0.05))
    const vts = new VirtualTimeScheduler()
    const mode = chunked({ steps: 1, scheduler: vts })
    const both = [run(P0, 4, shared, mode), run(P1, 3, shared, mode)]
    vts.flush()
    expect(both.map((r) => r())).toEqual(alone)
  })

  describe('on the tape’s lazy gradients and sgd’s kept sums (wasm, one thread)', () => {
    onWasmOneThread()
    it('a long leaf (θ + e in wasm, θ read where sgd kept it): the reference’s formula bit for bit', async () => {
      // n ≥ 4096 (sgd keeps θ as a kept sum) and the wasm kernels' length, odd (a SIMD tail);
      // davda54/sam's first_step written out:
      // scale = ρ/(‖g‖ + 1e-12) (‖·‖ summed in index order), e = (θ² if adaptive)·g·scale
      const n = 4099
      const k = (i: number) => 0.25 + (i % 7) / 4
      const fgLong = ({ w }: { w: Tensor }) => {
        const x = [...w.data]
        return {
          loss: x.reduce((a, v, i) => a + (k(i) * v ** 4) / 4 + v ** 2 / 2, 0),
          grad: { w: tensor(x.map((v, i) => k(i) * v ** 3 + v)) },
        }
      }
      const x0 = Array.from({ length: n }, (_, i) => Math.sin(i + 1) * 1.5)
      const kept = keptSums.made
      for (const adaptive of [false, true]) {
        const [rho, lr] = [0.2, 0.05]
        const states = await lastValueFrom(
          train({
            params: { w: tensor(x0) },
            step: pipe(sam(fgLong, { rho, adaptive }), sgd(lr)),
          }).pipe(maxSteps(4), toArray()),
        )
        let x = x0
        for (let t = 1; t <= 4; t++) {
          const g = x.map((v, i) => k(i) * v ** 3 + v)
          let sq = 0
          for (let i = 0; i < n; i++) sq += (adaptive ? Math.abs(x[i]) * g[i] : g[i]) ** 2
          const scale = rho / (Math.sqrt(sq) + 1e-12)
          const climbed = x.map((v, i) => v + (adaptive ? v * v : 1) * g[i] * scale)
          const g2 = climbed.map((v, i) => k(i) * v ** 3 + v)
          x = x.map((v, i) => v - lr * g2[i])
          const s = states[t] as TrainState<{ w: Tensor }>
          expect(sameBits(s.grad!, { w: tensor(g2) }), `adaptive ${adaptive}: g${t}`).toBe(true)
          expect(sameBits(s.params, { w: tensor(x) }), `adaptive ${adaptive}: θ${t}`).toBe(true)
        }
      }
      expect(keptSums.made - kept, 'θ kept as sums').toBeGreaterThanOrEqual(6)
    })
    it('reads θ and ∇f(θ) where they lie: the same bits as with both made eagerly, the gradients left lazy', () => {
      // mlp 784–16–10 on batches of compressed rows: ∂W1 a lazy gradient, W1 (12,544) a kept
      // sum under sgd; SAM must neither make them (a read turns the next gradients eager) nor
      // read stale scratch
      const net = mlp({ sizes: [784, 16, 10], seed: 2 })
      const data = images(3, 240)
      const run = (lazy: boolean, adaptive: boolean) => {
        const was = [setLazyGradients(lazy), setKeptSums(lazy)] as const
        try {
          let out: TrainState[] = []
          train({
            params: net.params,
            data: randomBatches(data, { batchSize: 24, seed: 5 }),
            step: pipe(
              sam(
                (q: typeof net.params, b: { x: Tensor; t: Tensor }) =>
                  net.lossAndGradient(q, b.x, b.t),
                { rho: 0.05, adaptive },
              ),
              sgd(0.1),
            ),
          })
            .pipe(maxSteps(12), toArray())
            .subscribe((v) => (out = v))
          return out
        } finally {
          setLazyGradients(was[0])
          setKeptSums(was[1])
        }
      }
      // the lazy runs first: reading a state later reads its gradients (a late read replays),
      // and a read turns the next calls' gradients eager
      const read = () => lazyGradients.copied + lazyGradients.recomputed + lazyGradients.inCall
      const [made, before] = [lazyGradients.made, read()]
      const got = [run(true, false), run(true, true)]
      expect(lazyGradients.made - made, 'lazy gradients made').toBeGreaterThanOrEqual(40)
      expect(read(), 'lazy gradients read during the runs').toBe(before)
      const want = [run(false, false), run(false, true)]
      for (const a of [0, 1]) {
        for (const i of [12, 3, 7, 0, 10, 1]) {
          expect(got[a][i].loss, `adaptive ${a}: state ${i}`).toBe(want[a][i].loss)
          expect(sameBits(got[a][i].params, want[a][i].params), `adaptive ${a}: θ ${i}`).toBe(true)
        }
      }
    })
  })

  it('validates', () => {
    const f = () => ({ loss: 0, grad: 0 })
    expect(() => sam(1 as never)).toThrow(new TypeError('sam: fn: expected a function, got 1'))
    expect(() => sam(f, { rho: -1 })).toThrow(
      new RangeError('sam: rho: expected a non-negative finite number, got -1'),
    )
    expect(() => sam(f, { radius: 1 } as never)).toThrow(
      new TypeError('sam: options.radius: expected no such key (known: rho, adaptive), got 1'),
    )
    expect(() => sam(f, { adaptive: 1 as never })).toThrow(
      new TypeError('sam: adaptive: expected a boolean, got 1'),
    )
    let error: unknown
    train({
      params: 1,
      step: pipe(
        sam(() => ({ grad: 1 }) as never),
        sgd(1),
      ),
    })
      .pipe(maxSteps(1))
      .subscribe({ error: (e) => (error = e) })
    expect(String(error)).toBe(
      'TrainError: train: step 1: sam: fn: expected { loss, grad }, { value, grad } or [loss, grad], got an object',
    )
  })
})
