export { ad } from './autodiff/ad.js'
export { autodiff } from './autodiff/autodiff.js'
export { Var } from './autodiff/tape.js'
export type { AffineActivation, VarLike } from './autodiff/ops.js'
export { valueAndGrad } from './autodiff/valueAndGrad.js'
export type { Traced } from './autodiff/valueAndGrad.js'
export { batchesPerEpoch, epochBatches } from './data/epochBatches.js'
export type { EpochBatchesOptions } from './data/epochBatches.js'
export type { Batch, Batches, SamplerPosition } from './data/batches.js'
export type { Dataset } from './data/loadMnist.js'
export { oneHot } from './data/oneHot.js'
export { parseIdx } from './data/parseIdx.js'
export type { IdxArray, IdxExpectation, IdxType } from './data/parseIdx.js'
export { randomBatches } from './data/randomBatches.js'
export type { RandomBatchesOptions } from './data/randomBatches.js'
export { derivative } from './diff/derivative.js'
export type { DerivativeOptions, DerivativeResult } from './diff/derivative.js'
export type { DiffMethod, DiffOptions, NonFinite } from './diff/diffOptions.js'
export { directionalDerivative } from './diff/directionalDerivative.js'
export { jacobian } from './diff/jacobian.js'
export { numericalDiff } from './diff/numericalDiff.js'
export { numericalGradient } from './diff/numericalGradient.js'
export { partialDerivative } from './diff/partialDerivative.js'
export { ShapeError } from './errors.js'
export { CROSS_ENTROPY_DELTA, crossEntropyError } from './functions/crossEntropyError.js'
export { identity } from './functions/identity.js'
export type { TensorLike } from './functions/tensorLike.js'
export { meanSquaredError } from './functions/meanSquaredError.js'
export { relu } from './functions/relu.js'
export { sigmoid } from './functions/sigmoid.js'
export { sigmoidGrad } from './functions/sigmoidGrad.js'
export { softmax } from './functions/softmax.js'
export { softmaxCrossEntropy } from './functions/softmaxCrossEntropy.js'
export { step } from './functions/step.js'
export { tanh } from './functions/tanh.js'
export { gradientDescent } from './gradientDescent.js'
export { toRecords } from './logging/toRecords.js'
export type { TrainRecord } from './logging/toRecords.js'
export { chunked } from './loop/chunked.js'
export type { TrainMode } from './loop/mode.js'
export { pausable } from './loop/pausable.js'
export { setDebug } from './loop/setDebug.js'
export { sync } from './loop/sync.js'
export { TrainError } from './loop/TrainError.js'
export { accuracy } from './nn/accuracy.js'
export type { Classifier } from './nn/accuracy.js'
export { mlp } from './nn/mlp.js'
export type { Activation, Init, Mlp, MlpConfig, MlpParams } from './nn/mlp.js'
export { simpleNet } from './nn/simpleNet.js'
export type { SimpleNet } from './nn/simpleNet.js'
export { twoLayerGradient } from './nn/twoLayerGradient.js'
export type { TwoLayerGradientOptions } from './nn/twoLayerGradient.js'
export { twoLayerNet } from './nn/twoLayerNet.js'
export type { TwoLayerNet, TwoLayerNetConfig, TwoLayerParams } from './nn/twoLayerNet.js'
export { twoLayerNetNumericalGradient } from './nn/twoLayerNetNumericalGradient.js'
export type {
  TwoLayerNetNumericalGradientOptions,
  TwoLayerNetWeights,
} from './nn/twoLayerNetNumericalGradient.js'
export type { TwoLayerWeights } from './nn/twoLayerWeights.js'
export { getKernelThreads } from './parallel/getKernelThreads.js'
export { setKernelThreads } from './parallel/setKernelThreads.js'
export { rng, rngFromState } from './random/rng.js'
export type { Rng, RngState } from './random/rng.js'
export { choice, permutation, randn, uniform } from './random/sample.js'
export { fromServerSentStates, ServerSentStatesError } from './remote/fromServerSentStates.js'
export type { ServerSentStatesOptions } from './remote/fromServerSentStates.js'
export { exposeTraining } from './remote/exposeTraining.js'
export type { TrainingFactory, WorkerControls } from './remote/exposeTraining.js'
export { sampleFrames } from './remote/sampleFrames.js'
export { toStore } from './remote/toStore.js'
export type { ObservableStore } from './remote/toStore.js'
export { trainInWorker, WorkerRunError } from './remote/trainInWorker.js'
export type { WorkerLike, WorkerRun } from './remote/trainInWorker.js'
export { CHECKPOINT_VERSION, checkpoint, restore } from './state/checkpoint.js'
export {
  ParamsC,
  PlainDataC,
  RngStateC,
  StopReasonC,
  TensorC,
  TrainStateC,
  anyNumber,
  arrayOf,
  booleanC,
  finiteNumber,
  functionC,
  int32,
  integerIn,
  nonNegativeInteger,
  nonNegativeNumber,
  nullable,
  numberIn,
  oneOf,
  positiveInteger,
  positiveNumber,
  recordOf,
  strictType,
  stringC,
  where,
} from './state/codecs.js'
export { decode, report } from './state/decode.js'
export { JsonDataError, fromJson, toJson } from './state/json.js'
export type { Json } from './state/json.js'
export { resume } from './state/resume.js'
export type { ResumeConfig } from './state/resume.js'
export {
  WIRE_VERSION,
  decodeWireLine,
  encodeWireLine,
  toWireFrame,
  wireFrame,
} from './state/wireFormat.js'
export type { ToWireFrameOptions, WireFrame } from './state/wireFormat.js'
export { freezeTree } from './state/freeze.js'
export type {
  Evaluated,
  Perturbed,
  ProbeSet,
  StopReason,
  TrainState,
  WithGradient,
} from './state/types.js'
export {
  add,
  argmax,
  broadcastShape,
  clone,
  div,
  exp,
  fromData,
  full,
  fullLike,
  gemm,
  getKernelBackend,
  isTensor,
  item,
  log,
  map,
  matmul,
  matmulInto,
  max,
  mean,
  mul,
  neg,
  ones,
  onesLike,
  pairwiseSum,
  reshape,
  setKernelBackend,
  sizeOf,
  sub,
  sum,
  tensor,
  toArray,
  transpose,
  zeros,
  zerosLike,
  zipWith,
} from './tensor/index.js'
export type { KernelBackend, MatmulOptions, NestedArray, Operand, Tensor } from './tensor/index.js'
export { train } from './train.js'
export type { TrainConfig } from './train.js'
export {
  assertParams,
  flatten,
  globalNorm,
  mapTree,
  pathAt,
  treeSize,
  unflatten,
  unravel,
  visit,
  zerosLikeTree,
  zipTree,
} from './tree/index.js'
export type { Params, TreePath } from './tree/index.js'
