/** One row of a readout table: what it is, its test id, the text shown, and its exact value. */
export interface Readout {
  label: string
  testId: string
  text: string | number
  /** the unrounded value, kept in `data-value` for tests (the text is rounded for reading) */
  value?: string | number
}

/** `value.toFixed(digits)`, or a dash while there is no value yet (a diverged ∞ is shown). */
export const fixed = (value: number | undefined, digits: number): string =>
  value === undefined || Number.isNaN(value) ? '—' : value.toFixed(digits)

/** `value.toPrecision(digits)`, or a dash while there is no value yet (a diverged ∞ is shown). */
export const precise = (value: number | undefined, digits: number): string =>
  value === undefined || Number.isNaN(value) ? '—' : value.toPrecision(digits)

/** The two-column table of live figures beside a training run (status, step, loss, …). */
export function Readouts({ rows }: { rows: readonly Readout[] }) {
  return (
    <table className="readouts">
      <tbody>
        {rows.map((r) => (
          <tr key={r.testId}>
            <td>{r.label}</td>
            <td data-testid={r.testId} data-value={r.value}>
              {r.text}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
