/**
 * The book's ch. 6 comparison (Fig. 6-8, ch06/optimizer_compare_naive.py): SGD, Momentum,
 * AdaGrad and Adam minimising f(x, y) = x²/20 + y² from (−7, 2) for 30 steps, each run as a
 * gradstream training stream with the book's hyperparameters (ε = 1e-7 and Adam's "efficient"
 * form as common/optimizer.py has them). Prints each path and final point and draws the four
 * paths over the contours of f in one SVG.
 *
 *   npm run example:optimizer-comparison   → prints, writes examples/out/optimizer-comparison.svg
 */
import { pipe, toArray } from 'rxjs'
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
import { isMain, plot, type Series, writeSvg } from './svg.js'

type XY = readonly number[]
const f = ([x, y]: XY) => x ** 2 / 20 + y ** 2
/** the analytic gradient (x/10, 2y), with the loss, as `gradient(fn)` takes it */
const df = ([x, y]: XY): [number, XY] => [f([x, y]), [x / 10, 2 * y]]

/** The book's four optimizers and learning rates. */
export const optimizers: Record<string, () => Optimizer> = {
  SGD: () => sgd(0.95),
  Momentum: () => momentum(0.1, { beta: 0.9 }),
  AdaGrad: () => adagrad(1.5, { eps: 1e-7 }),
  Adam: () => adam(0.3, { efficient: true, eps: 1e-7 }),
}

/** The 31 points (start and after each of 30 steps) of one optimizer's path. */
export function path(make: () => Optimizer, steps = 30): XY[] {
  let points: XY[] = []
  train({ params: [-7, 2] as XY, step: pipe(gradient(df), make()) })
    .pipe(maxSteps(steps), toArray())
    .subscribe((states) => (points = states.map((s) => s.params)))
  return points
}

export function main(outDir?: string) {
  const paths: Record<string, XY[]> = {}
  const lines: string[] = ['f(x, y) = x²/20 + y², from (−7, 2), 30 steps', '']
  for (const [name, make] of Object.entries(optimizers)) {
    const p = path(make)
    paths[name] = p
    const fin = p[p.length - 1]
    lines.push(`${name.padEnd(8)} final (${fin[0]}, ${fin[1]})  f = ${f(fin).toExponential(3)}`)
    lines.push(`  path ${p.map(([x, y]) => `(${x.toFixed(3)}, ${y.toFixed(3)})`).join(' ')}`)
  }
  // contours: the ellipses x²/20 + y² = c
  const contours: Series[] = [0.05, 0.25, 0.75, 1.5, 2.5, 4, 6].map((c) => ({
    points: Array.from({ length: 121 }, (_, i): [number, number] => {
      const t = (2 * Math.PI * i) / 120
      return [Math.sqrt(20 * c) * Math.cos(t), Math.sqrt(c) * Math.sin(t)]
    }),
    color: '#ccc',
  }))
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e']
  const svg = plot({
    title: 'SGD, Momentum, AdaGrad, Adam on x²/20 + y² (30 steps from (−7, 2))',
    xLabel: 'x',
    yLabel: 'y',
    x: [-10, 10],
    y: [-3, 3],
    width: 760,
    height: 440,
    series: [
      ...contours,
      ...Object.entries(paths).map(([name, p], i) => ({
        points: p.map(([x, y]): [number, number] => [x, y]),
        label: name,
        color: colors[i],
      })),
      { points: [[0, 0]], style: 'points' as const, color: '#000' },
    ],
  })
  const file = writeSvg('optimizer-comparison.svg', svg, outDir)
  lines.push('', `wrote ${file}`)
  const text = lines.join('\n')
  return { text, paths, file }
}

if (isMain(import.meta.url)) console.log(main().text)
