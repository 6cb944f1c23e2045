import { describe, expect, it } from 'vitest'
import { adagrad, adam, adamw, lion, momentum, nesterov, rmsprop, sgd } from 'gradstream/operators'

// Every optimizer checks its arguments when it is built, with the message naming the function
// (the optimizer for lr, the transform that owns any other hyperparameter).
const cases: [string, () => unknown, string][] = [
  // name, build, exact message
  ['sgd lr', () => sgd(-0.1), 'sgd: lr: expected a positive finite number, got -0.1'],
  ['momentum lr', () => momentum(0), 'momentum: lr: expected a positive finite number, got 0'],
  [
    'momentum beta',
    () => momentum(0.1, 1),
    'scaleByMomentum: beta: expected a number in [0, 1), got 1',
  ],
  ['nesterov lr', () => nesterov(NaN), 'nesterov: lr: expected a positive finite number, got NaN'],
  [
    'adagrad lr',
    () => adagrad(Infinity),
    'adagrad: lr: expected a positive finite number, got Infinity',
  ],
  [
    'adagrad eps',
    () => adagrad(0.1, -1),
    'scaleByAdagrad: eps: expected a non-negative finite number, got -1',
  ],
  [
    'rmsprop decay',
    () => rmsprop(0.1, 1.5),
    'scaleByRms: decay: expected a number in [0, 1), got 1.5',
  ],
  [
    'adam lr kind',
    () => adam('0.1' as never),
    'adam: lr: expected a number, a schedule (step) => number or an Observable<number>, got "0.1"',
  ],
  [
    'adam b2',
    () => adam(0.1, { b2: -0.5 }),
    'scaleByAdam: b2: expected a number in [0, 1), got -0.5',
  ],
  [
    'adamw weightDecay',
    () => adamw(0.1, { weightDecay: -1 }),
    'addDecayedWeights: weightDecay: expected a non-negative finite number, got -1',
  ],
  [
    'adamw mask',
    () => adamw(0.1, { mask: 'W' as never }),
    'addDecayedWeights: mask: expected a function (path, leaf) => boolean or a tree of booleans, got "W"',
  ],
  ['lion b1', () => lion(0.1, { b1: 1 }), 'scaleByLion: b1: expected a number in [0, 1), got 1'],
]

describe('optimizer argument checks', () => {
  it.each(cases)('%s', (_, build, message) => {
    // a wrong kind is a TypeError, a number out of range a RangeError; the message is exact
    const Cls =
      message.includes('expected a number, a schedule') || message.includes('mask:')
        ? TypeError
        : RangeError
    expect(build).toThrow(new Cls(message))
  })
})
