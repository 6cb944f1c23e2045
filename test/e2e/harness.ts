// The end-to-end harness: builds the playground with Vite, serves the build on 127.0.0.1 (a
// free port), and drives Debian's Chromium through playwright-core with a fresh profile.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { build } from 'vite'

export const root = fileURLToPath(new URL('../..', import.meta.url))
export const webRoot = join(root, 'examples/web')
export const distDir = join(webRoot, 'dist')
export const shotsDir = join(root, 'test-results/e2e')
export const CHROMIUM = '/usr/bin/chromium'

/**
 * Whether the browser test can run here. In CI (CI set) a missing Chromium is a failure, not a
 * skip: .ci/run installs Debian's `chromium` first. Elsewhere the test skips with a notice.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true
  if (process.env.CI) {
    throw new Error(
      `e2e: ${CHROMIUM} is missing in CI: .ci/run should have installed Debian's chromium (apt-get install -y chromium)`,
    )
  }
  console.warn(
    `e2e: SKIPPED: ${CHROMIUM} not found (apt-get install -y chromium to run the browser test)`,
  )
  return false
}

/** Builds examples/web into examples/web/dist (the same build `npm run playground` serves). */
export async function buildPlayground(): Promise<void> {
  // vitest sets NODE_ENV=test, which would make Vite bundle React's development build (slow,
  // extra checks): build what `npm run playground` serves, the production bundle
  const saved = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  try {
    await build({
      configFile: join(webRoot, 'vite.config.ts'),
      logLevel: 'warn',
      mode: 'production',
    })
  } finally {
    process.env.NODE_ENV = saved
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.idx': 'application/octet-stream',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
}

/** Serves `dir` read-only on 127.0.0.1 at a free port. */
export async function serveStatic(
  dir: string,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
    const file = normalize(join(dir, path === '/' ? 'index.html' : path))
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found')
      return
    }
    res.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Cache-Control': 'no-store',
    })
    res.end(readFileSync(file))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** Launches Chromium headless with a fresh profile; `close` ends it and deletes the profile. */
export async function launchBrowser(): Promise<{
  context: BrowserContext
  page: Page
  close: () => Promise<void>
}> {
  const profile = mkdtempSync(join(tmpdir(), 'gradstream-e2e-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  const page = context.pages()[0] ?? (await context.newPage())
  return {
    context,
    page,
    close: async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

/** Saves a full-page screenshot under test-results/e2e/. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(shotsDir, { recursive: true })
  const path = join(shotsDir, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

/** The numeric `data-value` of the element with this data-testid. */
export async function valueOf(page: Page, testId: string): Promise<number> {
  return Number(await page.getByTestId(testId).getAttribute('data-value'))
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `read` until `ok` holds, failing with the last value after `timeoutMs`. */
export async function waitFor<T>(
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const t0 = Date.now()
  let v = await read()
  while (!ok(v)) {
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`e2e: timed out waiting for ${what}; last value ${String(v)}`)
    await sleep(100)
    v = await read()
  }
  return v
}

/** Frames per second the page itself counts over `windows` one-second windows. */
export async function frameRates(page: Page, windows: number): Promise<number[]> {
  return (await page.evaluate(`(async () => {
    const out = []
    for (let w = 0; w < ${windows}; w++) {
      let n = 0
      const t0 = performance.now()
      await new Promise((resolve) => {
        const tick = (now) => { n++; if (now - t0 < 1000) requestAnimationFrame(tick); else resolve() }
        requestAnimationFrame(tick)
      })
      out.push(n / ((performance.now() - t0) / 1000))
    }
    return out
  })()`)) as number[]
}
