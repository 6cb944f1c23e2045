import fc from 'fast-check'
import type { Tensor } from 'gradstream'

/**
 * The gradient check's relative error of one parameter tensor, or of several taken as one
 * vector: ‖a − n‖₂ / max(‖a‖₂, ‖n‖₂, floor) (0 when both are zero, as a blank pixel's W1 row
 * is). `floor`: the norm below which a relative error means nothing (a gradient at the
 * numerical side's rounding level, as a dead relu net's is), and the difference counts against
 * it instead.
 */
export function relativeError(a: Tensor | Tensor[], n: Tensor | Tensor[], floor = 0): number {
  let d = 0
  let aa = 0
  let nn = 0
  const as = Array.isArray(a) ? a : [a]
  const ns = Array.isArray(n) ? n : [n]
  as.forEach((at, k) => {
    const nt = ns[k]
    for (let i = 0; i < at.data.length; i++) {
      d += (at.data[i] - nt.data[i]) ** 2
      aa += at.data[i] ** 2
      nn += nt.data[i] ** 2
    }
  })
  const scale = Math.max(Math.sqrt(Math.max(aa, nn)), floor)
  return scale === 0 ? Math.sqrt(d) : Math.sqrt(d) / scale
}

/**
 * `fc.assert` that prints the seed it ran with (pass or fail) and the worst value `run` returned,
 * so a reader sees which draw was checked; a failure throws fast-check's report (seed and path
 * to replay with `{ seed, path, endOnFailure: true }`).
 */
export function assertPrintingSeed<T>(
  name: string,
  arb: fc.Arbitrary<T>,
  run: (v: T) => number,
  params: fc.Parameters<[T]> = {},
): number {
  let worst = 0
  const out = fc.check(
    fc.property(arb, (v) => {
      worst = Math.max(worst, run(v))
    }),
    params,
  )
  console.log(`${name}: seed ${out.seed}, ${out.numRuns} runs, worst ${worst.toExponential(2)}`)
  if (out.failed) throw new Error(fc.defaultReportMessage(out) ?? 'property failed')
  return worst
}
