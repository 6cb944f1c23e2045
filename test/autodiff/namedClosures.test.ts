// A TypeScript user's script run with tsx gets the library's sources through esbuild's transform
// with keepNames, which names every closure bound to a name (`const f = () => …`, a nested
// `function f`, an arrow as an object's property) by Object.defineProperty as it is made: ~0.7 µs
// each, and the function goes to dictionary mode. A training step that makes such closures pays
// that on every step under tsx only (W3 made 17 a step, W5 21: ~2–3% of W3's step). The library's
// step functions make none: methods, module functions and anonymous arrows instead.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const fixture = fileURLToPath(new URL('./namedClosures.fixture.ts', import.meta.url))
const root = fileURLToPath(new URL('../..', import.meta.url))

describe('training steps under tsx (esbuild keepNames)', () => {
  it('name no function: W3 (twoLayerNet, SGD), an mlp with Adam, one with clipByGlobalNorm', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', fixture], {
      cwd: root,
      encoding: 'utf8',
    })
    const result = JSON.parse(/RESULT (.*)/.exec(out)![1])
    // the count works: loading the library under tsx names its module-level functions
    expect(result.atLoad).toBeGreaterThan(100)
    expect(result.w3).toEqual({})
    expect(result.w5).toEqual({})
    expect(result.clipped).toEqual({})
  })
})
