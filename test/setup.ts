import fc from 'fast-check'

// One place for the number of runs of every property; fast-check prints the seed and path of a
// failure so it can be replayed with `{ seed, path, endOnFailure: true }`.
fc.configureGlobal({ numRuns: Number(process.env.FC_NUM_RUNS ?? 200) })
