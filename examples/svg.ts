/**
 * A tiny SVG plotter for the examples: line and point series, arrows, linear or log axes with
 * ticks, a legend. No dependencies; returns the SVG as a string, `writeSvg` saves it under
 * examples/out/. Reuse it for any plot an example needs.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface Series {
  readonly points: readonly (readonly [number, number])[]
  readonly label?: string
  readonly color?: string
  /** 'line' (default) joins the points; 'points' draws dots; 'step' draws a staircase. */
  readonly style?: 'line' | 'points' | 'step'
  readonly dashed?: boolean
}

export interface Arrow {
  readonly from: readonly [number, number]
  readonly to: readonly [number, number]
  readonly color?: string
}

export interface PlotOptions {
  readonly title?: string
  readonly xLabel?: string
  readonly yLabel?: string
  readonly width?: number
  readonly height?: number
  /** Data ranges; default: the extent of everything drawn. */
  readonly x?: readonly [number, number]
  readonly y?: readonly [number, number]
  readonly logX?: boolean
  readonly logY?: boolean
  readonly series?: readonly Series[]
  readonly arrows?: readonly Arrow[]
  /** Where the legend goes; default 'top-right'. */
  readonly legend?: 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right'
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b']

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const fmt = (v: number) =>
  Number.isInteger(v) ? String(v) : v.toPrecision(3).replace(/\.?0+$/, '')

function extent(values: number[], log: boolean): [number, number] {
  const vs = values.filter((v) => Number.isFinite(v) && (!log || v > 0))
  if (vs.length === 0) return log ? [1, 10] : [0, 1]
  let lo = Math.min(...vs)
  let hi = Math.max(...vs)
  if (lo === hi) [lo, hi] = log ? [lo / 10, hi * 10] : [lo - 1, hi + 1]
  return [lo, hi]
}

function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const a = Math.floor(Math.log10(lo))
    const b = Math.ceil(Math.log10(hi))
    const every = Math.max(1, Math.ceil((b - a) / 10))
    const out: number[] = []
    for (let e = a; e <= b; e += every) out.push(10 ** e)
    return out.filter((v) => v >= lo * 0.999 && v <= hi * 1.001)
  }
  const raw = (hi - lo) / 8
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw
  const out: number[] = []
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v)
  return out
}

/** Renders a plot to an SVG string. */
export function plot(o: PlotOptions): string {
  const W = o.width ?? 640
  const H = o.height ?? 420
  const m = { l: 70, r: 20, t: o.title ? 36 : 16, b: 50 }
  const series = o.series ?? []
  const arrows = o.arrows ?? []
  const xs = [
    ...series.flatMap((s) => s.points.map((p) => p[0])),
    ...arrows.flatMap((a) => [a.from[0], a.to[0]]),
  ]
  const ys = [
    ...series.flatMap((s) => s.points.map((p) => p[1])),
    ...arrows.flatMap((a) => [a.from[1], a.to[1]]),
  ]
  const [x0, x1] = o.x ?? extent(xs, !!o.logX)
  const [y0, y1] = o.y ?? extent(ys, !!o.logY)
  const tx = o.logX ? Math.log10 : (v: number) => v
  const ty = o.logY ? Math.log10 : (v: number) => v
  const sx = (v: number) => m.l + ((tx(v) - tx(x0)) / (tx(x1) - tx(x0))) * (W - m.l - m.r)
  const sy = (v: number) => H - m.b - ((ty(v) - ty(y0)) / (ty(y1) - ty(y0))) * (H - m.t - m.b)
  const ok = (p: readonly [number, number]) =>
    Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!o.logX || p[0] > 0) && (!o.logY || p[1] > 0)
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>`,
  ]
  if (o.title)
    out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(o.title)}</text>`)
  // axes and grid
  for (const v of ticks(x0, x1, !!o.logX)) {
    const X = sx(v).toFixed(1)
    out.push(`<line x1="${X}" y1="${m.t}" x2="${X}" y2="${H - m.b}" stroke="#eee"/>`)
    out.push(
      `<text x="${X}" y="${H - m.b + 16}" text-anchor="middle">${o.logX ? `1e${Math.round(Math.log10(v))}` : fmt(v)}</text>`,
    )
  }
  for (const v of ticks(y0, y1, !!o.logY)) {
    const Y = sy(v).toFixed(1)
    out.push(`<line x1="${m.l}" y1="${Y}" x2="${W - m.r}" y2="${Y}" stroke="#eee"/>`)
    out.push(
      `<text x="${m.l - 6}" y="${Y}" text-anchor="end" dominant-baseline="middle">${o.logY ? `1e${Math.round(Math.log10(v))}` : fmt(v)}</text>`,
    )
  }
  out.push(
    `<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#333"/>`,
  )
  if (o.xLabel)
    out.push(
      `<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">${esc(o.xLabel)}</text>`,
    )
  if (o.yLabel)
    out.push(
      `<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`,
    )
  out.push(
    `<svg x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" viewBox="${m.l} ${m.t} ${W - m.l - m.r} ${H - m.t - m.b}" overflow="hidden">`,
  )
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]
    const pts = s.points.filter(ok)
    if (s.style === 'points') {
      for (const p of pts)
        out.push(
          `<circle cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="3" fill="${color}"/>`,
        )
    } else if (pts.length > 0) {
      const coords: string[] = []
      pts.forEach((p, k) => {
        if (s.style === 'step' && k > 0)
          coords.push(`${sx(p[0]).toFixed(1)},${sy(pts[k - 1][1]).toFixed(1)}`)
        coords.push(`${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`)
      })
      out.push(
        `<polyline points="${coords.join(' ')}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      )
    }
  })
  for (const a of arrows) {
    if (!ok(a.from) || !ok(a.to)) continue
    out.push(
      `<line x1="${sx(a.from[0]).toFixed(1)}" y1="${sy(a.from[1]).toFixed(1)}" x2="${sx(a.to[0]).toFixed(1)}" y2="${sy(a.to[1]).toFixed(1)}" stroke="${a.color ?? '#333'}" stroke-width="1.2" marker-end="url(#head)"/>`,
    )
  }
  out.push('</svg>')
  // legend
  const labelled = series.filter((s) => s.label)
  const boxW = 34 + 7 * Math.max(0, ...labelled.map((s) => s.label!.length))
  const corner = o.legend ?? 'top-right'
  const lx = corner.endsWith('left') ? m.l + 10 : W - m.r - boxW
  const ly = corner.startsWith('top') ? m.t + 14 : H - m.b - 6 - labelled.length * 16
  if (labelled.length > 0) {
    out.push(
      `<rect x="${lx - 6}" y="${ly - 10}" width="${boxW}" height="${labelled.length * 16 + 4}" fill="white" fill-opacity="0.85" stroke="#ccc"/>`,
    )
  }
  labelled.forEach((s, i) => {
    const color = s.color ?? PALETTE[series.indexOf(s) % PALETTE.length]
    const y = ly + i * 16
    out.push(
      `<line x1="${lx}" y1="${y}" x2="${lx + 22}" y2="${y}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    )
    out.push(`<text x="${lx + 28}" y="${y}" dominant-baseline="middle">${esc(s.label!)}</text>`)
  })
  out.push('</svg>')
  return out.join('\n')
}

/** The examples' output folder, examples/out/ (git-ignored). */
export const outDir = join(dirname(fileURLToPath(import.meta.url)), 'out')

/** Writes `svg` to `dir`/`name` (default examples/out/) and returns the path. */
export function writeSvg(name: string, svg: string, dir = outDir): string {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, name)
  writeFileSync(path, svg)
  return path
}

/** True when the module at `url` is the script node was started with (run as a CLI). */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(url) === resolve(process.argv[1])
}
