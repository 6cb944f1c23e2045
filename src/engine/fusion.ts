import { map, Observable, type Subscriber, type Subscription, type TeardownLogic } from 'rxjs'

// Stage fusion. Each of gradstream's stages (perturb, loss, gradient, update) is a function from
// one frozen state to the next; as four RxJS `map`s a step costs four operator hops (a subscriber
// call, a try/catch and a closure each), about a third of the loop's overhead on a small
// problem. So a stage applied to the result of another stage does not add a hop: it returns a
// `FusedStages` over the same upstream with one more function to apply, and
// `pipe(perturb(…), loss(…), gradient(), update(…))` is ONE `map` when subscribed. The driver
// (`train`) goes one step further: when the whole step is a `FusedStages` over its own feed it
// calls the composed function directly, with no RxJS in between. Applied to any other
// Observable (a user's operator between stages), a stage starts a new `FusedStages` over it,
// which subscribes as a plain `map`: nothing changes for code that is not a stage.

/**
 * What a fused stage may use from the subscription (the run) it belongs to: a teardown for
 * what it subscribed (an Observable hyperparameter), and a way to error the stream later (that
 * Observable's error). Errors thrown by a stage's function error the stream as in a `map`.
 */
export interface StageRun {
  readonly add: (teardown: Subscription) => void
  readonly error: (e: unknown) => void
}

/**
 * A stage as fusion sees it: called once per subscription (so per-run memory, such as `loss`'s
 * scratch copy, lives in its closure), it returns the state → state function of every step.
 * That function returns a new, unfrozen state object (whatever it puts in it is frozen, or a
 * typed array); the chain freezes the state it emits. `emits` says whether this stage's states
 * leave the chain: when false, only the next stage of the chain reads them, during the same
 * step, so a stage may reuse a per-run buffer for what only that next stage reads.
 */
export type StageFactory<A, B> = (run: StageRun, emits: boolean) => (a: A) => B

/**
 * `source` with a chain of stages applied: subscribing subscribes `source` once and maps each
 * value through the composed stage functions. `base` and `factories` let the next stage (and
 * the driver) see inside it; they are read-only, so one `FusedStages` can be piped on by several
 * stages, each getting its own longer chain.
 */
export class FusedStages<T> extends Observable<T> {
  constructor(
    readonly base: Observable<unknown>,
    readonly factories: readonly StageFactory<never, unknown>[],
  ) {
    super((subscriber) => {
      const fn = instantiate<unknown, T>(factories, {
        add: (t) => subscriber.add(t),
        error: (e) => subscriber.error(e),
      })
      // a plain map over the source, the subscriber passed on (so a synchronous upstream sees
      // at once when it unsubscribes)
      return base.pipe(map(fn)).subscribe(subscriber)
    })
  }
}

/**
 * Turns a stage into an operator: on a `FusedStages` it extends the chain, on any other
 * Observable it starts one.
 */
export function stage<A, B>(factory: StageFactory<A, B>): (source: Observable<A>) => Observable<B> {
  const f = factory as StageFactory<never, unknown>
  return (source) =>
    source instanceof FusedStages
      ? new FusedStages<B>(source.base, [...source.factories, f])
      : new FusedStages<B>(source, [f])
}

/**
 * The composed function of a chain for one run, which freezes the state it returns: each
 * factory is called once, in order (so their subscriptions happen in the order of the pipe),
 * only the last one told that it emits. Chains of up to four stages (the whole gradient-descent
 * step) get a closure with direct calls, no loop.
 */
export function instantiate<A, B>(
  factories: readonly StageFactory<never, unknown>[],
  run: StageRun,
): (a: A) => B {
  const n = factories.length
  const fns = factories.map((f, i) => f(run, i === n - 1)) as ((a: unknown) => object)[]
  if (n === 1) {
    const [f0] = fns
    return (a) => Object.freeze(f0(a)) as B
  }
  if (n === 2) {
    const [f0, f1] = fns
    return (a) => Object.freeze(f1(f0(a))) as B
  }
  if (n === 3) {
    const [f0, f1, f2] = fns
    return (a) => Object.freeze(f2(f1(f0(a)))) as B
  }
  if (n === 4) {
    const [f0, f1, f2, f3] = fns
    return (a) => Object.freeze(f3(f2(f1(f0(a))))) as B
  }
  return (a) => {
    let v: unknown = a
    for (let i = 0; i < n; i++) v = fns[i](v)
    return Object.freeze(v) as B
  }
}

/**
 * The run `train` returns, which the stopping rules built on `stopWhen` recognise. Applied to
 * it, such a rule does not add its two hops (`map` + `takeWhile`) to every state: it returns
 * the same run with one more `stop` function, which the driver applies to each state it emits
 * (in the order the rules were piped), completing after the first state that carries a
 * `stopReason`: exactly what the rule's `map` + `takeWhile(…, true)` would do. Applied to any
 * other Observable, a rule is its plain operators.
 */
export class StoppableRun<S extends { readonly stopReason?: unknown }> extends Observable<S> {
  constructor(
    private readonly start: (
      subscriber: Subscriber<S>,
      stop: ((s: S) => S) | null,
    ) => TeardownLogic,
    readonly stops: readonly ((s: S) => S)[] = [],
  ) {
    super((subscriber) => start(subscriber, composeStops(stops)))
  }

  /** The same run with `stop` applied to its states after the stops it has. */
  stoppedBy(stop: (s: S) => S): StoppableRun<S> {
    return new StoppableRun(this.start, [...this.stops, stop])
  }
}

function composeStops<S>(stops: readonly ((s: S) => S)[]): ((s: S) => S) | null {
  const n = stops.length
  if (n === 0) return null
  if (n === 1) return stops[0]
  return (s) => {
    let v = s
    for (let i = 0; i < n; i++) v = stops[i](v)
    return v
  }
}
