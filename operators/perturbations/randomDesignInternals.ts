import { rng, rngFromState, type Rng, type RngState } from '../../src/random/rng.js'
import type { ProbeSet, TrainState } from '../../src/state/types.js'
import type { ProbeResult } from './perturbationDesign.js'

/**
 * Draws `samples` directions for a random design. Without a `seed` the directions come from the
 * run's generator (`state.rng`, seeded by `train({ seed })`); with one, from the design's own
 * generator kept in `state.opt[slot]` (started from `seed` on first use). Either way the
 * generator's state travels in the state, so a checkpoint resumes the exact stream.
 */
export function drawDirections(
  state: TrainState,
  slot: string,
  seed: number | undefined,
  samples: number,
  n: number,
  draw: (r: Rng) => number,
  make: (directions: Float64Array[]) => ProbeSet,
): ProbeResult {
  const own = seed === undefined ? undefined : (state.opt[slot] as OwnRng | undefined)
  const r =
    seed === undefined
      ? rngFromState(state.rng)
      : own === undefined
        ? rng(seed)
        : rngFromState(own.rng)
  const directions: Float64Array[] = []
  for (let k = 0; k < samples; k++) {
    const u = new Float64Array(n)
    for (let i = 0; i < n; i++) u[i] = draw(r)
    directions.push(u)
  }
  const probes = make(directions)
  if (seed === undefined) return { probes, rng: frozenRngState(r) }
  return {
    probes,
    opt: Object.freeze({ ...state.opt, [slot]: Object.freeze({ rng: frozenRngState(r) }) }),
  }
}

/** The slot a seeded design keeps its generator in. */
interface OwnRng {
  readonly rng: RngState
}

/** `r.state()`, frozen. */
export function frozenRngState(r: Rng): RngState {
  const s = r.state()
  Object.freeze(s.words)
  return Object.freeze(s)
}
