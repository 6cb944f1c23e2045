import { pipe, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { train } from 'gradstream'
import {
  adagrad,
  adam,
  gradient,
  maxSteps,
  momentum,
  type Optimizer,
  sgd,
} from 'gradstream/operators'
import { expectClose } from '../../helpers/expectClose.js'

// The book's ch. 6 comparison (optimizer_compare_naive.py with common/optimizer.py), run by
//   python3 bench/reference/book_optimizer_compare.py      (numpy 2.4.6)
// which prints (final x, y after 30 steps from (-7, 2) on f = x²/20 + y²):
//   SGD final -0.3503929957523197 0.0847823165504322
//   Momentum final 0.896413858493733 0.08808560171506971
//   AdaGrad final -0.12016232231416045 2.486389893984459e-17
//   Adam final 0.13600685239498186 0.31824537553721943
const book = {
  SGD: [-0.3503929957523197, 0.0847823165504322],
  Momentum: [0.896413858493733, 0.08808560171506971],
  AdaGrad: [-0.12016232231416045, 2.486389893984459e-17],
  Adam: [0.13600685239498186, 0.31824537553721943],
}
// and the first steps of its paths (x_history[1..3], y_history[1..3]):
//   Momentum x_history [-7.0, -6.93, -6.7977, -6.610653, …]  y_history [2.0, 1.6, 0.9199999999999999, 0.12399999999999967, …]
//   Adam x_history [-7.0, -6.700001355255732, -6.400416624043272, …] y_history [2.0, 1.700000237170637, 1.4022457408988034, …]

type XY = readonly number[]
const df = ([x, y]: XY): [number, XY] => [x ** 2 / 20 + y ** 2, [x / 10, 2 * y]]

function run(opt: Optimizer): XY[] {
  let out: XY[] = []
  train({ params: [-7, 2] as XY, step: pipe(gradient(df), opt) })
    .pipe(maxSteps(30), toArray())
    .subscribe((s) => (out = s.map((x) => x.params)))
  return out
}

describe("the book's ch. 6 optimizer comparison, through train", () => {
  it('SGD (lr 0.95) and Momentum (lr 0.1) end where the book does, bit for bit', () => {
    expect(run(sgd(0.95))[30]).toEqual(book.SGD)
    const m = run(momentum(0.1))
    expect(m[30]).toEqual(book.Momentum)
    expect(m.slice(1, 4)).toEqual([
      [-6.93, 1.6],
      [-6.7977, 0.9199999999999999],
      [-6.610653, 0.12399999999999967],
    ])
  })

  it('AdaGrad (lr 1.5, ε 1e-7) ends where the book does', () => {
    // The book computes p −= (lr·g)/(√h + ε), gradstream p + (−lr)·(g/(√h + ε)): one rounding
    // differs per step. Both coordinates contract each step (y by ~0.27), which damps earlier
    // differences, so 30 steps stay within a few ulp; 1e-12 relative is the bound.
    // (On this run they agree bit for bit.)
    const [x, y] = run(adagrad(1.5, 1e-7))[30]
    expectClose(x, book.AdaGrad[0], { rtol: 1e-12 }, 'x')
    expectClose(y, book.AdaGrad[1], { rtol: 1e-12 }, 'y')
  })

  it("Adam (lr 0.3, the book's efficient form with ε 1e-7) ends where the book does", () => {
    // The book updates m += (1−β1)(g − m) and folds lr into lr_t; gradstream computes
    // β1·m + (1−β1)·g and applies lr last: a few roundings differ per step, ~1e-15 relative
    // after 30 steps (measured 4.5e-15), inside the 1e-12.
    const p = run(adam(0.3, { efficient: true, eps: 1e-7 }))
    expectClose(p[30][0], book.Adam[0], { rtol: 1e-12 }, 'x')
    expectClose(p[30][1], book.Adam[1], { rtol: 1e-12 }, 'y')
    expectClose(p[1][0], -6.700001355255732, { rtol: 1e-14 }, 'x1')
    expectClose(p[2][1], 1.4022457408988034, { rtol: 1e-14 }, 'y2')
  })

  it("the standard (torch) Adam form differs from the book's visibly: ε placement matters at step 1", () => {
    // |g| = 0.7 and 4 at step 1: the efficient form's ε̂ = 1e-7 sits beside √ν = √(0.001)·|g|,
    // i.e. ε/(√(1−β2)·|g|) ≈ 4.5e-6 relative for x, far above rounding
    const std = run(adam(0.3, { eps: 1e-7 }))[1]
    const eff = run(adam(0.3, { eps: 1e-7, efficient: true }))[1]
    expect(Math.abs(std[0] - eff[0])).toBeGreaterThan(1e-7)
  })
})
