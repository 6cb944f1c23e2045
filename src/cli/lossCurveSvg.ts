/** Options of `lossCurveSvg`. */
export interface LossCurveOptions {
  readonly title?: string
  readonly width?: number
  readonly height?: number
  /** at most this many points are drawn (means of equal runs of steps); default 1000 */
  readonly points?: number
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const fmt = (v: number) =>
  Math.abs(v) >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(2)

/**
 * A self-contained SVG line chart of a loss curve (iteration 1…n on x, loss on y, like the book's
 * figure 4-11), with axes, a few ticks and the title. Long runs are drawn as the means of
 * equal runs of steps, at most `points` of them; non-finite losses are skipped.
 *
 * @example
 * ```ts
 * writeFileSync('loss.svg', lossCurveSvg(losses, { title: 'MNIST, TwoLayerNet, SGD' }))
 * ```
 */
export function lossCurveSvg(losses: ArrayLike<number>, options: LossCurveOptions = {}): string {
  const { title = 'loss', width = 640, height = 400, points = 1000 } = options
  const n = losses.length
  const per = Math.max(1, Math.ceil(n / points))
  const xs: number[] = []
  const ys: number[] = []
  for (let start = 0; start < n; start += per) {
    let s = 0
    let c = 0
    for (let i = start; i < Math.min(n, start + per); i++)
      if (Number.isFinite(losses[i])) ((s += losses[i]), c++)
    if (c > 0) (xs.push(start + (Math.min(n, start + per) - start + 1) / 2), ys.push(s / c))
  }
  const left = 60
  const right = 20
  const top = 40
  const bottom = 50
  const w = width - left - right
  const h = height - top - bottom
  const yMax = ys.length ? Math.max(...ys) : 1
  const yMin = Math.min(0, ...ys)
  const xMax = Math.max(1, n)
  const X = (x: number) => left + (x / xMax) * w
  const Y = (y: number) => top + h - ((y - yMin) / (yMax - yMin || 1)) * h
  const path = xs.map((x, i) => `${X(x).toFixed(1)},${Y(ys[i]).toFixed(1)}`).join(' ')
  const ticks: string[] = []
  for (let k = 0; k <= 4; k++) {
    const yv = yMin + ((yMax - yMin) * k) / 4
    const xv = (xMax * k) / 4
    ticks.push(
      `<line x1="${left - 4}" y1="${Y(yv).toFixed(1)}" x2="${left + w}" y2="${Y(yv).toFixed(1)}" stroke="#e5e5e5"/>`,
      `<text x="${left - 8}" y="${(Y(yv) + 4).toFixed(1)}" text-anchor="end">${fmt(yv)}</text>`,
      `<text x="${X(xv).toFixed(1)}" y="${top + h + 18}" text-anchor="middle">${Math.round(xv)}</text>`,
    )
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15">${esc(title)}</text>`,
    ...ticks,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + h}" stroke="black"/>`,
    `<line x1="${left}" y1="${top + h}" x2="${left + w}" y2="${top + h}" stroke="black"/>`,
    `<text x="${left + w / 2}" y="${height - 10}" text-anchor="middle">iteration</text>`,
    `<text x="16" y="${top + h / 2}" text-anchor="middle" transform="rotate(-90 16 ${top + h / 2})">loss</text>`,
    `<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="${path}"/>`,
    `</svg>`,
    '',
  ].join('\n')
}
