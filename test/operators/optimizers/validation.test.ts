import { describe, expect, it } from 'vitest'
import { adagrad, adam, adamw, lion, momentum, nesterov, rmsprop, sgd } from 'gradstream/operators'

// Every optimizer checks its arguments when it is built, with the message naming the function
// the user called (the optimizer, for lr and for every option: its options codec decodes them).
const cases: [string, () => unknown, string][] = [
  // name, build, exact message
  ['sgd lr', () => sgd(-0.1), 'sgd: lr: expected a positive finite number, got -0.1'],
  ['momentum lr', () => momentum(0), 'momentum: lr: expected a positive finite number, got 0'],
  [
    'momentum beta',
    () => momentum(0.1, { beta: 1 }),
    'momentum: beta: expected a number in [0, 1), got 1',
  ],
  ['nesterov lr', () => nesterov(NaN), 'nesterov: lr: expected a positive finite number, got NaN'],
  [
    'adagrad lr',
    () => adagrad(Infinity),
    'adagrad: lr: expected a positive finite number, got Infinity',
  ],
  [
    'adagrad eps',
    () => adagrad(0.1, { eps: -1 }),
    'adagrad: eps: expected a non-negative finite number, got -1',
  ],
  [
    'rmsprop decay',
    () => rmsprop(0.1, { decay: 1.5 }),
    'rmsprop: decay: expected a number in [0, 1), got 1.5',
  ],
  [
    'adam lr kind',
    () => adam('0.1' as never),
    'adam: lr: expected a number, a schedule (step) => number or an Observable<number>, got "0.1"',
  ],
  ['adam b2', () => adam(0.1, { b2: -0.5 }), 'adam: b2: expected a number in [0, 1), got -0.5'],
  [
    'adamw weightDecay',
    () => adamw(0.1, { weightDecay: -1 }),
    'adamw: weightDecay: expected a non-negative finite number, got -1',
  ],
  [
    'adamw mask',
    () => adamw(0.1, { mask: 'W' as never }),
    'adamw: mask: expected a function (path, leaf) => boolean or a tree of booleans, got "W"',
  ],
  // the positional forms of one release ago, still checked the same way
  [
    'momentum beta, positional',
    () => momentum(0.1, 1),
    'momentum: beta: expected a number in [0, 1), got 1',
  ],
  [
    'adagrad eps, positional',
    () => adagrad(0.1, -1),
    'adagrad: eps: expected a non-negative finite number, got -1',
  ],
  [
    'rmsprop eps, positional',
    () => rmsprop(0.1, 0.9, -1),
    'rmsprop: eps: expected a non-negative finite number, got -1',
  ],
  [
    'nesterov beta, positional',
    () => nesterov(0.1, -0.1),
    'nesterov: beta: expected a number in [0, 1), got -0.1',
  ],
  // several problems: one line each, the kind of the first
  [
    'adam b1 and an unknown key',
    () => adam(0.1, { b1: 1, beta2: 0.9 } as never),
    'adam: b1: expected a number in [0, 1), got 1\nadam: options.beta2: expected no such key (known: b1, b2, eps, efficient), got 0.9',
  ],
  ['lion b1', () => lion(0.1, { b1: 1 }), 'lion: b1: expected a number in [0, 1), got 1'],
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
