import { once } from 'node:events'
import { Worker } from 'node:worker_threads'
import { lastValueFrom, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { exposeTraining } from '../../src/remote/exposeTraining.js'
import { trainInWorker, WorkerRunError } from '../../src/remote/trainInWorker.js'
import type { TrainState } from '../../src/state/types.js'
import type { Tensor } from '../../src/tensor/tensor.js'

type S = TrainState<{ x: Tensor }>
const fixture = new URL('./fixtures/quadraticWorker.ts', import.meta.url)

/** Spawns the fixture in worker_threads (tsx compiles it) and remembers every worker made. */
function spawner() {
  const workers: Worker[] = []
  const spawn = () => {
    // tsx compiles the TypeScript fixture inside the worker thread (`--import tsx` in execArgv
    // does not reach worker threads on Node 20, so the worker registers it itself)
    const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(fixture.href)}) })`
    const w = new Worker(boot, { eval: true })
    workers.push(w)
    return w
  }
  return { spawn, workers }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Waits until `read()` has not changed for `quietMs`, failing after `timeoutMs`. */
async function settle<T>(read: () => T, quietMs: number, timeoutMs: number): Promise<T> {
  const t0 = Date.now()
  for (;;) {
    const v = read()
    await sleep(quietMs)
    if (read() === v) return v
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`still changing after ${timeoutMs} ms: ${String(read())}`)
  }
}

describe('trainInWorker (worker_threads)', () => {
  it('receives states, uses a learning rate set mid-run, and unsubscribing ends the worker', async () => {
    const { spawn, workers } = spawner()
    const run = trainInWorker<S>(spawn, { x0: [3, 4], lr: 0.1, steps: 1_000_000 })
    const states: S[] = []
    let setAt = -1
    const enough = new Promise<void>((resolve, reject) => {
      const sub = run.subscribe({
        next: (s) => {
          states.push(s)
          if (s.step === 5) {
            setAt = s.step
            run.setLr(0.25)
          }
          if (s.lr === 0.25 && states.filter((t) => t.lr === 0.25).length === 10) {
            sub.unsubscribe()
            resolve()
          }
        },
        error: reject,
      })
    })
    await enough
    expect(workers).toHaveLength(1)
    const worker = workers[0]
    // unsubscribing terminated the worker: it exits (threadId becomes -1 once it is gone)
    if (worker.threadId !== -1) await once(worker, 'exit')
    expect(worker.threadId).toBe(-1)

    // ordered, consecutive steps from 0
    expect(states.map((s) => s.step)).toEqual(states.map((_, i) => i))
    // params came across as tensors over Float64Array, and the states are frozen again
    expect(states[1].params.x.data).toBeInstanceOf(Float64Array)
    expect(Object.isFrozen(states[1])).toBe(true)
    // before the command: x ← x − 0.1·2x = 0.8x, exactly as the formula written here gives
    expect(Array.from(states[1].params.x.data)).toEqual([3 - 0.1 * 2 * 3, 4 - 0.1 * 2 * 4])
    // the new rate is used from some step after the one that triggered it, never before
    const first = states.findIndex((s) => s.lr === 0.25)
    expect(first).toBeGreaterThan(setAt)
    expect(states.slice(1, first).every((s) => s.lr === 0.1)).toBe(true)
    // and with lr 0.25 each step halves x: x − 0.25·2x = 0.5x
    for (let k = first; k < states.length; k++) {
      const prev = states[k - 1].params.x.data
      expect(Array.from(states[k].params.x.data)).toEqual(Array.from(prev, (v) => v - 0.25 * 2 * v))
    }
  })

  it('pause holds the step counter, resume goes on, stop completes', async () => {
    const { spawn, workers } = spawner()
    const run = trainInWorker<S>(spawn, { x0: [1], lr: 0.01, steps: 1_000_000 })
    let last = -1
    let completed = false
    const done = new Promise<void>((resolve, reject) =>
      run.subscribe({
        next: (s) => (last = s.step),
        error: reject,
        complete: () => ((completed = true), resolve()),
      }),
    )
    while (last < 3) await sleep(10)
    run.pause()
    // states already posted still arrive: wait for a quiet 150 ms (a running worker steps every
    // ~1 ms, so this only happens once it is paused), then check that it stays put
    const held = await settle(() => last, 150, 10_000)
    await sleep(300)
    expect(last).toBe(held)
    run.resume()
    for (let t = 0; t < 100 && last === held; t++) await sleep(50)
    expect(last).toBeGreaterThan(held)
    run.stop()
    await done
    expect(completed).toBe(true)
    expect(workers).toHaveLength(1)
    for (const w of workers) if (w.threadId !== -1) await once(w, 'exit')
    expect(workers.every((w) => w.threadId === -1)).toBe(true)
  })

  it('runs complete by themselves; errors carry the failing step and the last good state', async () => {
    const ok = await lastValueFrom(
      trainInWorker<S>(spawner().spawn, { x0: [1], lr: 0.1, steps: 4 }).pipe(toArray()),
    )
    expect(ok.map((s) => s.step)).toEqual([0, 1, 2, 3, 4])

    const failed = lastValueFrom(
      trainInWorker<S>(spawner().spawn, { x0: [1], lr: 0.1, steps: 10, throwAt: 3 }),
    )
    // the objective is evaluated once per step: its 3rd call computes step 3 (from state 2)
    const e = await failed.then(
      () => null,
      (err: unknown) => err,
    )
    expect(e).toBeInstanceOf(WorkerRunError)
    expect((e as Error).message).toBe('train: step 3: objective failed at evaluation 3')
    const w = e as WorkerRunError<S>
    expect(w.step).toBe(3)
    expect(w.remoteName).toBe('TrainError')
    expect(w.lastState?.step).toBe(2) // the last good state, as received here
    const x1 = 1 - 0.1 * 2 * 1 // x ← x − lr·2x, twice
    expect(Array.from(w.lastState!.params.x.data)).toEqual([x1 - 0.1 * 2 * x1])
  })

  it('validates its arguments', () => {
    expect(() => trainInWorker(undefined as never)).toThrow(
      new TypeError('trainInWorker: spawn: expected a function, got undefined'),
    )
    expect(() => trainInWorker(spawner().spawn).setLr(-1)).toThrow(
      new RangeError('trainInWorker: lr: expected a positive finite number, got -1'),
    )
    expect(() => exposeTraining(3 as never)).toThrow(
      new TypeError('exposeTraining: factory: expected a function, got 3'),
    )
    expect(() => exposeTraining(() => null as never)).toThrow(
      new TypeError("exposeTraining: port: expected a worker's self or parentPort, got undefined"),
    )
  })
})
