import { Observable, pipe, Subject, take } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { globalNorm, toRecords, train, type TrainRecord, type TrainState } from 'gradstream'
import { evaluateEvery, gradient, maxSteps, sgd } from 'gradstream/operators'

const f = (x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })
const run = () => train({ params: [1], step: pipe(gradient(f), sgd(0.25)) })

describe('toRecords', () => {
  it('the doc example: a flat record per state, metrics only where measured', () => {
    const records: TrainRecord[] = []
    run()
      .pipe(
        maxSteps(2),
        evaluateEvery({ steps: 2 }, (s) => ({ x: (s.params as number[])[0] })),
        toRecords(),
      )
      .subscribe((r) => records.push(r))
    expect(records).toEqual([
      { step: 0, loss: NaN, lr: NaN, gradNorm: NaN, x: 1 },
      { step: 1, loss: 1, lr: 0.25, gradNorm: 2 },
      { step: 2, loss: 0.25, lr: 0.25, gradNorm: 1, x: 0.25 },
    ])
  })

  it('gradNorm is globalNorm of the gradient; a metric named like a column keeps its own key', () => {
    const states: TrainState[] = []
    run()
      .pipe(maxSteps(3))
      .subscribe((s) => states.push(s))
    const records: TrainRecord[] = []
    const source = new Subject<TrainState>()
    source.pipe(toRecords()).subscribe((r) => records.push(r))
    for (const s of states) source.next({ ...s, metrics: { loss: 7, step: 8 } })
    records.forEach((r, i) => {
      const s = states[i]
      expect(r).toEqual({
        step: s.step,
        loss: s.loss,
        lr: s.lr,
        gradNorm: s.grad === null ? NaN : globalNorm(s.grad),
        'metrics.loss': 7,
        'metrics.step': 8,
      })
    })
  })

  it('stops a synchronous source when unsubscribed', () => {
    let produced = 0
    const states: TrainState[] = []
    run()
      .pipe(maxSteps(0))
      .subscribe((s) => states.push(s))
    const endless$ = new Observable<TrainState>((s) => {
      for (let i = 0; !s.closed; i++) (produced++, s.next({ ...states[0], step: i }))
    })
    const steps: number[] = []
    endless$.pipe(toRecords(), take(4)).subscribe((r) => steps.push(r.step))
    expect(steps).toEqual([0, 1, 2, 3])
    expect(produced).toBe(4)
  })
})
