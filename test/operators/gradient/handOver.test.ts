import { lastValueFrom, of, take, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { tensor, train, type Params, type Tensor, type TrainState } from 'gradstream'
import { gradient, update } from 'gradstream/operators'
import { initialState } from '../transforms/fixture.js'
import { handOver } from '../../../src/tree/handOver.js'

// gradient(fn) copies the gradient a user's fn returns (the fn may reuse its buffers), except a
// tensor its producer marked with handOver (a buffer made fresh for this result, held by nobody
// else): the state keeps that very buffer, once.

type Net = { readonly W: Tensor; readonly b: Tensor }

/** The state `train` emits first, frozen as the loop's states are. */
const s0 = <P extends Params>(params: P) => Object.freeze(initialState(params))

const net = (): Net => ({ W: tensor([[1, 2]]), b: tensor([3]) })

describe('gradient(fn) and handed-over buffers', () => {
  it('keeps the buffers of handOver tensors: the state holds the very arrays fn returned', async () => {
    const returned: Float64Array[] = []
    const fn = (p: Net) => {
      const W = handOver(tensor([[2 * p.W.data[0], 2 * p.W.data[1]]]))
      const b = handOver(tensor([2 * p.b.data[0]]))
      returned.push(W.data, b.data)
      return { loss: 1, grad: { W, b } }
    }
    const [out] = await lastValueFrom(of(s0(net())).pipe(gradient(fn), toArray()))
    expect(out.grad.W.data).toBe(returned[0])
    expect(out.grad.b.data).toBe(returned[1])
    expect([...out.grad.W.data]).toEqual([2, 4])
    expect(out.grad.W.shape).toEqual([1, 2])
    expect(Object.isFrozen(out.grad.W)).toBe(true)
  })

  it('copies a tensor that is not marked: equal values, another buffer', async () => {
    let W: Tensor | undefined
    const fn = () => ((W = tensor([[5, 6]])), { loss: 0, grad: { W, b: tensor([7]) } })
    const [out] = await lastValueFrom(of(s0(net())).pipe(gradient(fn), toArray()))
    expect(out.grad.W.data).not.toBe(W!.data)
    expect([...out.grad.W.data]).toEqual([5, 6])
  })

  it('a marked tensor used twice is kept the first time and copied the second', async () => {
    // the same marked tensor at two leaves of one gradient: `a` (first in key order) keeps it
    const t = handOver(tensor([1, 2]))
    const p = { a: tensor([0, 0]), b: tensor([0, 0]) }
    const [out] = await lastValueFrom(
      of(s0(p)).pipe(
        gradient(() => ({ loss: 0, grad: { a: t, b: t } })),
        toArray(),
      ),
    )
    expect(out.grad.a.data).toBe(t.data)
    expect(out.grad.b.data).not.toBe(t.data)
    expect([...out.grad.b.data]).toEqual([1, 2])

    // the same marked tensor returned at two steps of a run: kept at step 1, copied at step 2
    const u = handOver(tensor([0.5, -0.5]))
    const states: TrainState<Tensor>[] = []
    train({
      params: tensor([1, 1]),
      step: (s$) =>
        s$.pipe(
          gradient(() => [0, u]),
          update(0.1),
        ),
    })
      .pipe(take(3))
      .subscribe((s) => states.push(s))
    expect(states[1].grad!.data).toBe(u.data)
    expect(states[2].grad!.data).not.toBe(u.data)
    expect([...states[2].grad!.data]).toEqual([0.5, -0.5])
    // x − 0.1·g twice: 1 − 0.05 − 0.05 and 1 + 0.05 + 0.05 (written anew, not read from the run)
    expect([...states[2].params.data]).toEqual([
      1 - 0.1 * 0.5 - 0.1 * 0.5,
      1 + 0.1 * 0.5 + 0.1 * 0.5,
    ])
  })
})
