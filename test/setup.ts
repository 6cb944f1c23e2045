import fc from 'fast-check'

// One place for the number of runs of every property (STYLE: no fixed seed is committed, so each
// run explores new cases). fast-check prints the seed and path of a failure: replay it with
// `{ seed, path, endOnFailure: true }`, or replay a whole run with `FC_SEED=<seed> npm test`.
const seedVar = process.env.FC_SEED
const seed = seedVar === undefined ? undefined : Number(seedVar)
if (seed !== undefined && !Number.isSafeInteger(seed))
  throw new Error(`FC_SEED: expected an integer, got ${JSON.stringify(seedVar)}`)
fc.configureGlobal({
  numRuns: Number(process.env.FC_NUM_RUNS ?? 200),
  ...(seed !== undefined ? { seed } : {}),
})
