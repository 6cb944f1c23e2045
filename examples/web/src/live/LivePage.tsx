import { useEffect, useMemo, useRef, useState } from 'react'
import { BehaviorSubject, type Subscription } from 'rxjs'
import { fromServerSentStates, sampleFrames, toStore, type WireFrame } from 'gradstream'
import { LineChart } from '../LineChart.js'
import { useStore } from '../useStore.js'

interface View {
  readonly status: 'idle' | 'connecting' | 'live' | 'ended' | 'error'
  readonly last: WireFrame | null
  readonly steps: number[]
  readonly losses: number[]
  readonly metricNames: string[]
  /** one column per metric, aligned with `steps`: the last measured value carried forward */
  readonly metrics: Record<string, number[]>
  /** each metric's latest value (frames between evaluations carry `"metrics": {}`) */
  readonly latest: Record<string, number>
  readonly message: string
}

/** A new empty view: the arrays are appended to in place, so every run needs its own. */
const fresh = (status: View['status']): View => ({
  status,
  last: null,
  steps: [],
  losses: [],
  metricNames: [],
  metrics: {},
  latest: {},
  message: '',
})
const initial = fresh('idle')
const COLORS = ['#4363d8', '#3cb44b', '#f58231', '#911eb4', '#000075']

/** The URL to connect to: `#/live?url=…` when given, else a local `gradstream train mnist --serve 8080`. */
const defaultUrl = () =>
  new URLSearchParams(location.hash.split('?')[1] ?? '').get('url') ??
  'http://127.0.0.1:8080/events'

export function LivePage() {
  const view$ = useMemo(() => new BehaviorSubject<View>(initial), [])
  const store = useMemo(() => toStore(view$.pipe(sampleFrames<View>()), initial), [view$])
  const view = useStore(store)
  const [url, setUrl] = useState(defaultUrl)
  const sub = useRef<Subscription | null>(null)
  useEffect(() => () => sub.current?.unsubscribe(), [])
  // a new #/live?url=… (a link, the address bar) replaces the URL in the box
  useEffect(() => {
    const on = () => setUrl(defaultUrl())
    addEventListener('hashchange', on)
    return () => removeEventListener('hashchange', on)
  }, [])

  const connect = () => {
    sub.current?.unsubscribe()
    view$.next(fresh('connecting'))
    sub.current = fromServerSentStates(url).subscribe({
      next: (f) => {
        const v = view$.value
        v.steps.push(f.step)
        v.losses.push(f.loss)
        for (const name of Object.keys(f.metrics)) {
          if (!(name in v.metrics)) {
            v.metrics[name] = Array.from(v.steps.slice(0, -1), () => NaN)
            v.metricNames.push(name)
          }
          v.latest[name] = f.metrics[name]
        }
        // a metric is measured now and then (an evaluation every epoch): between measurements
        // its line holds the last value, so the points join into a line
        for (const name of v.metricNames) v.metrics[name].push(v.latest[name])
        view$.next({ ...v, status: 'live', last: f })
      },
      complete: () => view$.next({ ...view$.value, status: 'ended' }),
      error: (e: unknown) =>
        view$.next({
          ...view$.value,
          status: 'error',
          message: e instanceof Error ? e.message : String(e),
        }),
    })
  }

  const f = view.last
  const lossData = useMemo(() => [view.steps, view.losses], [view])
  const metricData = useMemo(
    () => [view.steps, ...view.metricNames.map((n) => view.metrics[n])],
    [view],
  )
  const lossSeries = useMemo(() => [{ label: 'loss', color: '#e6194b' }], [])
  const names = view.metricNames.join(',')
  const metricSeries = useMemo(
    () =>
      (names ? names.split(',') : []).map((n, i) => ({
        label: n,
        color: COLORS[i % COLORS.length],
      })),
    [names],
  )

  return (
    <div className="row">
      <div className="panel">
        <div className="controls">
          <input
            data-testid="live-url"
            aria-label="address of a run's Server-Sent Events stream"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            style={{ width: '22em' }}
          />
          <button data-testid="live-connect" onClick={connect}>
            Connect
          </button>
          <button
            data-testid="live-disconnect"
            onClick={() => (
              sub.current?.unsubscribe(),
              view$.next({ ...view$.value, status: 'idle' })
            )}
          >
            Disconnect
          </button>
        </div>
        <table className="readouts">
          <tbody>
            <tr>
              <td>status</td>
              <td data-testid="live-status">{view.status}</td>
            </tr>
            <tr>
              <td>run</td>
              <td data-testid="live-run">{f?.run ?? '—'}</td>
            </tr>
            <tr>
              <td>step</td>
              <td data-testid="live-step" data-value={f?.step ?? -1}>
                {f?.step ?? '—'}
              </td>
            </tr>
            <tr>
              <td>frames received</td>
              <td data-testid="live-count" data-value={view.steps.length}>
                {view.steps.length}
              </td>
            </tr>
            <tr>
              <td>loss</td>
              <td data-testid="live-loss" data-value={String(f?.loss ?? NaN)}>
                {f && !Number.isNaN(f.loss) ? f.loss.toPrecision(5) : '—'}
              </td>
            </tr>
            <tr>
              <td>lr</td>
              <td data-testid="live-lr">{f && !Number.isNaN(f.lr) ? f.lr.toPrecision(3) : '—'}</td>
            </tr>
            <tr>
              <td>‖∇‖</td>
              <td data-testid="live-gradnorm">{f ? f.gradNorm.toPrecision(4) : '—'}</td>
            </tr>
            {view.metricNames.map((n) => (
              <tr key={n}>
                <td>{n}</td>
                <td
                  data-testid={`live-metric-${n}`}
                  data-value={view.latest[n]}
                  data-points={view.metrics[n].filter(Number.isFinite).length}
                >
                  {view.latest[n]?.toFixed(4) ?? '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {view.message ? <p className="bad">{view.message}</p> : null}
        <p className="muted">
          Plots any run published in gradstream's wire format over Server-Sent Events:
          <code> gradstream train mnist --serve 8080 --cors {location.origin}</code>, or
          <code> python3 examples/python/publish_numpy_run.py --port 8081</code>.
        </p>
      </div>
      <div className="panel">
        <LineChart title="loss" series={lossSeries} data={lossData} testId="live-loss-chart" />
        {metricSeries.length > 0 ? (
          <LineChart
            title="metrics"
            series={metricSeries}
            data={metricData}
            testId="live-metric-chart"
          />
        ) : null}
      </div>
    </div>
  )
}
