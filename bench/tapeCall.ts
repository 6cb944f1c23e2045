// The tape's gradient call alone, on one kernel thread, for A/B runs of two builds in one
// process (bench/tapeAb.mjs): W5's mlp 784–256–128–10 (ReLU, He, batch 128) or W3's mlp
// 784–50–10 (sigmoid, init 0.01, batch 100), over the first `count` batches of an epoch, drawn
// once (the rows compressed before timing), parameters fixed. `run(calls)` returns the CPU and
// wall seconds of `calls` gradient calls and a checksum of the losses and gradients (the two
// builds must agree bit for bit).
import { epochBatches, mlp, randomBatches, setKernelThreads, type Tensor } from 'gradstream'
import { loadMnist } from 'gradstream/node'

export function setup(kind: 'w5' | 'w3mlp', count = 64) {
  setKernelThreads(1)
  const mnist = loadMnist({ oneHotLabel: true })
  const w5 = kind === 'w5'
  const net = w5
    ? mlp({ sizes: [784, 256, 128, 10], seed: 0 })
    : mlp({ sizes: [784, 50, 10], activation: 'sigmoid', init: 0.01, seed: 0 })
  const source = w5
    ? epochBatches(mnist.train, { batchSize: 128, seed: 0 })
    : randomBatches(mnist.train, { batchSize: 100, seed: 0 })
  const batches: { x: Tensor; t: Tensor }[] = []
  for (const b of source as Iterable<{ x: Tensor; t: Tensor }>) {
    batches.push(b)
    if (batches.length === count) break
  }
  const params = net.params
  const run = (calls: number) => {
    let sum = 0
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    for (let i = 0; i < calls; i++) {
      const b = batches[i % batches.length]
      const { loss, grad } = net.lossAndGradient(params, b.x, b.t)
      sum += loss + grad.W1.data[i % grad.W1.data.length] + grad.b1.data[0]
    }
    const wall = (performance.now() - t0) / 1000
    const c = process.cpuUsage(c0)
    return { cpu: (c.user + c.system) / 1e6, wall, sum }
  }
  return { run }
}
