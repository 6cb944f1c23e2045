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
} from './tree.js'
export type { Params, TreePath } from './tree.js'
