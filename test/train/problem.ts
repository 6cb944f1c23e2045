import { pipe } from 'rxjs'
import { tensor, type Tensor } from 'gradstream'
import { centralDifference, gradient, loss, perturb, update } from 'gradstream/operators'

/** The book's 2-D problem, x0² + x1², with a call counter. */
export function counted() {
  const calls = { n: 0 }
  const f = (x: Tensor) => {
    // a guard so that a broken stop fails the test instead of looping forever
    if (++calls.n > 1e6) throw new Error('runaway: the run was not stopped')
    return x.data[0] ** 2 + x.data[1] ** 2
  }
  return { calls, f }
}

/** One book step: central differences, x −= lr·g. Five objective calls (base + 2·2 probes). */
export const bookStep = (f: (x: Tensor) => number, lr = 0.1) =>
  pipe(perturb<Tensor>(centralDifference()), loss(f), gradient(), update(lr))

export const start = () => tensor([-3, 4])
