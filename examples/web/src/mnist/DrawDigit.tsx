// A pad where a person draws a digit and sees the current network's class probabilities, live
// while it trains (the prediction is one 784×hidden product on the page's thread).
import { useEffect, useMemo, useRef, useState } from 'react'
import { twoLayerNet, type TwoLayerParams } from 'gradstream'

const PAD = 196 // 7 screen pixels per MNIST pixel
const INK = 16

/**
 * The drawing as MNIST prepares its digits: the ink's bounding box scaled to fit 20×20 (aspect
 * kept), then placed in 28×28 so that its centre of mass is at the centre. Empty ink → null.
 */
export function toMnist(pad: HTMLCanvasElement): Float64Array | null {
  const ctx = pad.getContext('2d', { willReadFrequently: true })!
  const { width, height } = pad
  const src = ctx.getImageData(0, 0, width, height).data
  let x0 = width
  let y0 = height
  let x1 = -1
  let y1 = -1
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (src[4 * (y * width + x)] > 0) {
        x0 = Math.min(x0, x)
        x1 = Math.max(x1, x)
        y0 = Math.min(y0, y)
        y1 = Math.max(y1, y)
      }
    }
  }
  if (x1 < 0) return null
  const w = x1 - x0 + 1
  const h = y1 - y0 + 1
  const s = 20 / Math.max(w, h)
  const sw = Math.max(1, Math.round(w * s))
  const sh = Math.max(1, Math.round(h * s))
  const small = document.createElement('canvas')
  small.width = sw
  small.height = sh
  const sctx = small.getContext('2d', { willReadFrequently: true })!
  sctx.imageSmoothingEnabled = true
  sctx.imageSmoothingQuality = 'high'
  sctx.drawImage(pad, x0, y0, w, h, 0, 0, sw, sh)
  const px = sctx.getImageData(0, 0, sw, sh).data
  let mass = 0
  let mx = 0
  let my = 0
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const v = px[4 * (y * sw + x)] / 255
      mass += v
      mx += v * (x + 0.5)
      my += v * (y + 0.5)
    }
  }
  const ox = Math.round(14 - mx / mass)
  const oy = Math.round(14 - my / mass)
  const out = new Float64Array(784)
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const X = x + ox
      const Y = y + oy
      if (X >= 0 && X < 28 && Y >= 0 && Y < 28) out[Y * 28 + X] = px[4 * (y * sw + x)] / 255
    }
  }
  return out
}

export function DrawDigit(props: {
  readonly params: TwoLayerParams | null
  /** a test digit to show instead of a drawing (keyboard users' way in) */
  readonly sample: () => Float64Array | null
}) {
  const pad = useRef<HTMLCanvasElement>(null)
  const drawing = useRef(false)
  const [pixels, setPixels] = useState<Float64Array | null>(null)
  const hidden = props.params?.W1.shape[1] ?? 0
  const net = useMemo(
    () => (hidden > 0 ? twoLayerNet({ inputSize: 784, hiddenSize: hidden, outputSize: 10 }) : null),
    [hidden],
  )
  const probs = useMemo(() => {
    if (!pixels || !props.params || !net) return null
    return Array.from(net.predict(props.params, { shape: [1, 784], data: pixels }).data)
  }, [pixels, props.params, net])
  const guess = probs ? probs.indexOf(Math.max(...probs)) : null

  const clear = () => {
    const ctx = pad.current!.getContext('2d', { willReadFrequently: true })!
    ctx.fillStyle = '#000'
    ctx.fillRect(0, 0, PAD, PAD)
    setPixels(null)
  }
  useEffect(clear, [])

  const at = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const r = e.currentTarget.getBoundingClientRect()
    return [((e.clientX - r.left) / r.width) * PAD, ((e.clientY - r.top) / r.height) * PAD] as const
  }
  const ctx = () => {
    const c = pad.current!.getContext('2d', { willReadFrequently: true })!
    c.strokeStyle = '#fff'
    c.fillStyle = '#fff'
    c.lineWidth = INK
    c.lineCap = 'round'
    c.lineJoin = 'round'
    return c
  }

  return (
    <div className="draw">
      <div>
        <canvas
          ref={pad}
          width={PAD}
          height={PAD}
          className="pad"
          data-testid="draw-pad"
          role="img"
          aria-label="drawing pad: draw a digit here with a mouse, pen or finger"
          onPointerDown={(e) => {
            drawing.current = true
            e.currentTarget.setPointerCapture?.(e.pointerId)
            const [x, y] = at(e)
            const c = ctx()
            c.beginPath()
            c.arc(x, y, INK / 2, 0, 2 * Math.PI)
            c.fill()
            c.beginPath()
            c.moveTo(x, y)
          }}
          onPointerMove={(e) => {
            if (!drawing.current) return
            const [x, y] = at(e)
            const c = ctx()
            c.lineTo(x, y)
            c.stroke()
            c.beginPath()
            c.moveTo(x, y)
          }}
          onPointerUp={() => {
            drawing.current = false
            setPixels(toMnist(pad.current!))
          }}
        />
        <div className="controls">
          <button data-testid="draw-clear" onClick={clear}>
            Clear
          </button>
          <button
            data-testid="draw-sample"
            onClick={() => {
              const p = props.sample()
              if (!p) return
              const c = pad.current!.getContext('2d', { willReadFrequently: true })!
              const img = c.createImageData(28, 28)
              for (let k = 0; k < 784; k++)
                img.data.set([p[k] * 255, p[k] * 255, p[k] * 255, 255], 4 * k)
              const tmp = document.createElement('canvas')
              tmp.width = 28
              tmp.height = 28
              tmp.getContext('2d')!.putImageData(img, 0, 0)
              c.imageSmoothingEnabled = false
              c.drawImage(tmp, 0, 0, PAD, PAD)
              setPixels(p)
            }}
          >
            Paste a test digit
          </button>
        </div>
      </div>
      <div className="probs" data-testid="draw-probs" aria-live="polite">
        <div>
          guess{' '}
          <strong data-testid="draw-guess" data-value={guess ?? ''}>
            {guess ?? '—'}
          </strong>
        </div>
        {Array.from({ length: 10 }, (_, k) => (
          <div key={k} className="prob">
            <span>{k}</span>
            <div className="bar">
              <div
                style={{ width: `${(probs?.[k] ?? 0) * 100}%` }}
                className={k === guess ? 'best' : ''}
              />
            </div>
            <span data-testid={`draw-p-${k}`} data-value={probs?.[k] ?? ''}>
              {probs ? `${(probs[k] * 100).toFixed(0)}%` : ''}
            </span>
          </div>
        ))}
        {!props.params ? <p className="muted">train the net, then draw</p> : null}
      </div>
    </div>
  )
}
