import { last, lastValueFrom } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { gradientDescent, tensor, type Tensor } from 'gradstream'
import { history } from 'gradstream/operators'

// The book's function_2: x0² + x1² (numpy's x**2 is x*x, as is JS's x ** 2).
const f2 = (x: Tensor) => x.data[0] ** 2 + x.data[1] ** 2
const final = async (lr: number, stepNum: number) => [
  ...(await lastValueFrom(gradientDescent(f2, tensor([-3, 4]), { lr, stepNum }))).params.data,
]

describe('gradientDescent reproduces the book (ch. 4, gradient_method.py) bit for bit', () => {
  it('the doc example: lr 0.1, 100 steps', async () => {
    expect(await final(0.1, 100)).toEqual([-6.111107928998789e-10, 8.148143905314271e-10])
  })

  // The book's printed results, also reproduced by running the book's own gradient_descent
  // with numpy (python3: gradient_descent(function_2, np.array([-3.0, 4.0]), lr, step_num)).
  it.each([
    [0.1, 100, -6.111107928998789e-10, 8.148143905314271e-10],
    [0.1, 20, -0.03458764513817675, 0.04611686018418694],
    [10, 100, -2.5898374737328363e13, -1.2952486168965398e12],
    [1e-10, 100, -2.999999939999995, 3.9999999199999934],
  ])('lr %s, %s steps', async (lr, steps, x0, x1) => {
    const [a, b] = await final(lr, steps)
    expect(a).toBe(x0)
    expect(b).toBe(x1)
  })

  it("history() is the book's x_history plus the final x", async () => {
    // numpy, the book's code: _, h = gradient_descent(function_2, np.array([-3.0, 4.0]), lr=0.1, step_num=20); h.tolist()
    const xHistory = [
      [-3.0, 4.0],
      [-2.399999999999622, 3.200000000000088],
      [-1.9199999999982538, 2.5599999999976717],
      [-1.535999999998758, 2.0479999999971596],
      [-1.228799999998806, 1.6383999999969276],
      [-0.9830399999989332, 1.3107199999975414],
      [-0.7864319999991682, 1.0485759999978548],
      [-0.6291455999992674, 0.8388607999982831],
      [-0.5033164799994578, 0.671088639998648],
      [-0.40265318399962124, 0.5368709119988844],
      [-0.32212254719970757, 0.429496729599129],
      [-0.2576980377597655, 0.34359738367930803],
      [-0.2061584302078091, 0.2748779069434679],
      [-0.16492674416624953, 0.21990232555478195],
      [-0.1319413953330102, 0.17592186044382624],
      [-0.10555311626641178, 0.14073748835506306],
      [-0.0844424930131282, 0.11258999068405529],
      [-0.06755399441050237, 0.09007199254724282],
      [-0.054043195528401713, 0.0720575940377932],
      [-0.04323455642272084, 0.057646075230234024],
    ]
    const path = await lastValueFrom(
      gradientDescent(f2, tensor([-3, 4]), { lr: 0.1, stepNum: 20 }).pipe(history()),
    )
    expect(path).toHaveLength(21)
    expect(path.slice(0, -1).map((p) => [...p.data])).toEqual(xHistory)
    expect([...path[20].data]).toEqual([-0.03458764513817675, 0.04611686018418694])
  })

  it('works on plain arrays too, and never mutates init', async () => {
    const init = [-3, 4]
    const s = await lastValueFrom(
      gradientDescent((x: number[]) => x[0] ** 2 + x[1] ** 2, init, { lr: 0.1 }),
    )
    expect(s.params).toEqual([-6.111107928998789e-10, 8.148143905314271e-10])
    expect(init).toEqual([-3, 4])
    expect(s.step).toBe(100)
    expect(s.stopReason).toEqual({ rule: 'maxSteps', steps: 100 })
    // 2N + 1 evaluations a step: the base point and two probes per coordinate
    expect(s.evaluations).toBe(100 * 5)
  })

  it('defaults to lr 0.01, 100 steps, as the book', async () => {
    const states = await lastValueFrom(gradientDescent(f2, tensor([-3, 4])).pipe(last()))
    expect(states.step).toBe(100)
    expect(states.lr).toBe(0.01)
  })

  it('validates its arguments', () => {
    expect(() => gradientDescent(f2, tensor([1]), { lr: 0 })).toThrow(
      new RangeError('gradientDescent: lr: expected a positive finite number, got 0'),
    )
    expect(() => gradientDescent(f2, tensor([1]), { stepNum: 1.5 })).toThrow(
      new RangeError('gradientDescent: stepNum: expected a non-negative integer, got 1.5'),
    )
    expect(() => gradientDescent(1 as never, tensor([1]))).toThrow(
      new TypeError('gradientDescent: f: expected a function, got 1'),
    )
  })
})
