/**
 * Evaluations per second of `numericalGradient` (central differences, 2 evaluations per
 * coordinate) on the book's simpleNet (dW of a 2×3 W) and on x0² + x1², against the book's
 * NumPy `numerical_gradient` (bench/numerical_gradient.py) measured in the same run when python3
 * and numpy are present. Self-contained: `npx tsx bench/numericalGradient.bench.ts [seconds]`.
 * Adds one line to its own section of bench/RESULTS.md. Not a test: nothing here asserts a time.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { numericalGradient, simpleNet, tensor } from 'gradstream'

const here = dirname(fileURLToPath(import.meta.url))
const seconds = Number(process.argv[2] ?? 1)

/** Evaluations per second of `gradient()`, which makes `evals` evaluations, over `seconds`. */
function rate(gradient: () => unknown, evals: number): number {
  for (let i = 0; i < 2000; i++) gradient() // warm up the JIT
  let calls = 0
  const start = performance.now()
  for (;;) {
    gradient()
    calls += evals
    const elapsed = (performance.now() - start) / 1000
    if (elapsed >= seconds) return calls / elapsed
  }
}

const net = simpleNet([
  [0.47355232, 0.9977393, 0.84668094],
  [0.85557411, 0.03563661, 0.69422093],
])
const x = tensor([0.6, 0.9])
const t = tensor([0, 0, 1])
const f2 = (v: readonly number[]) => v[0] ** 2 + v[1] ** 2
const ours = {
  // the book's `numerical_gradient(lambda w: net.loss(x, t), net.W)`: 2 evaluations × 6 weights
  simpleNet: rate(() => net.numericalGradient(x, t), 12),
  // the book's `numerical_gradient(function_2, np.array([3.0, 4.0]))`: 2 × 2
  sumOfSquares: rate(() => numericalGradient(f2, [3, 4]), 4),
}

let peer: { simpleNet: number; sumOfSquares: number; numpy: string } | null = null
try {
  execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' })
  const out = execFileSync('python3', [join(here, 'numerical_gradient.py'), String(seconds)], {
    encoding: 'utf8',
  })
  peer = JSON.parse(out.trim().split('\n').pop()!)
} catch {
  console.log('python3 with numpy not found: skipping the NumPy peer')
}

const fmt = (v: number) => `${Math.round(v / 1e3)}k/s`
const rows = (['simpleNet', 'sumOfSquares'] as const).map((k) => {
  const ratio = peer ? ours[k] / peer[k] : NaN
  return { k, ours: ours[k], numpy: peer?.[k], ratio }
})
console.log('numericalGradient, evaluations per second (central differences, h = 1e-4)')
for (const r of rows) {
  console.log(
    `  ${r.k.padEnd(13)} gradstream ${fmt(r.ours).padStart(11)}` +
      (r.numpy === undefined
        ? ''
        : `   numpy ${fmt(r.numpy).padStart(11)}   ratio ${r.ratio.toFixed(1)}×`),
  )
}

const date = new Date().toISOString().slice(0, 16).replace('T', ' ')
const line =
  `- ${date} UTC (${cpus()[0]?.model ?? 'cpu'}, node ${process.version}` +
  `${peer ? `, numpy ${peer.numpy}` : ''}): ` +
  rows
    .map(
      (r) =>
        `${r.k} ${fmt(r.ours)}` +
        (r.numpy === undefined ? '' : ` vs numpy ${fmt(r.numpy)} (${r.ratio.toFixed(1)}×)`),
    )
    .join('; ') +
  ` — \`npx tsx bench/numericalGradient.bench.ts ${seconds}\``
const results = join(here, 'RESULTS.md')
// Our lines live in their own section above `<!-- results -->` (everything below that marker
// belongs to `npm run bench -- --write`, which replaces it).
const heading = '## numericalGradient, evaluations per second (`bench/numericalGradient.bench.ts`)'
const marker = '<!-- results -->'
let doc = existsSync(results) ? readFileSync(results, 'utf8') : '# Benchmarks\n\n'
if (!doc.includes(heading)) {
  const at = doc.indexOf(marker)
  const section = `${heading}\n\n`
  doc = at >= 0 ? doc.slice(0, at) + section + doc.slice(at) : `${doc.trimEnd()}\n\n${section}`
}
const after = doc.indexOf(heading) + heading.length
// the section ends at the next heading or the marker, whichever comes first
const rest = doc.slice(after)
const stops = [rest.indexOf('\n## '), rest.indexOf(marker)].filter((i) => i >= 0)
const end = stops.length > 0 ? after + Math.min(...stops) : doc.length
const body = doc.slice(after, end).trim()
doc =
  doc.slice(0, after) +
  '\n\n' +
  (body ? `${body}\n` : '') +
  line +
  '\n\n' +
  doc.slice(end).replace(/^\n+/, '')
writeFileSync(results, doc)
console.log(`added a line to ${results}`)
