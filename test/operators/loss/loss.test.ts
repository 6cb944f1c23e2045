import { lastValueFrom, of, pipe, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { flatten, tensor, train, type Params, type Tensor, type TrainState } from 'gradstream'
import {
  centralDifference,
  gaussian,
  gradient,
  loss,
  maxSteps,
  perturb,
  spsa,
  update,
} from 'gradstream/operators'
import { rng } from '../../../src/random/rng.js'

type Net = { W: Tensor; b: number; layers: number[] }
const params = (): Net => ({
  W: tensor([
    [1, 2],
    [3, 4],
  ]),
  b: 0.5,
  layers: [-1, 2],
})

const state = <P extends Params>(p: P): TrainState<P> =>
  Object.freeze({
    step: 0,
    params: p,
    loss: NaN,
    grad: null,
    lr: NaN,
    opt: {},
    hyper: {},
    evaluations: 7,
    rng: rng(1).state(),
    history: [],
    metrics: {},
  })

describe('loss', () => {
  it('evaluates on a private scratch tree: every point fully written, the state untouched', async () => {
    const s = state(params())
    const base = flatten(s.params)
    const h = 1e-4
    const seen: Float64Array[] = []
    const trees = new Set<unknown>()
    const f = (p: Net) => {
      trees.add(p)
      expect(p).not.toBe(s.params)
      const v = flatten(p)
      seen.push(v)
      return v.reduce((a, x) => a + x * x, 0)
    }
    const [out] = await lastValueFrom(
      of(s).pipe(perturb<Net>(centralDifference({ h })), loss(f), toArray()),
    )
    // base point, then per coordinate i (in flattening order: W row-major, b, layers):
    // exactly one coordinate moved, by +h then −h, every other at its base value
    expect(seen).toHaveLength(1 + 2 * base.length)
    expect([...seen[0]]).toEqual([...base])
    for (let i = 0; i < base.length; i++) {
      for (const [k, sign] of [
        [1 + 2 * i, 1],
        [2 + 2 * i, -1],
      ] as const) {
        const want = Float64Array.from(base)
        want[i] = sign > 0 ? base[i] + h : base[i] - h
        expect([...seen[k]]).toEqual([...want])
      }
    }
    expect(trees.size).toBe(1) // one scratch copy, reused for every probe
    expect([...flatten(s.params)]).toEqual([...base]) // the state's tree never written
    expect(out.baseLoss).toBe(out.loss)
    expect(out.losses).toHaveLength(2 * base.length)
    expect(out.evaluations).toBe(7 + 1 + 2 * base.length)
    expect(Object.isFrozen(out)).toBe(true)
  })

  it('random designs: x ± scale·u written everywhere, restored after', async () => {
    const s = state(tensor([1, 2, 3]))
    const seen: number[][] = []
    const f = (p: Tensor) => (seen.push([...p.data]), 0)
    const [out] = await lastValueFrom(
      of(s).pipe(perturb<Tensor>(gaussian({ sigma: 0.5, samples: 2 })), loss(f), toArray()),
    )
    const probes = out.probes as unknown as { directions: Float64Array[] }
    expect(seen).toHaveLength(1 + 4)
    probes.directions.forEach((u, k) => {
      expect(seen[1 + 2 * k]).toEqual([1, 2, 3].map((x, i) => x + 0.5 * u[i]))
      expect(seen[2 + 2 * k]).toEqual([1, 2, 3].map((x, i) => x + -0.5 * u[i]))
    })
    expect(out.evaluations).toBe(7 + 5)
    expect(out.rng).not.toEqual(s.rng) // the directions were drawn from the run's generator
  })

  it('hands the step its batch', async () => {
    const batches: unknown[] = []
    await lastValueFrom(
      train({
        params: [0],
        data: ['a', 'b'],
        step: pipe(
          perturb(spsa()),
          loss((_p: number[], b: string) => (batches.push(b), 1)),
          gradient(),
          update(0.1),
        ),
      }),
    )
    expect(batches).toEqual(['a', 'a', 'a', 'b', 'b', 'b'])
  })

  it('a non-number objective value errors the stream; validation on build', async () => {
    await expect(
      lastValueFrom(
        of(state([1])).pipe(
          perturb<number[]>(centralDifference()),
          loss(() => '1' as never),
        ),
      ),
    ).rejects.toThrow(new TypeError('loss: objective: expected a number, got "1"'))
    expect(() => loss(undefined as never)).toThrow(
      new TypeError('loss: objective: expected a function, got undefined'),
    )
  })

  it('central differences on a tree: the gradient has the tree’s structure', async () => {
    // f = Σ v² over all scalars ⇒ ∇f = 2v; exact for a quadratic up to rounding ε·|f|/h
    const last = await lastValueFrom(
      train({
        params: params(),
        step: pipe(
          perturb(centralDifference()),
          loss((p: Net) => flatten(p).reduce((a, x) => a + x * x, 0)),
          gradient(),
          update(0.1),
        ),
      }).pipe(maxSteps(1)),
    )
    const g = last.grad as Net
    expect(g.W.shape).toEqual([2, 2])
    const want = [1, 2, 3, 4, 0.5, -1, 2].map((v) => 2 * v) // W row-major, b, layers
    flatten(g).forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-9))
    expect(Object.keys(g).sort()).toEqual(['W', 'b', 'layers'])
  })
})
