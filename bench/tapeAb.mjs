// A/B of the tape's gradient call between two source trees, interleaved in one process:
//
//   node bench/tapeAb.mjs <rootA> <rootB> [w5|w3mlp] [calls] [rounds]
//
// Bundles bench/tapeCall.ts of each tree with esbuild (the aliases bench/run.ts uses) into
// bench/out/ab/, loads both, then alternates rounds of `calls` gradient calls (A B, B A, …) on
// one kernel thread; prints CPU µs per call (the process's, all threads) and the median ratio
// B/A, and whether the two agree bit for bit (a checksum of losses and gradients). A root is a
// checkout with node_modules reachable (e.g. `git archive main | tar -x -C /tmp/old` and a
// node_modules symlink).
import { build } from 'esbuild'
import { mkdirSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const [rootA, rootB, kind = 'w5', calls = '100', rounds = '10'] = process.argv.slice(2)
const out = join(here, 'out', 'ab')
mkdirSync(out, { recursive: true })
const files = []
for (const [name, root] of [
  ['a', rootA],
  ['b', rootB],
]) {
  const r = resolve(root)
  const outfile = join(out, `${name}.mjs`)
  await build({
    entryPoints: [join(here, 'tapeCall.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    alias: {
      gradstream: join(r, 'src/index.ts'),
      'gradstream/operators': join(r, 'operators/index.ts'),
      'gradstream/node': join(r, 'src/node.ts'),
    },
    packages: 'external',
    logLevel: 'warning',
  })
  files.push(outfile)
}
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')
const mods = []
for (const f of files) mods.push((await import(pathToFileURL(f).href)).setup(kind))
for (const m of mods) m.run(Math.min(50, Number(calls)))
const cpu = [[], []]
const sums = [[], []]
console.log(`${kind}: ${calls} calls × ${rounds} rounds, load ${load()}`)
for (let r = 0; r < Number(rounds); r++) {
  for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
    const x = mods[i].run(Number(calls))
    cpu[i].push(x.cpu)
    sums[i].push(x.sum)
    const us = (s) => ((1e6 * s) / Number(calls)).toFixed(0)
    console.log(`  ${'AB'[i]} ${us(x.cpu)} µs CPU/call, ${us(x.wall)} µs wall/call`)
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1]
const us = (s) => ((1e6 * s) / Number(calls)).toFixed(0)
console.log(`A median ${us(med(cpu[0]))} µs CPU/call, B median ${us(med(cpu[1]))} µs CPU/call`)
console.log(
  `B/A ${(med(cpu[1]) / med(cpu[0])).toFixed(3)}, same bits: ${sums[0].every((s, k) => s === sums[1][k])}, load ${load()}`,
)
