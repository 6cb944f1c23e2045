import { useEffect, useRef } from 'react'
import uPlot from 'uplot'

export interface Series {
  readonly label: string
  readonly color: string
}

/**
 * A uPlot line chart that redraws from `data` ([x, y1, y2, …], columns of equal length) when it
 * changes; the plot itself is created once.
 */
export function LineChart(props: {
  readonly title: string
  readonly series: readonly Series[]
  readonly data: readonly (readonly number[])[]
  readonly width?: number
  readonly height?: number
  /**
   * 'asinh' handles negative and huge values (a saddle's loss), 'log' positive values over many
   * decades (a loss falling to 1e-20; values ≤ 0 become gaps), 'linear' otherwise
   */
  readonly scale?: 'asinh' | 'log' | 'linear'
  readonly testId?: string
  /** the least time between two redraws, ms (default 100) */
  readonly redrawEvery?: number
}) {
  const host = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const { title, series, width = 480, height = 220, scale = 'linear' } = props
  useEffect(() => {
    const opts: uPlot.Options = {
      title,
      width,
      height,
      scales: {
        x: { time: false },
        y:
          scale === 'asinh'
            ? // from 0 unless something is negative (a saddle), so the axis is not padded below 0
              {
                distr: 4,
                log: 10,
                range: (_u, lo, hi) => [lo < 0 ? lo * 1.1 : 0, hi > 0 ? hi * 1.1 : 1],
              }
            : scale === 'log'
              ? {
                  distr: 3,
                  log: 10,
                  // whole decades, at most 30 of them below the top (uPlot's own log range
                  // fails on subnormal losses; below 1e-30 of the start nothing is left to see)
                  range: (_u, lo, hi) => {
                    const top = Math.ceil(Math.log10(hi > 0 ? hi : 1))
                    const low = Math.floor(Math.log10(lo > 0 ? lo : 10 ** (top - 1)))
                    return [10 ** Math.max(low, top - 30), 10 ** Math.max(top, low + 1)]
                  },
                }
              : {},
      },
      // uPlot's asinh ticks can fall outside the range it was given (a "−1" under a loss that
      // never goes below 0): label only the ticks inside it; on a log axis spanning more than
      // two decades, only the powers of ten
      axes: [
        {},
        {
          size: scale === 'log' ? 56 : 50,
          filter: (u, splits) => {
            const { min = -Infinity, max = Infinity } = u.scales.y
            // on a log axis over many decades: every k-th power of ten, at most 8 labels
            const span = scale === 'log' ? Math.log10(max / min) : 0
            const every = Math.max(1, Math.ceil(span / 8))
            const decade = (v: number) => {
              const e = Math.round(Math.log10(v))
              return Math.abs(Math.log10(v) - e) < 1e-9 && e % every === 0
            }
            const shown = splits.map((v) =>
              v >= min * (1 - 1e-9) - 1e-12 && v <= max + 1e-12 && (span <= 2 || decade(v))
                ? v
                : null,
            )
            // the labelled ticks, for a reader of the DOM (the e2e test)
            host.current?.setAttribute('data-y-ticks', shown.filter((v) => v !== null).join(' '))
            return shown
          },
          ...(scale === 'log'
            ? {
                // powers of ten only: uPlot's own log splits never end below ~1e-16
                splits: (_u: uPlot, _axis: number, min: number, max: number) => {
                  const out: number[] = []
                  for (let e = Math.ceil(Math.log10(min)); e <= Math.floor(Math.log10(max)); e++) {
                    out.push(Number(`1e${e}`))
                  }
                  return out
                },
                values: (_u: uPlot, splits: number[]) =>
                  splits.map((v) =>
                    v == null ? '' : v >= 1e-3 && v < 1e4 ? String(v) : v.toExponential(0),
                  ),
              }
            : {}),
        },
      ],
      series: [
        { label: 'step' },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          points: { show: false },
        })),
      ],
      legend: { live: false },
    }
    const empty = [[], ...series.map(() => [])] as unknown as uPlot.AlignedData
    plot.current = new uPlot(opts, empty, host.current!)
    return () => {
      plot.current?.destroy()
      plot.current = null
    }
  }, [title, series, width, height, scale])
  // redraw at most 10 times a second (or as `redrawEvery` says): a chart needs no more, and
  // software-rendered canvases are the page's largest cost per frame (the readouts still update
  // every frame)
  const latest = useRef(props.data)
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null)
  const drawn = useRef(0)
  latest.current = props.data
  useEffect(() => {
    const draw = () => {
      timer.current = null
      drawn.current = performance.now()
      // uPlot reads null as a gap; a NaN (the initial state's loss) would break its y range
      const [x, ...ys] = latest.current
      const gaps = ys.map((y) =>
        y.map((v) => (Number.isFinite(v) && (scale !== 'log' || v > 0) ? v : null)),
      )
      plot.current?.setData([x, ...gaps] as unknown as uPlot.AlignedData)
    }
    const wait = drawn.current + (props.redrawEvery ?? 100) - performance.now()
    if (wait <= 0) draw()
    else if (timer.current === null) timer.current = setTimeout(draw, wait)
  }, [props.data, scale])
  useEffect(() => () => void (timer.current !== null && clearTimeout(timer.current)), [])
  return <div ref={host} data-testid={props.testId} />
}
