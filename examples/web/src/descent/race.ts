import {
  BehaviorSubject,
  animationFrameScheduler,
  pipe,
  takeWhile,
  type Observable,
  type OperatorFunction,
  type Subscription,
} from 'rxjs'
import { chunked, pausable, train, type TrainState } from 'gradstream'
import {
  adagrad,
  adam,
  adamw,
  applyUpdates,
  gradient,
  gradientTransform,
  lion,
  momentum,
  nesterov,
  rmsprop,
  sam,
  scaleByLearningRate,
  scheduleFreeAdamw,
  scheduleFreeSgd,
  sgd,
  type GradientTransformDefinition,
} from 'gradstream/operators'
import type { Objective2D } from './functions.js'

type XY = readonly number[]
type Fg = (p: XY) => { loss: number; grad: number[] }
type Step = OperatorFunction<TrainState<XY>, TrainState<XY>>

/**
 * A racer: one of gradstream's optimizers on the objective's analytic gradient `fg`, reading the
 * slider's learning rate `lr$` (the schedule-free ones take a number: the rate at the race's
 * start, `lr`).
 */
export interface Racer {
  readonly name: string
  readonly color: string
  readonly make: (fg: Fg, lr$: Observable<number>, lr: number) => Step
  /** a note shown beside its name */
  readonly note?: string
}

const plain =
  (opt: (lr$: Observable<number>) => OperatorFunction<never, unknown>) =>
  (fg: Fg, lr$: Observable<number>): Step =>
    pipe(gradient(fg), opt(lr$) as never) as unknown as Step

/** Every optimizer the race offers; the first six race unless the page picks others. */
export const allRacers: readonly Racer[] = [
  { name: 'sgd', color: '#e6194b', make: plain((lr) => sgd(lr) as never) },
  { name: 'momentum', color: '#3cb44b', make: plain((lr) => momentum(lr, { beta: 0.9 }) as never) },
  { name: 'nesterov', color: '#f58231', make: plain((lr) => nesterov(lr, { beta: 0.9 }) as never) },
  { name: 'rmsprop', color: '#4363d8', make: plain((lr) => rmsprop(lr, { decay: 0.9 }) as never) },
  { name: 'adagrad', color: '#911eb4', make: plain((lr) => adagrad(lr) as never) },
  { name: 'adam', color: '#000075', make: plain((lr) => adam(lr) as never) },
  { name: 'adamw', color: '#469990', make: plain((lr) => adamw(lr) as never) },
  { name: 'lion', color: '#9a6324', make: plain((lr) => lion(lr) as never) },
  {
    name: 'sam-sgd',
    color: '#f032e6',
    note: 'ρ = 0.05',
    make: (fg, lr$) => pipe(sam(fg, { rho: 0.05 }), sgd(lr$) as never) as unknown as Step,
  },
  {
    name: 'schedule-free-sgd',
    color: '#808000',
    note: 'lr fixed at the start',
    make: (fg, _lr$, lr) => pipe(gradient(fg), scheduleFreeSgd(lr) as never) as unknown as Step,
  },
  {
    name: 'schedule-free-adamw',
    color: '#42d4f4',
    note: 'lr fixed at the start',
    make: (fg, _lr$, lr) => pipe(gradient(fg), scheduleFreeAdamw(lr) as never) as unknown as Step,
  },
]
export const defaultRacers = allRacers.slice(0, 6).map((r) => r.name)

/**
 * A racer from a person's own `gradientTransform` definition, followed by the slider's learning
 * rate and the update: `gradient → yours → scaleByLearningRate(lr$) → applyUpdates()`.
 */
export function customRacer(definition: GradientTransformDefinition<unknown>): Racer {
  const transform = gradientTransform(definition) // validates now: a bad definition throws here
  return {
    name: `custom:${definition.name}`,
    color: '#111111',
    note: 'your transform',
    make: (fg, lr$) =>
      pipe(
        gradient(fg),
        transform as never,
        scaleByLearningRate(lr$) as never,
        applyUpdates() as never,
      ) as unknown as Step,
  }
}

export type RacerName = string

/** What the page draws: every racer's latest state, path and loss curve. */
export interface RaceSnapshot {
  readonly version: number
  readonly objective: Objective2D
  readonly start: readonly [number, number]
  readonly playing: boolean
  /** who races, in drawing order */
  readonly racers: readonly Racer[]
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
  private racers: readonly Racer[]

  constructor(objective: Objective2D, racers: readonly Racer[]) {
    this.racers = racers
    this.lr$ = new BehaviorSubject(objective.lr)
    this.snapshot$ = new BehaviorSubject(this.empty(objective, objective.start, false))
  }

  private empty(
    objective: Objective2D,
    start: readonly [number, number],
    playing: boolean,
  ): RaceSnapshot {
    const per = <T>(f: () => T) =>
      Object.fromEntries(this.racers.map((r) => [r.name, f()])) as Record<RacerName, T>
    return {
      version: ++this.version,
      objective,
      start,
      playing,
      racers: this.racers,
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
    const fg: Fg = ([x, y]) => ({ loss: f(x, y), grad: grad(x, y) })
    for (const racer of this.racers) {
      const paused$ = new BehaviorSubject(!play)
      let step: Step
      try {
        step = racer.make(fg, this.lr$, this.lr$.value)
      } catch (e) {
        this.finish(racer.name, e instanceof Error ? e.message : String(e))
        continue
      }
      const run$ = train<XY>({
        params: [start[0], start[1]],
        step,
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

  /** Races these from now on (a new race, from the same start, paused). */
  setRacers(racers: readonly Racer[]) {
    this.racers = racers
    this.reset(undefined, undefined, false)
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
