import type * as t from 'io-ts'
import type { DiffOptionsC } from '../state/configCodecs.js'
/** How to difference: the step and which side(s) of the point to probe (codec `DiffOptionsC`). */
export type DiffOptions = t.TypeOf<typeof DiffOptionsC>

/** What a differentiation function does when `f` returns NaN or ±Infinity (see `DiffOptions`). */
export type NonFinite = 'throw' | 'propagate'

/** Which side(s) of the point a finite difference probes (see `DiffOptions.method`). */
export type DiffMethod = 'central' | 'forward' | 'backward'
