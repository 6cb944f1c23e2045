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
  /** 'asinh' handles negative and huge values (a saddle's loss), 'linear' otherwise */
  readonly scale?: 'asinh' | 'linear'
  readonly testId?: string
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
            : {},
      },
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
  // redraw at most 10 times a second: a chart needs no more, and software-rendered canvases
  // are the page's largest cost per frame (the readouts still update every frame)
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
      const gaps = ys.map((y) => y.map((v) => (Number.isFinite(v) ? v : null)))
      plot.current?.setData([x, ...gaps] as unknown as uPlot.AlignedData)
    }
    const wait = drawn.current + 100 - performance.now()
    if (wait <= 0) draw()
    else if (timer.current === null) timer.current = setTimeout(draw, wait)
  }, [props.data])
  useEffect(() => () => void (timer.current !== null && clearTimeout(timer.current)), [])
  return <div ref={host} data-testid={props.testId} />
}
