import { describe, expect, it } from 'vitest'
import {
  crossEntropyError,
  meanSquaredError,
  ShapeError,
  softmax,
  softmaxCrossEntropy,
  tensor,
} from 'gradstream'

// the book's examples (§4.2.1–4.2.2): the target is class 2
const t = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
const yGood = [0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]
const yBad = [0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0]

describe('meanSquaredError', () => {
  it('reproduces the book', () => {
    // the book prints 0.097500000000000031 (NumPy's repr: 0.09750000000000003) and 0.5975
    expect(meanSquaredError(yGood, t)).toBe(0.09750000000000003)
    expect(meanSquaredError(yBad, t)).toBe(0.5975)
  })

  it('needs equal shapes', () => {
    expect(() => meanSquaredError(yGood, t.slice(1))).toThrow(
      new ShapeError('meanSquaredError: shapes [10] and [9] differ'),
    )
  })
})

describe('crossEntropyError', () => {
  it('reproduces the book', () => {
    expect(crossEntropyError(yGood, t)).toBe(0.510825457099338)
    expect(crossEntropyError(yBad, t)).toBe(2.302584092994546)
  })

  it('takes label indices as well as one-hot rows', () => {
    expect(crossEntropyError(yGood, 2)).toBe(0.510825457099338)
    expect(crossEntropyError(yBad, [2])).toBe(2.302584092994546)
    const y = [yGood, yBad]
    expect(crossEntropyError(y, [2, 2])).toBe(crossEntropyError(y, [t, t]))
  })

  it('is the batch mean −Σ t·log(y + 1e-7) / N', () => {
    const y = [
      [0.2, 0.8],
      [0.6, 0.4],
    ]
    const expected = -(Math.log(0.8 + 1e-7) + Math.log(0.6 + 1e-7)) / 2
    expect(crossEntropyError(y, [1, 0])).toBe(expected)
  })

  it('stays finite at y = 0 thanks to δ = 1e-7', () => {
    expect(crossEntropyError([1, 0], 1)).toBe(-Math.log(1e-7))
  })

  it('rejects targets of the wrong width and bad labels', () => {
    const y = tensor([
      [0.2, 0.3, 0.5],
      [0.1, 0.1, 0.8],
    ])
    expect(() =>
      crossEntropyError(
        y,
        tensor([
          [1, 0, 0, 0],
          [0, 1, 0, 0],
        ]),
      ),
    ).toThrow(
      new ShapeError(
        'crossEntropyError: t: expected shape [2,3] (one-hot) or [2] (labels) to match y [2,3], got [2,4]',
      ),
    )
    expect(() => crossEntropyError(yGood, t.slice(1))).toThrow(
      new ShapeError(
        'crossEntropyError: t: expected shape [10] (one-hot) or [] (labels) to match y [10], got [9]',
      ),
    )
    expect(() => crossEntropyError(y, [0, 3])).toThrow(
      new RangeError('crossEntropyError: t[1]: expected an integer label in [0, 2], got 3'),
    )
    expect(() => crossEntropyError(yGood, 1.5)).toThrow(
      new RangeError('crossEntropyError: t: expected an integer label in [0, 9], got 1.5'),
    )
    expect(() => crossEntropyError([[0.5, 0.5], [1]], [0, 1])).toThrow(
      new ShapeError('crossEntropyError: y: ragged nested array: at [1] expected length 2, got 1'),
    )
    expect(() => crossEntropyError([0.5, 0.5], ['a'] as never)).toThrow(
      new TypeError('crossEntropyError: t: at [0]: expected a number, got "a"'),
    )
    expect(() => crossEntropyError(tensor([[[1]]]), 0)).toThrow(
      new ShapeError('crossEntropyError: y: expected shape [C] or [N,C], got [1,1,1]'),
    )
  })
})

describe('softmaxCrossEntropy', () => {
  it('is log Σ exp(z) − z_target', () => {
    expect(softmaxCrossEntropy([[2, 1, 0]], [0])).toBe(Math.log(1 + Math.exp(-1) + Math.exp(-2)))
  })

  it('agrees with crossEntropyError(softmax(z), t) up to the δ = 1e-7 the latter adds', () => {
    const z = [
      [0.3, 2.9, 4.0],
      [1, -1, 0.5],
    ]
    const y = softmax(z)
    const a = softmaxCrossEntropy(z, [0, 2])
    const b = crossEntropyError(y, [0, 2])
    // −log(y + δ) = −log y − log(1 + δ/y) exactly, so the means differ by mean(log1p(δ/y));
    // what is left is rounding: a few ε times the losses (≈ 4), below 1e-14
    const d = (Math.log1p(1e-7 / y.data[0]) + Math.log1p(1e-7 / y.data[5])) / 2
    expect(Math.abs(a - b - d)).toBeLessThan(1e-14)
  })

  it('stays exact where softmax underflows', () => {
    expect(softmaxCrossEntropy([1000, 0, 0], 2)).toBe(1000)
    expect(crossEntropyError(softmax([1000, 0, 0]), 2)).toBe(-Math.log(1e-7))
  })

  it('rejects targets of the wrong width', () => {
    expect(() => softmaxCrossEntropy([[1, 2, 3]], [[0, 1]])).toThrow(
      new ShapeError(
        'softmaxCrossEntropy: t: expected shape [1,3] (one-hot) or [1] (labels) to match y [1,3], got [1,2]',
      ),
    )
  })
})
