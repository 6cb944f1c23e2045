// Reading a person's CSV: numeric columns, the last one the class label. Every problem is named
// by the row (the file's line number, as an editor shows it) and the column.

export interface Table {
  /** feature names (the header's, or x1, x2, …) */
  readonly features: readonly string[]
  readonly labelName: string
  /** n × d features, row-major */
  readonly x: Float64Array
  readonly n: number
  readonly d: number
  /** class index of each row (0 … classes − 1) */
  readonly y: Int32Array
  /** the label values the classes stand for, in class order */
  readonly classes: readonly number[]
}

export class CsvError extends Error {
  override name = 'CsvError'
}

const MAX_CLASSES = 10
const MAX_ROWS = 20_000

const cells = (line: string) => line.split(/[,;\t]/).map((c) => c.trim().replace(/^"(.*)"$/, '$1'))
const isNumber = (c: string) => c !== '' && Number.isFinite(Number(c))

/**
 * Parses `text` as a CSV of numbers with the class label in the last column. A first line that
 * is not all numbers is the header. Blank lines are skipped.
 *
 * @throws {CsvError} `csv: row 4, column 2 ("y"): expected a number, got "abc"`
 */
export function parseCsv(text: string): Table {
  const lines = text.split(/\r?\n/)
  let header: string[] | null = null
  let width = 0
  const xs: number[] = []
  const labels: number[] = []
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue
    const row = cells(lines[i])
    const at = `csv: row ${i + 1}`
    if (width === 0) {
      width = row.length
      if (width < 2) {
        throw new CsvError(
          `${at}: expected at least 2 columns (features, then the label), got ${width}`,
        )
      }
      if (!row.every(isNumber)) {
        header = row
        continue
      }
    }
    if (row.length !== width) {
      throw new CsvError(`${at}: expected ${width} columns, got ${row.length}`)
    }
    row.forEach((c, j) => {
      if (!isNumber(c)) {
        const name = header ? ` ("${header[j]}")` : ''
        throw new CsvError(`${at}, column ${j + 1}${name}: expected a number, got "${c}"`)
      }
    })
    const values = row.map(Number)
    for (let j = 0; j < width - 1; j++) xs.push(values[j])
    labels.push(values[width - 1])
    if (labels.length > MAX_ROWS) {
      throw new CsvError(`csv: expected at most ${MAX_ROWS} rows, got more (row ${i + 1})`)
    }
  }
  if (labels.length < 2)
    throw new CsvError(`csv: expected at least 2 rows of numbers, got ${labels.length}`)
  const classes = [...new Set(labels)].sort((a, b) => a - b)
  if (classes.length < 2) {
    throw new CsvError(
      `csv: column ${width} (the label): expected at least 2 classes, got only ${classes[0]}`,
    )
  }
  if (classes.length > MAX_CLASSES) {
    throw new CsvError(
      `csv: column ${width} (the label): expected at most ${MAX_CLASSES} classes, got ${classes.length} different values`,
    )
  }
  const index = new Map(classes.map((c, k) => [c, k]))
  const d = width - 1
  return {
    features: header ? header.slice(0, d) : Array.from({ length: d }, (_, j) => `x${j + 1}`),
    labelName: header ? header[d] : 'label',
    x: Float64Array.from(xs),
    n: labels.length,
    d,
    y: Int32Array.from(labels, (l) => index.get(l)!),
    classes,
  }
}

/** Each feature scaled to mean 0 and standard deviation 1 (a constant column stays 0). */
export function standardize(t: Table): { x: Float64Array; mean: Float64Array; std: Float64Array } {
  const { n, d } = t
  const mean = new Float64Array(d)
  const std = new Float64Array(d)
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += t.x[i * d + j] / n
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) std[j] += (t.x[i * d + j] - mean[j]) ** 2 / n
  for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j]) || 1
  const x = new Float64Array(n * d)
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) x[i * d + j] = (t.x[i * d + j] - mean[j]) / std[j]
  return { x, mean, std }
}

/** Small 2-D datasets to start from (seeded, so the same every time). */
export function sampleCsv(kind: 'moons' | 'circles' | 'xor' | 'spiral', n = 300): string {
  let s = 12345
  const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648
  const noise = (a: number) => (rand() - 0.5) * 2 * a
  const rows: string[] = ['x,y,class']
  for (let i = 0; i < n; i++) {
    const c = i % 2
    let x = 0
    let y = 0
    if (kind === 'moons') {
      const t = Math.PI * rand()
      ;[x, y] = c === 0 ? [Math.cos(t), Math.sin(t)] : [1 - Math.cos(t), 0.5 - Math.sin(t)]
      x += noise(0.15)
      y += noise(0.15)
    } else if (kind === 'circles') {
      const t = 2 * Math.PI * rand()
      const r = (c === 0 ? 0.4 : 1) + noise(0.12)
      ;[x, y] = [r * Math.cos(t), r * Math.sin(t)]
    } else if (kind === 'xor') {
      ;[x, y] = [noise(1), noise(1)]
      rows.push(`${x.toFixed(4)},${y.toFixed(4)},${x * y > 0 ? 1 : 0}`)
      continue
    } else {
      const t = (i / n) * 3 * Math.PI + 0.3
      const sign = c === 0 ? 1 : -1
      ;[x, y] = [
        sign * t * Math.cos(t) * 0.1 + noise(0.03),
        sign * t * Math.sin(t) * 0.1 + noise(0.03),
      ]
    }
    rows.push(`${x.toFixed(4)},${y.toFixed(4)},${c}`)
  }
  return rows.join('\n') + '\n'
}
