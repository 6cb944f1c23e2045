// A run whose learning rate comes from another Observable and changes mid-run, as a UI slider
// would change it: the run is chunked (it yields to the event loop every 10 steps), the
// learning rate starts at 0.01 and, 20 ms after step 10 was emitted, a timer (standing in for
// the user) moves it to 0.2. Each state records the rate its update used.
// `npm run example:lr-from-observable`.
import {
  BehaviorSubject,
  lastValueFrom,
  map,
  pipe,
  type Subscription,
  tap,
  timer,
  toArray,
} from 'rxjs'
import { chunked, tensor, train, type Tensor } from 'gradstream'
import { centralDifference, gradient, loss, maxSteps, perturb, update } from 'gradstream/operators'
import { isMain } from './svg.js'

/** Runs 300 steps of gradient descent on x0² + x1²; returns the rate each step used. */
export async function main({ steps = 300, switchAfterMs = 20 } = {}) {
  const lr$ = new BehaviorSubject(0.01) // the "slider"
  let slider: Subscription | undefined
  const states = await lastValueFrom(
    train({
      params: tensor([-3, 4]),
      step: pipe(
        perturb(centralDifference()),
        loss((x: Tensor) => x.data[0] ** 2 + x.data[1] ** 2),
        gradient(),
        update(lr$),
      ),
      mode: chunked({ steps: 10, delay: 2 }),
    }).pipe(
      maxSteps(steps),
      tap((s) => {
        if (s.step === 10) slider = timer(switchAfterMs).subscribe(() => lr$.next(0.2))
      }),
      map((s) => ({ step: s.step, lr: s.lr, loss: s.loss })),
      toArray(),
    ),
  )
  slider?.unsubscribe()
  const changedAt = states.find((s) => s.lr === 0.2)?.step ?? -1
  const text = [
    `lr 0.01 for steps 1…${changedAt - 1}, then 0.2 from step ${changedAt} (moved ${switchAfterMs} ms after step 10)`,
    `loss at step ${changedAt - 1}: ${states[changedAt - 1]?.loss}, at step ${steps}: ${states[steps].loss}`,
  ].join('\n')
  return { states, changedAt, text }
}

if (isMain(import.meta.url)) void main().then((r) => console.log(r.text))
