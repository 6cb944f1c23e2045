import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))

const alias = [
  { find: /^gradstream\/operators$/, replacement: here('./operators/index.ts') },
  { find: /^gradstream\/node$/, replacement: here('./src/node.ts') },
  { find: /^gradstream$/, replacement: here('./src/index.ts') },
]

const shared = {
  setupFiles: ['test/setup.ts'],
  testTimeout: 60_000,
  hookTimeout: 120_000,
}

export default defineConfig({
  resolve: { alias },
  test: {
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
    projects: [
      {
        resolve: { alias },
        test: { ...shared, name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/e2e/**'] },
      },
      {
        // The browser test measures frame rates: it runs after every other file has finished,
        // alone on the machine, so the CPU-heavy property tests cannot starve the page.
        resolve: { alias },
        test: {
          ...shared,
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          // one browser at a time: two pages training side by side would halve each one's frames
          fileParallelism: false,
        },
      },
    ],
  },
})
