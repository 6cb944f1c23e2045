// The MNIST page's pictures of the network: its first layer's weights as images, the confusion
// matrix, digits (a test strip, the most confidently wrong ones).
import { memo, useEffect, useRef } from 'react'
import type { Tensor } from 'gradstream'
import type { WrongDigit } from './mnist.worker.js'

/** Diverging colour for t ∈ [−1, 1]: blue below zero, white at zero, red above. */
export function diverging(t: number): [number, number, number] {
  const u = Math.max(-1, Math.min(1, t))
  return u >= 0
    ? [255 - 40 * u, 255 - 215 * u, 255 - 215 * u]
    : [255 + 215 * u, 255 + 150 * u, 255 + 40 * u]
}

/** The diverging scale in 511 steps (−255…255), packed as ABGR words for a Uint32 view. */
const LUT = (() => {
  const lut = new Uint32Array(511)
  for (let k = 0; k < 511; k++) {
    const [r, g, b] = diverging((k - 255) / 255)
    lut[k] = (255 << 24) | (Math.round(b) << 16) | (Math.round(g) << 8) | Math.round(r)
  }
  return lut
})()

/**
 * Draws W1's columns (one hidden unit's 784 input weights each) as 28×28 tiles in a grid, each
 * on its own symmetric scale ±max|w| (blue negative, red positive), so what a unit looks for is
 * visible from the first steps on. Redraws at most four times a second.
 */
export function WeightGrid(props: { readonly W1: Tensor | null; readonly columns?: number }) {
  const ref = useRef<HTMLCanvasElement>(null)
  const drawn = useRef(0)
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null)
  const latest = useRef(props.W1)
  latest.current = props.W1
  const hidden = props.W1?.shape[1] ?? 50
  const cols = props.columns ?? 10
  const rows = Math.ceil(hidden / cols)
  const width = cols * 29 - 1
  const height = rows * 29 - 1
  useEffect(() => {
    const draw = () => {
      timer.current = null
      drawn.current = performance.now()
      const W = latest.current
      const c = ref.current
      if (!W || !c) return
      const ctx = c.getContext('2d')!
      const img = ctx.createImageData(c.width, c.height)
      img.data.fill(255)
      const px = new Uint32Array(img.data.buffer) // one word per pixel (little-endian ABGR)
      const h = W.shape[1]
      const w = W.data
      for (let j = 0; j < h; j++) {
        let m = 1e-12
        for (let i = 0; i < 784; i++) m = Math.max(m, Math.abs(w[i * h + j]))
        const s = 255 / m
        const ox = (j % cols) * 29
        const oy = Math.floor(j / cols) * 29
        for (let y = 0, i = 0; y < 28; y++) {
          const row = (oy + y) * c.width + ox
          for (let x = 0; x < 28; x++, i++) px[row + x] = LUT[Math.round(w[i * h + j] * s) + 255]
        }
      }
      ctx.putImageData(img, 0, 0)
    }
    const wait = drawn.current + 250 - performance.now()
    if (wait <= 0) draw()
    else if (timer.current === null) timer.current = setTimeout(draw, wait)
  }, [props.W1, cols])
  useEffect(() => () => void (timer.current !== null && clearTimeout(timer.current)), [])
  return (
    <canvas
      ref={ref}
      className="pixels weights"
      width={width}
      height={height}
      role="img"
      aria-label={`input weights of the ${hidden} hidden units, each as a 28 by 28 image: red positive, blue negative`}
      data-testid="mnist-weights"
      style={{ width: '100%', maxWidth: width * 2, aspectRatio: `${width} / ${height}` }}
    />
  )
}

/** The 10×10 confusion matrix: row = true digit, column = guess; shade by share of the row. */
export const ConfusionMatrix = memo(function ConfusionMatrix(props: {
  readonly confusion: readonly number[] | null
}) {
  const c = props.confusion
  const digits = Array.from({ length: 10 }, (_, i) => i)
  return (
    <table className="confusion" data-testid="mnist-confusion">
      <caption className="muted">rows: true digit · columns: the net's guess</caption>
      <thead>
        <tr>
          <th scope="col">
            <span className="sr-only">true digit</span>
          </th>
          {digits.map((j) => (
            <th key={j} scope="col">
              {j}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {digits.map((i) => {
          const row = c ? c.slice(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0) : 0
          return (
            <tr key={i}>
              <th scope="row">{i}</th>
              {digits.map((j) => {
                const v = c ? c[i * 10 + j] : 0
                const share = row > 0 ? v / row : 0
                const bg =
                  i === j
                    ? `rgba(26, 127, 55, ${share})`
                    : `rgba(198, 40, 40, ${Math.min(1, share * 4)})`
                return (
                  <td
                    key={j}
                    data-testid={`confusion-${i}-${j}`}
                    data-value={v}
                    style={{
                      background: c ? bg : undefined,
                      color: share > 0.6 ? '#fff' : undefined,
                    }}
                  >
                    {c ? v : '·'}
                  </td>
                )
              })}
            </tr>
          )
        })}
      </tbody>
    </table>
  )
})

/** Draws one 28×28 digit (pixels in [0, 1], ink dark). */
export function Digit(props: {
  readonly pixels: Float64Array
  readonly size?: number
  readonly label: string
}) {
  const ref = useRef<HTMLCanvasElement>(null)
  useEffect(() => {
    const ctx = ref.current!.getContext('2d')!
    const img = ctx.createImageData(28, 28)
    for (let k = 0; k < 784; k++) {
      const v = 255 - Math.round(props.pixels[k] * 255)
      img.data.set([v, v, v, 255], 4 * k)
    }
    ctx.putImageData(img, 0, 0)
  }, [props.pixels])
  const size = props.size ?? 42
  return (
    <canvas
      ref={ref}
      className="pixels"
      width={28}
      height={28}
      role="img"
      aria-label={props.label}
      style={{ width: size, height: size }}
    />
  )
}

/** The test digits the net gets wrong with the most confidence. */
export const WrongDigits = memo(function WrongDigits(props: {
  readonly wrong: readonly WrongDigit[] | null
  readonly images: Float64Array | null
}) {
  const { wrong, images } = props
  if (!wrong || !images) return <p className="muted">after the first evaluation</p>
  if (wrong.length === 0) return <p className="muted">none wrong</p>
  return (
    <div className="digits" data-testid="mnist-wrong">
      {wrong.map((w) => (
        <figure key={w.index} className="digit">
          <Digit
            pixels={images.subarray(w.index * 784, (w.index + 1) * 784)}
            label={`test digit ${w.index}: a ${w.label} taken for a ${w.guess}`}
          />
          <figcaption>
            <span className="ok">{w.label}</span>→<span className="bad">{w.guess}</span>
            <br />
            <span className="muted">{Math.round(w.p * 100)}%</span>
          </figcaption>
        </figure>
      ))}
    </div>
  )
})
