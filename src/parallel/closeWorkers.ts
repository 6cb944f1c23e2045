import { closeAll } from './poolInternals.js'

/**
 * Ends gradstream's worker threads — the probe pool of `twoLayerNetNumericalGradientParallel`
 * and the helper thread of the two-thread products (`useBothCores`) — and resolves when they
 * have exited. Both start again on demand. Idle workers never keep a process alive, so a
 * program needs this only to get its threads back at once (or a test, to leave no handles).
 *
 * @example
 * ```ts
 * import { tensor } from 'gradstream'
 * import { closeWorkers, twoLayerNetNumericalGradientParallel } from 'gradstream/node'
 *
 * const params = {
 *   W1: tensor([[0.1, -0.2]]),
 *   b1: tensor([0, 0]),
 *   W2: tensor([[0.3], [0.4]]),
 *   b2: tensor([0]),
 * }
 * const g = await twoLayerNetNumericalGradientParallel(params, tensor([[1]]), tensor([0]), {
 *   loss: 'softmaxCrossEntropy',
 * })
 * await closeWorkers() // the pool's threads have exited
 * ```
 * @see twoLayerNetNumericalGradientParallel, useBothCores
 */
export function closeWorkers(): Promise<void> {
  return closeAll()
}
