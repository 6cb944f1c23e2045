import {
  BehaviorSubject,
  animationFrameScheduler,
  pipe,
  takeWhile,
  type Observable,
  type Subscription,
} from 'rxjs'
import { chunked, pausable, train, type TrainState } from 'gradstream'
import { adagrad, adam, gradient, momentum, nesterov, rmsprop, sgd } from 'gradstream/operators'
import type { Objective2D } from './functions.js'

/** The racers: each is one of gradstream's optimizers, reading the learning rate from the slider. */
export const racers = [
  { name: 'sgd', color: '#e6194b', make: (lr$: Observable<number>) => sgd(lr$) },
  { name: 'momentum', color: '#3cb44b', make: (lr$: Observable<number>) => momentum(lr$, 0.9) },
  { name: 'nesterov', color: '#f58231', make: (lr$: Observable<number>) => nesterov(lr$, 0.9) },
  { name: 'rmsprop', color: '#4363d8', make: (lr$: Observable<number>) => rmsprop(lr$, 0.9) },
  { name: 'adagrad', color: '#911eb4', make: (lr$: Observable<number>) => adagrad(lr$) },
  { name: 'adam', color: '#000075', make: (lr$: Observable<number>) => adam(lr$) },
] as const

export type RacerName = (typeof racers)[number]['name']
type XY = readonly number[]

/** What the page draws: every racer's latest state, path and loss curve. */
export interface RaceSnapshot {
  readonly version: number
  readonly objective: Objective2D
  readonly start: readonly [number, number]
  readonly playing: boolean
  readonly states: Partial<Record<RacerName, TrainState<XY>>>
  /** visited points, by racer (appended in place; `version` tells a change) */
  readonly paths: Record<RacerName, number[]>
  /** loss at each step, by racer */
  readonly losses: Record<RacerName, number[]>
  readonly finished: Partial<Record<RacerName, string>>
}

const MAX_STEPS = 5_000
/** A racer leaving this box (a saddle's descent direction) has diverged; its race ends. */
const FAR = 1e6

/**
 * Several optimizers racing on one 2-D objective, each a `train` run in chunked mode on the
 * animation-frame scheduler (one step per frame, so the page never blocks), all reading one
 * learning-rate Observable (the slider) and each its own `paused$` (play / pause / single step).
 */
export class Race {
  readonly lr$: BehaviorSubject<number>
  readonly snapshot$: BehaviorSubject<RaceSnapshot>
  private runs: { name: RacerName; sub: Subscription; paused$: BehaviorSubject<boolean> }[] = []
  private version = 0
  private stepping = new Set<RacerName>()

  constructor(objective: Objective2D) {
    this.lr$ = new BehaviorSubject(objective.lr)
    this.snapshot$ = new BehaviorSubject(this.empty(objective, objective.start, false))
  }

  private empty(
    objective: Objective2D,
    start: readonly [number, number],
    playing: boolean,
  ): RaceSnapshot {
    const per = <T>(f: () => T) =>
      Object.fromEntries(racers.map((r) => [r.name, f()])) as Record<RacerName, T>
    return {
      version: ++this.version,
      objective,
      start,
      playing,
      states: {},
      paths: per(() => [start[0], start[1]]),
      losses: per(() => [] as number[]),
      finished: {},
    }
  }

  private emit(patch: Partial<RaceSnapshot>) {
    this.snapshot$.next({ ...this.snapshot$.value, ...patch, version: ++this.version })
  }

  /** Starts a new race from `start` (stopping the old one); paused unless `play`. */
  reset(
    objective = this.snapshot$.value.objective,
    start = this.snapshot$.value.start,
    play = false,
  ) {
    this.stop()
    this.snapshot$.next(this.empty(objective, start, play))
    const { f, grad } = objective
    for (const racer of racers) {
      const paused$ = new BehaviorSubject(!play)
      const run$ = train<XY>({
        params: [start[0], start[1]],
        step: pipe(
          gradient(([x, y]: XY) => ({ loss: f(x, y), grad: grad(x, y) })),
          racer.make(this.lr$),
        ),
        mode: pausable(paused$, chunked({ steps: 1, scheduler: animationFrameScheduler })),
      }).pipe(
        takeWhile(
          (s) =>
            s.step < MAX_STEPS &&
            Number.isFinite(s.params[0]) &&
            Math.abs(s.params[0]) < FAR &&
            Math.abs(s.params[1]) < FAR,
          true,
        ),
      )
      const sub = run$.subscribe({
        next: (s) => this.record(racer.name, s),
        complete: () => this.finish(racer.name, 'done'),
        error: (e: unknown) => this.finish(racer.name, e instanceof Error ? e.message : String(e)),
      })
      this.runs.push({ name: racer.name, sub, paused$ })
    }
  }

  private record(name: RacerName, s: TrainState<XY>) {
    const snap = this.snapshot$.value
    if (s.step > 0) {
      snap.paths[name].push(s.params[0], s.params[1])
      snap.losses[name].push(s.loss)
    }
    if (this.stepping.delete(name)) this.runs.find((r) => r.name === name)?.paused$.next(true)
    this.emit({ states: { ...snap.states, [name]: s } })
  }

  private finish(name: RacerName, why: string) {
    this.emit({ finished: { ...this.snapshot$.value.finished, [name]: why } })
  }

  play() {
    this.stepping.clear()
    this.runs.forEach((r) => r.paused$.next(false))
    this.emit({ playing: true })
  }

  pause() {
    this.runs.forEach((r) => r.paused$.next(true))
    this.emit({ playing: false })
  }

  /** One step of every racer, then paused again. */
  step() {
    this.emit({ playing: false })
    for (const r of this.runs) {
      this.stepping.add(r.name)
      r.paused$.next(false)
    }
  }

  setLr(lr: number) {
    this.lr$.next(lr)
  }

  stop() {
    this.runs.forEach((r) => r.sub.unsubscribe())
    this.runs = []
    this.stepping.clear()
  }
}
