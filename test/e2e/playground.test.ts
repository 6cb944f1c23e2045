// End-to-end: the built playground in Debian's Chromium (playwright-core), served on 127.0.0.1.
// Screenshots land in test-results/e2e/. Budget: well under 3 minutes on 2 cores.
import { spawn, spawnSync } from 'node:child_process'
import { Subject } from 'rxjs'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serveStates, type StateServer } from '../../src/remote/serveStates.js'
import type { WireFrame } from '../../src/state/wireFormat.js'
import {
  buildPlayground,
  chromiumAvailable,
  distDir,
  launchBrowser,
  root,
  screenshot,
  serveStatic,
  sleep,
  valueOf,
  waitFor,
} from './harness.js'

const available = chromiumAvailable()

describe.skipIf(!available)('playground in Chromium', () => {
  let site: { url: string; close: () => Promise<void> }
  let browser: Awaited<ReturnType<typeof launchBrowser>>
  let page: Page
  const pageErrors: string[] = []

  beforeAll(async () => {
    await buildPlayground()
    site = await serveStatic(distDir)
    browser = await launchBrowser()
    page = browser.page
    page.on('pageerror', (e) => pageErrors.push(e.message))
    page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()))
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await site?.close()
  })

  const racers = ['sgd', 'momentum', 'nesterov', 'rmsprop', 'adagrad', 'adam']

  it('Descent: a race started by a click makes the loss readouts fall', async () => {
    await page.goto(`${site.url}#/descent`)
    await page.getByTestId('contour').waitFor()
    // click the map at (−3, 4) of the default x0² + x1² (box [−4.5, 4.5]², 440 px square)
    const toPx = (v: number, lo: number, hi: number) => ((v - lo) / (hi - lo)) * 440
    await page
      .getByTestId('contour')
      .click({ position: { x: toPx(-3, -4.5, 4.5), y: 440 - toPx(4, -4.5, 4.5) } })
    const minStep = () =>
      Promise.all(racers.map((r) => valueOf(page, `readout-${r}-step`))).then((v) => Math.min(...v))
    await waitFor(minStep, (s) => s >= 3, 10_000, 'every racer to take 3 steps')
    const first = await Promise.all(racers.map((r) => valueOf(page, `readout-${r}-loss`)))
    // momentum's loss oscillates on the way down (β = 0.9), so compare with a reading well after
    // its swings have decayed: by step 150 every racer is far below anything it showed early on
    await waitFor(minStep, (s) => s >= 150, 30_000, 'every racer at step 150')
    const later = await Promise.all(racers.map((r) => valueOf(page, `readout-${r}-loss`)))
    racers.forEach((r, i) =>
      expect(later[i], `${r}: loss ${first[i]} → ${later[i]}`).toBeLessThan(first[i]),
    )
    // sgd with lr 0.05 on x0² + x1²: the loss at step k is 25·0.81^(k−1), so between a first
    // reading at step k₀ ≥ 3 and one at step ≥ 150 it has fallen by far more than 100×, as
    // long as k₀ < 100 (0.81^50 ≈ 3e-5)
    expect(later[0]).toBeLessThan(first[0] * 1e-2)
    const racing = (await page.evaluate(`(async () => {
      let n = 0
      const t0 = performance.now()
      await new Promise((resolve) => {
        const tick = (now) => { n++; if (now - t0 < 1000) requestAnimationFrame(tick); else resolve() }
        requestAnimationFrame(tick)
      })
      return n / ((performance.now() - t0) / 1000)
    })()`)) as number
    console.log(
      `e2e: Descent race: ${racing.toFixed(1)} frames/s (6 runs, one step each per frame)`,
    )
    await screenshot(page, 'descent-race')
  }, 60_000)

  it('Descent: the learning-rate slider changes the rate the next states use', async () => {
    const before = await valueOf(page, 'lr-value')
    expect(before).toBe(0.05)
    const slider = page.getByTestId('lr-slider')
    await slider.focus()
    for (let i = 0; i < 6; i++) await page.keyboard.press('ArrowRight') // log10(lr) up by ≈ 0.3
    // the slider moves log10(lr); the page's rate is that power of ten to 3 significant digits
    const position = Number(await slider.inputValue())
    const lr = await valueOf(page, 'lr-value')
    expect(lr).toBe(Number((10 ** position).toPrecision(3)))
    expect(lr).toBeGreaterThan(before * 1.5)
    const atChange = await valueOf(page, 'readout-sgd-step')
    await waitFor(
      () => valueOf(page, 'readout-sgd-step'),
      (s) => s >= atChange + 5,
      10_000,
      'steps after the change',
    )
    for (const r of racers) expect(await valueOf(page, `readout-${r}-lr`), r).toBe(lr)
    await screenshot(page, 'descent-lr-changed')
  }, 30_000)

  it('Descent: pause holds the step counter; step advances it by one', async () => {
    await page.getByTestId('pause').click()
    await sleep(300) // a frame in flight may land
    const held = await valueOf(page, 'race-step')
    await sleep(1000)
    expect(await valueOf(page, 'race-step')).toBe(held)
    await page.getByTestId('step').click()
    await waitFor(
      () => valueOf(page, 'race-step'),
      (s) => s !== held,
      5_000,
      'a single step',
    )
    await sleep(500)
    expect(await valueOf(page, 'race-step')).toBe(held + 1)
    await screenshot(page, 'descent-paused')
  }, 30_000)

  it('Descent: another function (Himmelblau) races from a clicked point; reset returns to step 0', async () => {
    await page.goto(`${site.url}#/descent`)
    await page.getByTestId('fn-select').selectOption('himmelblau')
    expect(await valueOf(page, 'lr-value')).toBe(0.01) // the function's own rate
    await page.getByTestId('contour').click({ position: { x: 120, y: 330 } })
    await waitFor(
      () => valueOf(page, 'race-step'),
      (s) => s >= 60,
      20_000,
      'the Himmelblau race',
    )
    for (const r of racers)
      expect(Number.isFinite(await valueOf(page, `readout-${r}-loss`)), r).toBe(true)
    await screenshot(page, 'descent-himmelblau')
    await page.getByTestId('reset').click()
    await waitFor(
      () => valueOf(page, 'race-step'),
      (s) => s === 0,
      5_000,
      'the reset',
    )
  }, 30_000)

  it('MNIST: trains in a worker to ≥ 0.85 test accuracy while the page keeps ≥ 50 frames/s', async () => {
    await page.goto(`${site.url}#/mnist`)
    await page.getByTestId('digit-strip').waitFor()
    await page.getByTestId('mnist-start').click()
    await waitFor(
      () => valueOf(page, 'mnist-step'),
      (s) => s >= 5,
      30_000,
      'training to start',
    )
    // count animation frames during training, in the page itself: seven one-second windows
    const windows = (await page.evaluate(`(async () => {
      const stepOf = () => Number(document.querySelector('[data-testid="mnist-step"]').getAttribute('data-value'))
      const out = []
      for (let w = 0; w < 7; w++) {
        const s0 = stepOf()
        let n = 0
        const t0 = performance.now()
        await new Promise((resolve) => {
          const tick = (now) => { n++; if (now - t0 < 1000) requestAnimationFrame(tick); else resolve() }
          requestAnimationFrame(tick)
        })
        out.push({ fps: n / ((performance.now() - t0) / 1000), steps: stepOf() - s0 })
      }
      return out
    })()`)) as { fps: number; steps: number }[]
    const rates = windows.map((w) => w.fps).sort((a, b) => a - b)
    console.log(
      `e2e: MNIST training: frames/s per one-second window ${windows.map((w) => w.fps.toFixed(1)).join(', ')}; steps per window ${windows.map((w) => w.steps).join(', ')}`,
    )
    expect(windows.every((w) => w.steps > 0)).toBe(true) // it was training in every window
    // the median window: one second in which another process took both cores says nothing about the page
    expect(rates[3]).toBeGreaterThanOrEqual(50)
    const acc = await waitFor(
      () => valueOf(page, 'mnist-test-acc'),
      (a) => a >= 0.85,
      100_000,
      'test accuracy ≥ 0.85',
    )
    console.log(`e2e: MNIST test accuracy ${acc} at step ${await valueOf(page, 'mnist-step')}`)
    await screenshot(page, 'mnist')
    await page.getByTestId('mnist-pause').click()
    // states the worker posted before it read the pause still arrive: wait for a quiet 500 ms
    // (while training, a state arrives at least every ~100 ms), then check the step stays put
    let held = await valueOf(page, 'mnist-step')
    for (let t0 = Date.now(); ;) {
      await sleep(500)
      const now = await valueOf(page, 'mnist-step')
      if (now === held) break
      if (Date.now() - t0 > 10_000) throw new Error(`e2e: MNIST did not pause; step ${now}`)
      held = now
    }
    await sleep(800)
    expect(await valueOf(page, 'mnist-step')).toBe(held)
    await page.getByTestId('mnist-resume').click()
    await waitFor(
      () => valueOf(page, 'mnist-step'),
      (s) => s > held,
      10_000,
      'training to resume',
    )
    await page.getByTestId('mnist-stop').click()
    await waitFor(
      () => page.getByTestId('mnist-status').textContent(),
      (t) => t === 'stopped',
      5_000,
      'stopped',
    )
    const stoppedAt = await valueOf(page, 'mnist-step')
    await sleep(500)
    expect(await valueOf(page, 'mnist-step')).toBe(stoppedAt) // the worker is gone
  }, 150_000)

  it('Live: plots a run served as Server-Sent Events from another port', async () => {
    const frames$ = new Subject<WireFrame>()
    // CORS is off unless asked for (issue 20): allow the playground's origin
    const cors = new URL(site.url).origin
    const server: StateServer = await serveStates(frames$, { linger: 5_000, cors })
    await page.goto(`${site.url}#/live?url=${encodeURIComponent(server.url)}`)
    await page.getByTestId('live-connect').click()
    for (let k = 0; k <= 30; k++) {
      frames$.next({
        v: 1,
        step: k,
        loss: k === 0 ? NaN : 10 / k,
        lr: 0.1,
        gradNorm: 1,
        evaluations: k,
        metrics: { acc: k / 30 },
        hyper: {},
        run: 'e2e',
      })
      await sleep(10)
    }
    frames$.complete()
    await waitFor(
      () => page.getByTestId('live-status').textContent(),
      (t) => t === 'ended',
      10_000,
      'the end of the run',
    )
    expect(await valueOf(page, 'live-count')).toBe(31)
    expect(await valueOf(page, 'live-step')).toBe(30)
    expect(await page.getByTestId('live-run').textContent()).toBe('e2e')
    await screenshot(page, 'live')
    await server.close()
  }, 30_000)

  it('Live: plots the numpy run of examples/python/publish_numpy_run.py (when python3 + numpy exist)', async (ctx) => {
    if (spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status !== 0) {
      console.warn('e2e: Live + numpy publisher SKIPPED: python3 with numpy is not available')
      ctx.skip()
    }
    const child = spawn(
      'python3',
      [
        'examples/python/publish_numpy_run.py',
        '--port',
        '0',
        '--steps',
        '40',
        '--every',
        '10',
        '--linger',
        '3',
      ],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = ''
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString()
          const m = /serving (\S+)/.exec(out)
          if (m) resolve(m[1])
        })
        child.once('exit', (code) => reject(new Error(`publisher exited ${code}: ${out}`)))
      })
      await page.goto(`${site.url}#/live`)
      await page.getByTestId('live-url').fill(url) // typed, as a person would
      await page.getByTestId('live-connect').click()
      await waitFor(
        () => page.getByTestId('live-status').textContent(),
        (t) => t === 'ended',
        15_000,
        'the numpy run to end',
      )
      expect(await valueOf(page, 'live-count')).toBe(41)
      expect(await page.getByTestId('live-run').textContent()).toBe('numpy')
      expect(await page.getByTestId('live-metric-slope').textContent()).not.toBe('—')
      await screenshot(page, 'live-numpy')
    } finally {
      if (child.exitCode === null) child.kill()
    }
  }, 30_000)

  it('logged no page errors', () => {
    expect(pageErrors).toEqual([])
  })
})

// issue 16: the Live page draws metrics as lines, from a real `gradstream train mnist --serve`
// run in another process (frames between evaluations carry no metrics; the page carries the
// last measured value forward). Its own browser and build, so it runs alone with
// `npx vitest run --project e2e -t 'Live metrics'`.
describe.skipIf(!available)('Live metrics from a real --serve run', () => {
  let site: { url: string; close: () => Promise<void> }
  let browser: Awaited<ReturnType<typeof launchBrowser>>
  const errors: string[] = []

  beforeAll(async () => {
    await buildPlayground()
    site = await serveStatic(distDir)
    browser = await launchBrowser()
    browser.page.on('pageerror', (e) => errors.push(e.message))
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await site?.close()
  })

  it('Live metrics: train and test accuracy of a served MNIST run drawn as lines', async () => {
    const page = browser.page
    const iters = 600
    // evaluations every 20 steps on 2,000 + 1,000 images; the run lingers 1 s after its end,
    // and the server keeps every frame, so the page gets the whole run from step 0
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'train',
        'mnist',
        ...['--iters', String(iters), '--train-size', '2000', '--test-size', '1000'],
        ...['--eval-every', '20', '--optimizer', 'adam', '--lr', '0.01'],
        ...['--serve', '0', '--cors', new URL(site.url).origin, '--no-progress'],
        ...['--out', 'test-results/e2e/live-metrics-loss.svg'],
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = ''
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString()
          const m = /serving (\S+)/.exec(out)
          if (m) resolve(m[1])
        })
        child.once('exit', (code) => reject(new Error(`gradstream exited ${code}: ${out}`)))
      })
      await page.goto(`${site.url}#/live?url=${encodeURIComponent(url)}`)
      await page.getByTestId('live-connect').click()
      await waitFor(
        () => page.getByTestId('live-status').textContent(),
        (t) => t === 'ended',
        60_000,
        'the served run to end',
      )
      expect(await valueOf(page, 'live-step')).toBe(iters)
      expect(await page.getByTestId('live-run').textContent()).toBe('mnist')
      await page.getByTestId('live-metric-chart').waitFor()
      const frames = await valueOf(page, 'live-count')
      for (const name of ['trainAcc', 'testAcc']) {
        const cell = page.getByTestId(`live-metric-${name}`)
        // measured at step 0, so every frame from the first on has a value: a line, no gaps
        expect(Number(await cell.getAttribute('data-points')), name).toBe(frames)
        // 600 Adam steps on 2,000 images: well above chance (0.1)
        expect(Number(await cell.getAttribute('data-value')), name).toBeGreaterThan(0.5)
      }
      await sleep(300) // the chart redraws at most every 100 ms
      await screenshot(page, 'live-metrics-serve')
      expect(errors).toEqual([])
    } finally {
      if (child.exitCode === null) child.kill()
    }
  }, 120_000)
})
