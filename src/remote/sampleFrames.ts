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
 * import { sampleFrames, trainInWorker } from 'gradstream'
 * trainInWorker(spawn, config)
 *   .pipe(sampleFrames())
 *   .subscribe((s) => draw(s)) // ≤ 60 redraws a second however fast the run steps
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
