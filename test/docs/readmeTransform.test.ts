import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { type OperatorFunction, pipe, Subject, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { mapTree, tensor, train, type TrainState, type WithGradient } from 'gradstream'
import { adabelief, gradient, maxSteps } from 'gradstream/operators'
import { FusedStages } from '../../src/engine/fusion.js'

// README's "Write your own transform" block, run as written: it is written out to
// test-results/readme/, imported (vitest maps `gradstream` and `gradstream/operators` to the
// sources), and its optimizer must run fused and give exactly `adabelief(lr, { epsRoot: 0 })`.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

function readmeBlock(): string {
  const text = readFileSync(join(root, 'README.md'), 'utf8')
  const section = text.slice(text.indexOf('## Write your own transform'))
  const m = /```ts\n([\s\S]*?)```/.exec(section)
  if (m === null) throw new Error('README: no ```ts block under "Write your own transform"')
  return m[1]
}

type P = { W: ReturnType<typeof tensor>; b: number[] }
type Opt = OperatorFunction<WithGradient<P>, TrainState<P>>
const f = (p: P) => ({ loss: 0, grad: mapTree(p, (v) => Math.sin(3 * v) + 0.5) as P })

function run(opt: Opt): TrainState<P>[] {
  let out: TrainState<P>[] = []
  const params: P = {
    W: tensor([
      [0.5, -1],
      [2, 0.25],
    ]),
    b: [1, -3],
  }
  train({ params, step: pipe(gradient(f), opt) })
    .pipe(maxSteps(20), toArray())
    .subscribe((v) => (out = v))
  return out
}

describe('README: Write your own transform', () => {
  it('the block is about 40 lines and runs: fused, and bit for bit adabelief without epsRoot', async () => {
    const code = readmeBlock()
    expect(code.split('\n').length).toBeLessThanOrEqual(50)
    const dir = join(root, 'test-results', 'readme')
    mkdirSync(dir, { recursive: true })
    const file = join(dir, 'writeYourOwnTransform.ts')
    writeFileSync(file, code)
    const m = (await import(pathToFileURL(file).href)) as { myAdabelief: (lr: number) => Opt }
    const fused = pipe(gradient(f), m.myAdabelief(0.01))(new Subject() as never)
    expect(fused).toBeInstanceOf(FusedStages)
    expect((fused as FusedStages<unknown>).factories).toHaveLength(2)
    const mine = run(m.myAdabelief(0.01))
    const shipped = run(adabelief(0.01, { epsRoot: 0 }) as Opt)
    expect(mine.map((s) => s.params)).toEqual(shipped.map((s) => s.params))
    expect(mine.map((s) => s.opt.myBelief as object)).toEqual(
      shipped.map((s) => s.opt.adabelief ?? s.opt.scaleByBelief),
    )
  })
})
