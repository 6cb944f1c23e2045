// A/B of W5's batch path between two source trees, both loaded in one process (tsx), rounds
// alternated A B, B A, …, one kernel thread, CPU ms (the process's user + system time):
// - draw + gradient call: a fresh `epochBatches` epoch each round (every row cold, as in W5's
//   one epoch), each batch drawn and then `net.lossAndGradient` on it, as `train` does;
// - predict: `net.predict` on MNIST's 10,000 test images (mlp's logits in blocks of rows).
// Prints medians, page faults a step, and whether both trees give the same losses and
// predictions bit for bit.
//
//   npx tsx bench/w5BatchAb.ts TREE_A TREE_B [steps=100] [rounds=10]
//
// A tree is a checkout with node_modules reachable (e.g. `git archive <ref> | tar -x -C /tmp/a`
// and a node_modules symlink). Asserts nothing.
import { loadavg } from 'node:os'
import { resolve } from 'node:path'

const [a, b, steps = '100', rounds = '10'] = process.argv.slice(2)
if (b === undefined)
  throw new Error('usage: npx tsx bench/w5BatchAb.ts TREE_A TREE_B [steps] [rounds]')
const roots = [resolve(a), resolve(b)]
const libs = []
for (const r of roots) {
  libs.push({ ...(await import(r + '/src/index.ts')), ...(await import(r + '/src/node.ts')) })
}
const mnist = libs[0].loadMnist({ oneHotLabel: true })
const nets = libs.map((l) => {
  l.setKernelThreads(1)
  return l.mlp({ sizes: [784, 256, 128, 10], seed: 0 })
})
const cpu = () => {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1000
}
const faults = () => process.resourceUsage().minorPageFault
const n = Number(steps)
const res = roots.map(() => ({ step: [] as number[], f: [] as number[], predict: [] as number[] }))
const sums: number[][] = [[], []]
const preds: Float64Array[] = []
const load0 = loadavg()[0]
for (let r = 0; r < Number(rounds); r++) {
  for (const i of r % 2 ? [1, 0] : [0, 1]) {
    const it = libs[i].epochBatches(mnist.train, { batchSize: 128, seed: 100 + r })
    const batches = it[Symbol.iterator]()
    const c0 = cpu()
    const f0 = faults()
    let s = 0
    for (let k = 0; k < n; k++) {
      const batch = batches.next().value
      s += nets[i].lossAndGradient(nets[i].params, batch.x, batch.t).loss
    }
    res[i].step.push((cpu() - c0) / n)
    res[i].f.push((faults() - f0) / n)
    sums[i].push(s)
    const c1 = cpu()
    const y = nets[i].predict(nets[i].params, mnist.test.x)
    res[i].predict.push(cpu() - c1)
    if (r === 0) preds[i] = y.data
  }
}
const med = (x: number[]) => [...x].sort((p, q) => p - q)[x.length >> 1]
const same =
  sums[0].every((s, k) => s === sums[1][k]) && preds[0].every((v, q) => Object.is(v, preds[1][q]))
console.log(
  `W5 batch path, one kernel thread, CPU ms, medians of ${rounds} rounds (${n} cold steps each), ` +
    `load ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}`,
)
for (const [i, r] of roots.entries()) {
  console.log(
    `  ${'AB'[i]} draw + gradient call ${med(res[i].step).toFixed(3)} a step ` +
      `(${med(res[i].f).toFixed(1)} page faults a step); predict 10k ${med(res[i].predict).toFixed(1)}  ${r}`,
  )
}
console.log(
  `  B/A draw + call ${(med(res[1].step) / med(res[0].step)).toFixed(3)}, predict ` +
    `${(med(res[1].predict) / med(res[0].predict)).toFixed(3)}; same bits: ${same}`,
)
