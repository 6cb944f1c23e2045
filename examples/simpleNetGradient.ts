/**
 * The book's §4.4.2: simpleNet's loss and the numerical gradient dW of the loss with respect to
 * its 2×3 weight matrix, with the book's W, x = (0.6, 0.9) and t = class 2; then the same
 * against the analytic gradient xᵀ(softmax(x·W) − t).
 *
 *   npm run example:simple-net-gradient
 */
import { simpleNet, softmax, toArray } from 'gradstream'
import { isMain } from './svg.js'

export function main() {
  const net = simpleNet([
    [0.47355232, 0.9977393, 0.84668094],
    [0.85557411, 0.03563661, 0.69422093],
  ])
  const x = [0.6, 0.9]
  const t = [0, 0, 1]
  const p = net.predict(x)
  const loss = net.loss(x, t)
  const dW = net.numericalGradient(x, t)
  const y = softmax(p).data
  const analytic = x.map((xi) => [0, 1, 2].map((j) => xi * (y[j] - t[j])))
  const rows = (m: unknown) => (m as number[][]).map((r) => `  [${r.join(', ')}]`).join('\n')
  const text = [
    `W =\n${rows(toArray(net.W))}`,
    `predict(x) = x·W = [${[...p.data].join(', ')}]`,
    `argmax = ${[...p.data].indexOf(Math.max(...p.data))}`,
    `loss = ${loss}`,
    `dW (numerical) =\n${rows(toArray(dW))}`,
    `dW (analytic xᵀ(softmax(xW) − t), no δ) =\n${rows(analytic)}`,
  ].join('\n')
  return { text, loss, dW: toArray(dW) as number[][] }
}

if (isMain(import.meta.url)) console.log(main().text)
