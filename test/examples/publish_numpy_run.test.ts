// Smoke test of examples/python/publish_numpy_run.py: a trainer in another language publishes in
// gradstream's wire format and gradstream's own decoder and client read it. Tests must not need
// python, so without python3 + numpy this skips with a notice.
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { lastValueFrom, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { fromServerSentStates } from '../../src/remote/fromServerSentStates.js'
import { decodeWireLine } from '../../src/state/wireFormat.js'
import { expectClose } from '../helpers/expectClose.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const script = 'examples/python/publish_numpy_run.py'
const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0
if (!hasNumpy) console.warn(`${script}: SKIPPED: python3 with numpy is not available`)

/** The same regression written anew here: least squares on y = 3x + 1 + 0.1·sin 7x, 64 points. */
function reference(steps: number, lr: number) {
  const x = Array.from({ length: 64 }, (_, i) => -1 + (2 * i) / 63)
  const y = x.map((v) => 3 * v + 1 + 0.1 * Math.sin(7 * v))
  let [w, b] = [0, 0]
  const losses: number[] = []
  for (let k = 1; k <= steps; k++) {
    const r = x.map((v, i) => w * v + b - y[i])
    losses.push(r.reduce((s, v) => s + v * v, 0) / 64)
    const gw = (2 * r.reduce((s, v, i) => s + v * x[i], 0)) / 64
    const gb = (2 * r.reduce((s, v) => s + v, 0)) / 64
    ;[w, b] = [w - lr * gw, b - lr * gb]
  }
  return { losses, w, b }
}

describe.skipIf(!hasNumpy)('examples/python/publish_numpy_run.py', () => {
  it('writes JSON lines that decode as wire frames with the regression the formula gives', () => {
    const out = spawnSync('python3', [script, '--jsonl', '--steps', '40', '--lr', '0.1'], {
      cwd: root,
      encoding: 'utf8',
    })
    expect(out.status).toBe(0)
    const frames = out.stdout.trim().split('\n').map(decodeWireLine)
    expect(frames.map((f) => f.step)).toEqual(Array.from({ length: 41 }, (_, i) => i))
    expect(frames[0].loss).toBeNaN()
    const ref = reference(40, 0.1)
    // numpy's mean sums pairwise, this loop left to right: both are within 64·2⁻⁵³ relative of
    // the exact sum per step, and gradient descent with lr 0.1 here is a contraction, so the
    // differences stay at that size: 1e-12 relative leaves a wide margin
    frames
      .slice(1)
      .forEach((f, i) =>
        expectClose(f.loss, ref.losses[i], { atol: 0, rtol: 1e-12 }, `loss@${f.step}`),
      )
    const w = (frames[40].params as unknown as { w: { data: Float64Array } }).w.data
    expectClose(w[0], ref.w, { atol: 0, rtol: 1e-12 }, 'slope')
    expectClose(w[1], ref.b, { atol: 0, rtol: 1e-12 }, 'intercept')
    expect(frames[40].run).toBe('numpy')
  })

  it('serves Server-Sent Events that fromServerSentStates reads to the end', async () => {
    const child = spawn(
      'python3',
      [script, '--port', '0', '--steps', '60', '--every', '5', '--linger', '0.3'],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    const url = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        const m = /serving (\S+)/.exec(out)
        if (m) resolve(m[1])
      })
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)))
    })
    const frames = await lastValueFrom(fromServerSentStates(url).pipe(toArray()))
    const code = await new Promise<number | null>((r) =>
      child.exitCode !== null ? r(child.exitCode) : child.once('exit', r),
    )
    expect(frames.map((f) => f.step)).toEqual(Array.from({ length: 61 }, (_, i) => i))
    expect(frames[60].loss).toBeLessThan(frames[1].loss)
    expect(code).toBe(0)
  })
})
