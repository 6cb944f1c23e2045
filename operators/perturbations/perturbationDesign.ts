import type { RngState } from '../../src/random/rng.js'
import type { ProbeSet, TrainState } from '../../src/state/types.js'

/**
 * A perturbation design: where `perturb` should probe the objective around a state's
 * parameters. `probe` is pure: it reads the state (its size, its generator) and returns the
 * probe description plus what changed (the generator after drawing directions, an optimizer
 * slot for a design with its own seed).
 */
export interface PerturbationDesign {
  readonly name: string
  readonly probe: (state: TrainState, n: number) => ProbeResult
}

/** What a design's `probe` returns. */
export interface ProbeResult {
  readonly probes: ProbeSet
  /** the run generator after drawing, when the design drew from it */
  readonly rng?: RngState
  /** the state's `opt`, when the design keeps its own generator there */
  readonly opt?: TrainState['opt']
}
