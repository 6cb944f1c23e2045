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
    const { Piscina } = await import('piscina')
    const { filename, execArgv } = await workerScript('probeWorker')
    return new Piscina({ filename, execArgv, minThreads: threads, maxThreads: threads })
  })()
  return pool
}

/** Other holders of threads (the product helper) register their teardown here. */
export const closers = new Set<() => void>()

/** Ends the probe pool and every registered holder (closeWorkers' body). */
export async function closeAll(): Promise<void> {
  const p = pool
  pool = null
  poolThreads = 0
  for (const close of closers) close()
  if (p) await (await p).destroy()
}
