/**
 * gradstream's pool of worker threads for asynchronous work (piscina), started on first use.
 *
 * Everything Node-specific is imported dynamically, so bundling gradstream for a browser does not
 * pull piscina in. The pool's idle workers do not keep the process alive (piscina unrefs them);
 * `closeWorkers` ends them (tests, or a program that wants its threads back at once).
 *
 * The worker runs this folder's `<name>.js` (built package) or, when gradstream runs from its
 * TypeScript sources (vitest, tsx), `<name>.ts` under tsx's loader.
 */
import type { Piscina } from 'piscina'
import { probeCount, type ProbePlan } from '../nn/twoLayerNetNumericalGradientInternals.js'
import { closers } from './closerInternals.js'

let pool: Promise<Piscina> | null = null
let poolThreads = 0

/** Where a worker module of this folder lives, and the node options it needs to load. */
export async function workerScript(
  name: string,
): Promise<{ filename: string; execArgv: string[] }> {
  const url = import.meta.url
  if (/\.[cm]?ts$/.test(new URL(url).pathname)) {
    const { createRequire } = await import('node:module')
    const { pathToFileURL } = await import('node:url')
    const tsx = pathToFileURL(createRequire(url).resolve('tsx')).href
    return { filename: new URL(`./${name}.ts`, url).href, execArgv: ['--import', tsx] }
  }
  return { filename: new URL(`./${name}.js`, url).href, execArgv: [] }
}

/** The number of threads to use by default: the machine's (os.availableParallelism()). */
export async function defaultThreads(): Promise<number> {
  const os = await import('node:os')
  return os.availableParallelism?.() ?? os.cpus().length
}

/** The probe pool with at least `threads` workers (a smaller one is replaced). */
export function probePool(threads: number): Promise<Piscina> {
  if (pool && poolThreads >= threads) return pool
  const previous = pool
  poolThreads = threads
  pool = (async () => {
    if (previous) await (await previous).destroy()
    const { Piscina } = await import('piscina').catch(() => {
      // an optional peer of gradstream: only the parallel numerical gradient needs it
      throw new Error(
        'twoLayerNetNumericalGradientParallel: piscina: expected the package installed ' +
          '(npm install piscina), got none',
      )
    })
    const { filename, execArgv } = await workerScript('probeWorker')
    return new Piscina({ filename, execArgv, minThreads: threads, maxThreads: threads })
  })()
  return pool
}

/** Ends the probe pool and every registered holder (closeWorkers' body). */
export async function closeAll(): Promise<void> {
  const p = pool
  pool = null
  poolThreads = 0
  for (const close of closers) close()
  if (p) await (await p).destroy()
}

/**
 * Relative cost of one probe of W2 or b2 per sample (two softmax row losses of C terms) against
 * one of W1 or b1 (one Taylor-series difference): 5–8, from per-slice times on MNIST
 * 784–50–10, batch 100 (7 gives four slices within 10% of each other).
 */
const LOGIT_PROBE_COST = 7

/** Tasks per thread: a little slack so that a thread finishing early takes another slice. */
export const TASKS_PER_THREAD = 2

/**
 * `tasks + 1` flat indices 0 = c₀ ≤ c₁ ≤ … = P cutting the probes into slices of about equal
 * estimated cost: a W1[i][·] probe visits the samples where pixel i is non-zero, a b1 probe
 * every sample, a W2 or b2 probe every sample at LOGIT_PROBE_COST.
 */
export function costCuts(plan: ProbePlan, tasks: number): number[] {
  const { D, H, C, N, X } = plan
  const P = probeCount(plan)
  const cum = new Float64Array(P + 1)
  let q = 0
  for (let i = 0; i < D; i++) {
    let nz = 0
    for (let s = 0; s < N; s++) if (X[s * D + i] !== 0) nz++
    for (let j = 0; j < H; j++, q++) cum[q + 1] = cum[q] + nz + 1
  }
  for (let j = 0; j < H; j++, q++) cum[q + 1] = cum[q] + N + 1
  for (let r = 0; r < H * C + C; r++, q++) cum[q + 1] = cum[q] + LOGIT_PROBE_COST * N + 1
  const cuts = [0]
  let at = 0
  for (let k = 1; k < tasks; k++) {
    const goal = (cum[P] * k) / tasks
    while (at < P && cum[at] < goal) at++
    cuts.push(at)
  }
  cuts.push(P)
  return cuts
}
