/**
 * Why h = 1e-4: the error of the forward and central differences of eˣ at x = 1 as h goes
 * from 1e-1 down to 1e-50. Truncation error falls (like h for forward, h² for central) until
 * rounding error ε·|f|/h takes over; below h ≈ 1e-16 the step vanishes in x + h and the
 * difference is exactly 0 (error = f′ itself), which is what the book's h = 1e-50 returns.
 *
 *   npm run example:step-size   → prints the table, writes examples/out/step-size.svg
 */
import { numericalDiff } from 'gradstream'
import { isMain, plot, writeSvg } from './svg.js'

export interface Row {
  readonly h: number
  readonly forward: number
  readonly central: number
}

export function study(f = Math.exp, x = 1, exact = Math.E): Row[] {
  const rows: Row[] = []
  for (let e = 1; e <= 50; e++) {
    const h = Number(`1e-${e}`)
    rows.push({
      h,
      forward: Math.abs(numericalDiff(f, x, { h, method: 'forward' }) - exact),
      central: Math.abs(numericalDiff(f, x, { h }) - exact),
    })
  }
  return rows
}

export function main(outDir?: string) {
  const rows = study()
  const lines = [
    'error of d/dx eˣ at x = 1 (exact: e)',
    '',
    '      h     forward error   central error',
  ]
  for (const r of rows) {
    lines.push(
      `${r.h.toExponential(0).padStart(7)}  ${r.forward.toExponential(2).padStart(14)}  ${r.central.toExponential(2).padStart(14)}`,
    )
  }
  const best = (k: 'forward' | 'central') => rows.reduce((a, b) => (b[k] < a[k] ? b : a))
  const bf = best('forward')
  const bc = best('central')
  lines.push(
    '',
    `smallest forward error ${bf.forward.toExponential(2)} at h = ${bf.h.toExponential(0)}; central ${bc.central.toExponential(2)} at h = ${bc.h.toExponential(0)}`,
    `at h = 1e-4 the central error is ${rows[3].central.toExponential(2)}; at h = 1e-50, x + h === x, so both differences are 0`,
    `(numericalDiff(0.01x² + 0.1x, 5, { h: 1e-50 }) = ${numericalDiff((t) => 0.01 * t ** 2 + 0.1 * t, 5, { h: 1e-50 })})`,
  )
  // zeros cannot go on a log axis: plot them at the floor 1e-17 (they are exact by luck)
  const floor = (v: number) => Math.max(v, 1e-17)
  const svg = plot({
    title: 'finite-difference error of (eˣ)′ at 1 against the step h',
    xLabel: 'h',
    yLabel: '|error|',
    legend: 'bottom-left',
    logX: true,
    logY: true,
    x: [1e-50, 1e-1],
    y: [1e-17, 10],
    series: [
      {
        points: rows.map((r) => [r.h, floor(r.forward)] as const),
        label: 'forward (f(x+h) − f(x))/h',
      },
      {
        points: rows.map((r) => [r.h, floor(r.central)] as const),
        label: 'central (f(x+h) − f(x−h))/2h',
      },
      {
        points: [
          [1e-4, 1e-17],
          [1e-4, 10],
        ],
        label: 'h = 1e-4',
        color: '#999',
        dashed: true,
      },
    ],
  })
  const file = writeSvg('step-size.svg', svg, outDir)
  lines.push('', `wrote ${file}`)
  return { text: lines.join('\n'), rows, file }
}

if (isMain(import.meta.url)) console.log(main().text)
