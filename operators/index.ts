export { checkpointEvery } from './checkpointEvery.js'
export type { CheckpointInterval, CheckpointSink } from './checkpointEvery.js'
export { evaluateEvery } from './evaluateEvery.js'
export type { EvaluationInterval } from './evaluateEvery.js'
export { applyUpdates } from './transforms/applyUpdates.js'
export { scaleByLearningRate } from './transforms/scaleByLearningRate.js'
export type {
  GradientTransform,
  TransformContext,
  TransformLike,
  TransformOperator,
} from './transforms/transformInternals.js'
export type { Hyperparam, Schedule } from './hyperparamInternals.js'
