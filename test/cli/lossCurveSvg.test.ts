import { describe, expect, it } from 'vitest'
import { lossCurveSvg } from '../../src/cli/lossCurveSvg.js'

const points = (svg: string) =>
  /points="([^"]*)"/
    .exec(svg)![1]
    .split(' ')
    .map((p) => p.split(',').map(Number))

describe('lossCurveSvg', () => {
  it('draws one point per iteration, iteration n at the right edge and loss 0 at the bottom', () => {
    // width 640 − margins 60 + 20 → plot x ∈ [60, 620]; height 400 − 40 − 50 → y ∈ [40, 350]
    const pts = points(lossCurveSvg([2, 1, 0]))
    expect(pts).toEqual(
      [
        [60 + 560 / 3, 40],
        [60 + (2 * 560) / 3, 195],
        [620, 350],
      ].map(([x, y]) => [Number(x.toFixed(1)), y]),
    )
  })

  it('averages long runs down to `points` points and skips non-finite losses', () => {
    const losses = Array.from({ length: 10000 }, (_, i) => (i === 5 ? NaN : 1 / (i + 1)))
    expect(points(lossCurveSvg(losses, { points: 100 }))).toHaveLength(100)
    expect(lossCurveSvg(losses)).not.toContain('NaN')
  })

  it('labels the axes with round iteration ticks and escapes the title', () => {
    const svg = lossCurveSvg(new Array(10000).fill(1), { title: 'a < b & c' })
    for (const tick of ['>0<', '>2500<', '>5000<', '>7500<', '>10000<']) expect(svg).toContain(tick)
    expect(svg).toContain('>a &lt; b &amp; c<')
  })
})
