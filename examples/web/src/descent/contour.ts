import type { Objective2D } from './functions.js'

/** Pixel ↔ point conversions for a canvas showing `box`. */
export function viewport(box: Objective2D['box'], width: number, height: number) {
  const [x0, x1, y0, y1] = box
  return {
    toPixel: (x: number, y: number): [number, number] => [
      ((x - x0) / (x1 - x0)) * width,
      ((y1 - y) / (y1 - y0)) * height,
    ],
    toPoint: (px: number, py: number): [number, number] => [
      x0 + (px / width) * (x1 - x0),
      y1 - (py / height) * (y1 - y0),
    ],
  }
}

const PALETTE = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
]

function color(t: number): [number, number, number] {
  const u = Math.min(Math.max(t, 0), 1) * (PALETTE.length - 1)
  const i = Math.min(Math.floor(u), PALETTE.length - 2)
  const a = u - i
  const [p, q] = [PALETTE[i], PALETTE[i + 1]]
  return [p[0] + a * (q[0] - p[0]), p[1] + a * (q[1] - p[1]), p[2] + a * (q[2] - p[2])]
}

/**
 * Paints a filled contour map of `objective` on `canvas`: colour by a compressed height
 * (log for functions bounded below, asinh for the saddle), darker lines where the height
 * crosses one of 24 evenly spaced levels.
 */
export function paintContour(canvas: HTMLCanvasElement, objective: Objective2D) {
  const { width, height } = canvas
  const ctx = canvas.getContext('2d')!
  const { toPoint } = viewport(objective.box, width, height)
  const z = new Float64Array(width * height)
  let lo = Infinity
  let hi = -Infinity
  const bounded = objective.name !== 'saddle'
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) {
      const [x, y] = toPoint(i + 0.5, j + 0.5)
      const v = objective.f(x, y)
      z[j * width + i] = v
      if (v < lo) lo = v
    }
  }
  for (let k = 0; k < z.length; k++) {
    const v = bounded ? Math.log1p(z[k] - lo) : Math.asinh(z[k])
    z[k] = v
    if (v < lo && !bounded) lo = v
    if (v > hi) hi = v
  }
  if (!bounded) lo = Math.min(...z)
  if (bounded) lo = 0
  const levels = 24
  const band = (v: number) => Math.floor(((v - lo) / (hi - lo || 1)) * levels)
  const img = ctx.createImageData(width, height)
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) {
      const k = j * width + i
      const t = (z[k] - lo) / (hi - lo || 1)
      let [r, g, b] = color(t)
      const here = band(z[k])
      const edge =
        (i + 1 < width && band(z[k + 1]) !== here) ||
        (j + 1 < height && band(z[k + width]) !== here)
      if (edge) [r, g, b] = [r * 0.55, g * 0.55, b * 0.55]
      img.data.set([r, g, b, 255], 4 * k)
    }
  }
  ctx.putImageData(img, 0, 0)
}
