import {
  animationFrames,
  take,
  throttle,
  timer,
  type MonoTypeOperatorFunction,
  type Observable,
} from 'rxjs'

/**
 * Thins a fast stream to at most about one value per display frame, for redraws: the first
 * value passes at once, then the newest value at the end of each frame (values in between are
 * skipped), and the last value before completion is always delivered. In a browser the frames
 * are `requestAnimationFrame`s (`animationFrames()`), so a hidden tab stops redrawing; where
 * there is none (Node, a worker) a 60 Hz timer stands in.
 *
 * @example
 * ```ts
 * import { lastValueFrom, pipe, tap } from 'rxjs'
 * import { chunked, sampleFrames, train } from 'gradstream'
 * import { gradient, maxSteps, sgd } from 'gradstream/operators'
 *
 * const step = pipe(gradient((x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })), sgd(0.01))
 * let redraws = 0
 * const last = await lastValueFrom(
 *   train({ params: [1], step, mode: chunked({ steps: 100 }) }).pipe(
 *     maxSteps(2000),
 *     sampleFrames(), // ≤ 60 values a second however fast the run steps; the last always arrives
 *     tap(() => redraws++), // draw(s) here
 *   ),
 * )
 * console.log(last.step, redraws < 2001) // → 2000 true
 * ```
 * @param frames$ a frame source to use instead (a test scheduler's, or a slower timer)
 * @see toStore
 */
export function sampleFrames<T>(frames$?: Observable<unknown>): MonoTypeOperatorFunction<T> {
  const frame = (): Observable<unknown> => {
    if (frames$) return frames$
    const each: Observable<unknown> =
      typeof requestAnimationFrame === 'function' ? animationFrames() : timer(1000 / 60)
    return each.pipe(take(1))
  }
  return throttle(frame, { leading: true, trailing: true })
}
