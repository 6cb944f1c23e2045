import { lastValueFrom, map, of, pipe, take, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { ad, autodiff, tensor, train, type Params, type Tensor, type TrainState } from 'gradstream'
import { gradient, update } from 'gradstream/operators'
import { initialState } from '../transforms/fixture.js'

/** The state `train` emits first, frozen as the loop's states are. */
const s0 = <P extends Params>(params: P) => Object.freeze(initialState(params))

describe('gradient(fn): analytic gradients', () => {
  it.each([
    ['{ loss, grad }', (x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })],
    ['{ value, grad }', (x: number[]) => ({ value: x[0] ** 2, grad: [2 * x[0]] })],
    ['[loss, grad]', (x: number[]) => [x[0] ** 2, [2 * x[0]]] as [number, number[]]],
  ])('accepts %s', async (_, fn) => {
    const [out] = await lastValueFrom(
      of(s0([3])).pipe(gradient(fn as (x: number[]) => [number, number[]]), toArray()),
    )
    expect(out.loss).toBe(9)
    expect(out.baseLoss).toBe(9)
    expect(out.grad).toEqual([6])
    expect(out.updates).toBe(out.grad)
    expect(out.evaluations).toBe(1)
    expect(Object.isFrozen(out.grad)).toBe(true)
  })

  it('copies the returned gradient (later writes by fn do not reach the state)', async () => {
    const buf = [0]
    const [out] = await lastValueFrom(
      of(s0([3])).pipe(
        gradient((x: number[]) => ((buf[0] = 2 * x[0]), { loss: 0, grad: buf })),
        toArray(),
      ),
    )
    buf[0] = 99
    expect(out.grad).toEqual([6])
  })

  it('a gradient of the wrong structure is a ShapeError naming the path', async () => {
    const fn = (p: { W: Tensor }) => ({ loss: 0, grad: { W: tensor([[1, 2, 3]]) } })
    await expect(
      lastValueFrom(of(s0({ W: tensor([[1], [2], [3]]) })).pipe(gradient(fn))),
    ).rejects.toThrow('gradient: at W: shapes [3,1] and [1,3] differ')
  })

  it('rejects other shapes and non-functions', async () => {
    await expect(lastValueFrom(of(s0([1])).pipe(gradient((() => 3) as never)))).rejects.toThrow(
      new TypeError(
        'gradient: fn: expected { loss, grad }, { value, grad } or [loss, grad], got 3',
      ),
    )
    expect(() => gradient(1 as never)).toThrow(
      new TypeError('gradient: fn: expected a function, got 1'),
    )
  })

  it('plugs in the reverse-mode autodiff: gradient(autodiff(f)) descends f = Σ(Wx − t)²', async () => {
    // f(W) = Σ (W·x − t)², x = [1, 2], t = 5: ∂f/∂W = 2(W·x − t)·xᵀ, written anew here
    const x = tensor([[1], [2]])
    const f = (p: { W: unknown }) =>
      ad.sum(ad.mul(ad.sub(ad.matmul(p.W as never, x), 5), ad.sub(ad.matmul(p.W as never, x), 5)))
    const states = await lastValueFrom(
      train({
        params: { W: tensor([[0.5, 0.5]]) },
        step: pipe(gradient(autodiff(f as never)), update(0.01)),
      }).pipe(take(3), toArray()),
    )
    const W0 = [0.5, 0.5]
    const r0 = W0[0] * 1 + W0[1] * 2 - 5 // −3.5
    const g0 = [2 * r0 * 1, 2 * r0 * 2]
    expect(states[1].loss).toBe(r0 * r0)
    expect([...(states[1].grad as { W: Tensor }).W.data]).toEqual(g0)
    expect([...(states[1].params as { W: Tensor }).W.data]).toEqual(
      W0.map((w, i) => w - 0.01 * g0[i]),
    )
  })
})

describe('gradient(): the estimate matching the design', () => {
  it('drops the probe fields', async () => {
    const { centralDifference, loss, perturb } = await import('gradstream/operators')
    const [out] = await lastValueFrom(
      of(s0([3])).pipe(
        perturb<number[]>(centralDifference()),
        loss((x) => x[0] ** 2),
        gradient(),
        map((s) => Object.keys(s).sort()),
        toArray(),
      ),
    )
    expect(out).not.toContain('probes')
    expect(out).not.toContain('losses')
    expect(out).toContain('updates')
  })
})
