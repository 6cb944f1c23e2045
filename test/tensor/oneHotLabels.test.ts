import fc from 'fast-check'
import { last, lastValueFrom, pipe, tap } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { randomBatches, train, twoLayerNet, type Tensor } from 'gradstream'
import { gradient, maxSteps, update } from 'gradstream/operators'
import { ad } from '../../src/autodiff/ad.js'
import type { Var } from '../../src/autodiff/tape.js'
import { valueAndGrad } from '../../src/autodiff/valueAndGrad.js'
import { oneHotRows, takeRows } from '../../src/tensor/gatheredRows.js'
import { oneHotLabelsOf } from '../../src/tensor/oneHotLabels.js'
import { expectClose } from '../helpers/expectClose.js'
import { lcg, rowsOf, same } from '../helpers/sparseRows.js'

// A batch of one-hot targets drawn through OneHotRows is a lazy tensor that keeps the rows'
// labels; ad.softmaxCrossEntropy reads the labels, never the rows. Both must be invisible: the
// same bits as the loss on the rows copied plainly (the path W3 took before), and the loss the
// formula gives.

const EPS = Number.EPSILON

/** Labels of `rows` one-hot rows of k entries, logits for a batch of them, and the draws. */
const drawn = fc
  .record({ rows: fc.integer({ min: 1, max: 30 }), k: fc.integer({ min: 2, max: 12 }) })
  .chain(({ rows, k }) =>
    fc.record({
      k: fc.constant(k),
      labels: fc.array(fc.nat({ max: k - 1 }), { minLength: rows, maxLength: rows }),
      idx: fc.array(fc.nat({ max: rows - 1 }), { minLength: 1, maxLength: 20 }),
      // logits with ties and a wide range (the row's max subtracted before exp)
      logits: fc.array(
        fc.oneof(fc.double({ min: -30, max: 30, noNaN: true }), fc.constantFrom(0, -0, 1, 29.5)),
        { minLength: 20 * k, maxLength: 20 * k },
      ),
    }),
  )

/** The targets as `oneHot` writes them: row r's 1 at labels[r], +0 elsewhere. */
function rowsFrom(labels: readonly number[], k: number): Tensor {
  const data = new Float64Array(labels.length * k)
  labels.forEach((l, r) => (data[r * k + l] = 1))
  return { shape: [labels.length, k], data }
}

const lossOf = valueAndGrad((p: { a: Var }, t: Tensor) => ad.softmaxCrossEntropy(p.a, t))

describe('one-hot targets drawn as labels (OneHotRows)', () => {
  it('give ad.softmaxCrossEntropy the bits of the plain rows, and the formula’s loss', () => {
    fc.assert(
      fc.property(drawn, ({ k, labels, idx, logits }) => {
        const t = rowsFrom(labels, k)
        const batch = takeRows(t, idx, 0, idx.length, oneHotRows(t))
        const n = idx.length
        // every row is one-hot: the batch is read as its labels
        expect(oneHotLabelsOf(batch)).toEqual(idx.map((r) => labels[r]))
        const a = { shape: [n, k], data: Float64Array.from(logits.slice(0, n * k)) }
        const lazy = lossOf({ a }, batch)
        const plain = lossOf({ a }, { shape: [n, k], data: rowsOf(t, idx) })
        expect(Object.is(lazy.value, plain.value)).toBe(true)
        expect(same(lazy.grad.a.data, plain.grad.a.data)).toBe(true)
        // the formula, written anew: Lᵢ = ln Σⱼ e^(aᵢⱼ − mᵢ) − (aᵢ꜀ − mᵢ), L = mean Lᵢ,
        // ∂L/∂aᵢⱼ = (softmax(aᵢ)ⱼ − [j = cᵢ]) / n. Each Lᵢ (≤ 60 + ln k) is a sum of k
        // exponentials (each within ε), a log and two subtractions: within (k + 4)·ε·(60 + ln k)
        // of each other however summed, and the mean adds n·ε of itself; the gradient's entries
        // (≤ 1/n) within (k + 3)·ε/n.
        let total = 0
        for (let i = 0; i < n; i++) {
          const row = a.data.subarray(i * k, i * k + k)
          const m = Math.max(...row)
          const e = Array.from(row, (v) => Math.exp(v - m))
          const s = e.reduce((p, v) => p + v, 0)
          const c = labels[idx[i]]
          total += Math.log(s) - (row[c] - m)
          for (let j = 0; j < k; j++) {
            const g = (e[j] / s - (j === c ? 1 : 0)) / n
            expectClose(
              lazy.grad.a.data[i * k + j],
              g,
              { atol: ((k + 3) * EPS) / n },
              `∂a[${i},${j}]`,
            )
          }
        }
        const L = total / n
        expectClose(lazy.value, L, { atol: (k + 4) * EPS * (60 + Math.log(k)) + n * EPS * L }, 'L')
        // its rows, read at last, are the rows themselves
        expect(same(batch.data, rowsOf(t, idx))).toBe(true)
      }),
    )
  })

  it('are rows as before where a row is not one-hot', () => {
    const t = rowsFrom([2, 0, 1], 3)
    t.data[4] = 0.5 // row 1: not one-hot
    const labels = oneHotRows(t)
    expect(oneHotLabelsOf(takeRows(t, [0, 2], 0, 2, labels))).toEqual([2, 1])
    const b = takeRows(t, [0, 1, 2], 0, 3, labels)
    expect(oneHotLabelsOf(b)).toBeUndefined()
    expect(same(b.data, rowsOf(t, [0, 1, 2]))).toBe(true)
  })

  it('train twoLayerNet as the plain rows do, bit for bit, with either loss', async () => {
    const next = lcg(7)
    const rows = 64
    const x = { shape: [rows, 12], data: Float64Array.from({ length: rows * 12 }, next) }
    const t = rowsFrom(
      Array.from({ length: rows }, () => Math.floor((next() + 0.5) * 4)),
      4,
    )
    const plain = (b: Tensor): Tensor => ({ shape: b.shape, data: b.data.slice() })
    for (const loss of ['softmaxCrossEntropy', 'crossEntropy'] as const) {
      const run = async (copy: boolean) => {
        const net = twoLayerNet({ inputSize: 12, hiddenSize: 5, outputSize: 4, seed: 3, loss })
        type P = typeof net.params
        const losses: number[] = []
        let drawnAsLabels = 0
        const final = await lastValueFrom(
          train({
            params: net.params,
            data: randomBatches({ x, t }, { batchSize: 10, seed: 1 }),
            step: pipe(
              gradient((p: P, b: { x: Tensor; t: Tensor }) => {
                if (oneHotLabelsOf(b.t) !== undefined) drawnAsLabels++
                return net.lossAndGradient(p, b.x, copy ? plain(b.t) : b.t)
              }),
              update(0.5),
            ),
          }).pipe(
            maxSteps(30),
            tap((s) => losses.push(s.loss)),
            last(),
          ),
        )
        expect(drawnAsLabels).toBe(30)
        return { losses, params: final.params as P }
      }
      const lazy = await run(false)
      const ref = await run(true)
      expect(same(lazy.losses, ref.losses)).toBe(true)
      for (const k of ['W1', 'b1', 'W2', 'b2'] as const) {
        expect(same(lazy.params[k].data, ref.params[k].data)).toBe(true)
      }
    }
  })
})
