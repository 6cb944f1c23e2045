export { add, broadcastShape, div, exp, log, map, mul, neg, sub, zipWith } from './elementwise.js'
export type { Operand } from './elementwise.js'
export { getKernelBackend } from './kernels/getKernelBackend.js'
export type { KernelBackend } from './kernels/gemmKernel.js'
export { setKernelBackend } from './kernels/setKernelBackend.js'
export { gemm, matmul, matmulInto, transpose } from './linalg.js'
export type { MatmulOptions } from './linalg.js'
export { argmax, max, mean, pairwiseSum, sum } from './reduce.js'
export {
  clone,
  fromData,
  full,
  fullLike,
  isTensor,
  item,
  ones,
  onesLike,
  reshape,
  sizeOf,
  tensor,
  toArray,
  zeros,
  zerosLike,
} from './tensor.js'
export type { NestedArray, Tensor } from './tensor.js'
