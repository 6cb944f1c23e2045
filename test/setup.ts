import fc from 'fast-check'

// One place for the number of runs and the seed of every property. `npm test` (and so CI) uses a
// fixed seed, so a run is reproducible and a red CI means the code changed, not the dice. To
// explore, draw a fresh seed: `FC_SEED=random npm test` (it is printed with any failure, and
// `FC_SEED=<that seed>` replays it). fast-check prints the seed and path of a failure, so it can
// also be replayed with `{ seed, path, endOnFailure: true }`.
const seedVar = process.env.FC_SEED ?? '20261206'
const seed = seedVar === 'random' ? Date.now() % 2 ** 31 : Number(seedVar)
if (!Number.isSafeInteger(seed))
  throw new Error(`FC_SEED: expected an integer or "random", got ${JSON.stringify(seedVar)}`)
if (seedVar === 'random') console.log(`fast-check seed ${seed} (replay: FC_SEED=${seed})`)
fc.configureGlobal({ numRuns: Number(process.env.FC_NUM_RUNS ?? 200), seed })
