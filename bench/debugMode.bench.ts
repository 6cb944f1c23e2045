// The cost of debug mode (setDebug(true): each emitted state's arrays copied and compared) on
// W3, the book's training through `train` (784–50–10, batch 100, SGD 0.1, one kernel thread so
// the two arms do the same work). Interleaved in one process: off, on, off, on, … ; medians of
// the training seconds (data loading and the final accuracy excluded), and the load average.
//
//   npx tsx bench/debugMode.bench.ts [iters=2000] [rounds=5]
import { loadavg } from 'node:os'
import { setDebug } from 'gradstream'
import { w3 } from './workloads.bench.js'

const iters = Number(process.argv[2] ?? 2000)
const rounds = Number(process.argv[3] ?? 5)
const times: Record<'off' | 'on', number[]> = { off: [], on: [] }
const losses: Record<'off' | 'on', unknown[]> = { off: [], on: [] }
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]
const load0 = loadavg()[0]
for (let r = 0; r < rounds; r++) {
  for (const arm of r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
    setDebug(arm === 'on')
    const res = await w3({ iters, threads: 1 })
    setDebug(false)
    times[arm].push(res.trainSeconds)
    losses[arm].push(res.loss)
  }
}
const off = median(times.off)
const on = median(times.on)
console.log(
  JSON.stringify({
    iters,
    rounds,
    offSeconds: off,
    onSeconds: on,
    ratio: on / off,
    perStepUsOff: (off / iters) * 1e6,
    perStepUsOn: (on / iters) * 1e6,
    sameLoss: losses.on.every((l, i) => Object.is(l, losses.off[i])),
    load: [load0, loadavg()[0]],
  }),
)
