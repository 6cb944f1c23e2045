/**
 * TensorBoard's `Event` protobuf (tensorflow/core/util/event.proto, with `Summary`,
 * `HistogramProto` and `SummaryMetadata` from tensorflow/core/framework/summary.proto and
 * `TensorProto` from tensor.proto), encoded field by field. Only the fields gradstream writes;
 * their numbers:
 *
 *     Event            wall_time 1 (double), step 2 (int64), file_version 3 (string), summary 5
 *     Summary          value 1 (repeated Value)
 *     Summary.Value    tag 1, simple_value 2 (float), histo 5, tensor 8, metadata 9
 *     HistogramProto   min 1, max 2, num 3, sum 4, sum_squares 5 (doubles),
 *                      bucket_limit 6, bucket 7 (packed doubles)
 *     SummaryMetadata  plugin_data 1 { plugin_name 1 }
 *     TensorProto      dtype 1 (DT_STRING = 7), tensor_shape 2 (empty: a scalar), string_val 8
 *
 * The protobuf wire format these need is small (protobuf.dev/programming-guides/encoding): a
 * field is its key `field << 3 | wire type` as a varint, then a varint (int32, int64), 8 or 4
 * little-endian bytes (double, float) or a varint length and that many bytes (strings, nested
 * messages, packed repeated doubles). Written here, in the shortest form (as protobuf's own
 * encoders write), rather than with a protobuf package: the whole encoder is `ProtoWriter`
 * below, where @bufbuild/protobuf would add 3 MB to every library user's install (issue 15).
 * test/logging decodes the files with protobufjs from TensorBoard's checked-in .proto schema.
 */

const VARINT = 0
const FIXED64 = 1
const LENGTH_DELIMITED = 2
const FIXED32 = 5

const utf8 = new TextEncoder()

/**
 * An append-only protobuf encoder into one growing buffer. A nested message or packed field is
 * written between `fork()` and `join(at)`: its bytes first, then its length put in front of them.
 */
class ProtoWriter {
  private buf = new Uint8Array(512)
  private dataView = new DataView(this.buf.buffer)
  private at = 0

  /** `field`'s key with its wire type. */
  key(field: number, wireType: number): this {
    return this.varint(field * 8 + wireType)
  }

  /** An unsigned varint: 7 bits a byte, least significant first; `n` a safe integer ≥ 0. */
  varint(n: number): this {
    this.reserve(10)
    while (n >= 0x80) {
      this.buf[this.at++] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    this.buf[this.at++] = n
    return this
  }

  /** An `int64`: a varint; a negative one as its 64-bit two's complement (ten bytes). */
  int64(n: number): this {
    if (n >= 0) return this.varint(n)
    let u = BigInt.asUintN(64, BigInt(n))
    this.reserve(10)
    for (; u >= 0x80n; u >>= 7n) this.buf[this.at++] = Number(u & 0x7fn) | 0x80
    this.buf[this.at++] = Number(u)
    return this
  }

  double(x: number): this {
    this.reserve(8)
    this.dataView.setFloat64(this.at, x, true)
    this.at += 8
    return this
  }

  float(x: number): this {
    this.reserve(4)
    this.dataView.setFloat32(this.at, x, true)
    this.at += 4
    return this
  }

  /** Length-delimited bytes (a string's UTF-8). */
  bytes(b: Uint8Array): this {
    this.varint(b.length)
    this.reserve(b.length)
    this.buf.set(b, this.at)
    this.at += b.length
    return this
  }

  string(s: string): this {
    return this.bytes(utf8.encode(s))
  }

  /** Starts a length-delimited run of fields; returns where it starts, for `join`. */
  fork(): number {
    return this.at
  }

  /** Ends the run begun at `start`: its bytes move up to make room for their length. */
  join(start: number): this {
    const length = this.at - start
    let size = 1
    for (let n = length; n >= 0x80; n = Math.floor(n / 0x80)) size++
    this.reserve(size)
    this.buf.copyWithin(start + size, start, this.at)
    const end = this.at + size
    this.at = start
    this.varint(length)
    this.at = end
    return this
  }

  /** A copy of everything written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.at)
  }

  /** Everything written, in place (valid until the writer is written to again). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.at)
  }

  /** Forgets what was written; the buffer is kept for the next message. */
  reset(): this {
    this.at = 0
    return this
  }

  private reserve(n: number): void {
    if (this.at + n <= this.buf.length) return
    const bigger = new Uint8Array(Math.max(2 * this.buf.length, this.at + n))
    bigger.set(this.buf.subarray(0, this.at))
    this.buf = bigger
    this.dataView = new DataView(bigger.buffer)
  }
}

/** TensorBoard's `HistogramProto`: bucket i spans (bucketLimit[i−1], bucketLimit[i]]. */
export interface Histogram {
  readonly min: number
  readonly max: number
  readonly num: number
  readonly sum: number
  readonly sumSquares: number
  readonly bucketLimit: readonly number[]
  readonly bucket: readonly number[]
}

/** One `Summary.Value`: a scalar, a histogram or a text (the text plugin's string tensor). */
export type SummaryValue =
  | { readonly tag: string; readonly scalar: number }
  | { readonly tag: string; readonly histogram: Histogram }
  | { readonly tag: string; readonly text: string }

const DT_STRING = 7

/** The first record of every event file: `file_version: "brain.Event:2"`. */
export function fileVersionEvent(wallTime: number): Uint8Array {
  return new ProtoWriter()
    .key(1, FIXED64)
    .double(wallTime)
    .key(3, LENGTH_DELIMITED)
    .string('brain.Event:2')
    .finish()
}

/** Tags repeat every step: their UTF-8, encoded once. */
const tagBytes = new Map<string, Uint8Array>()
const encodedTag = (tag: string): Uint8Array => {
  let b = tagBytes.get(tag)
  if (b === undefined) tagBytes.set(tag, (b = utf8.encode(tag)))
  return b
}

/** The writer of every summary event: one buffer, reused (no allocation per step). */
const events = new ProtoWriter()

/**
 * An `Event` at `step` carrying a `Summary` of `values`: a view of a buffer that the next call
 * overwrites (frame or copy it at once).
 */
export function summaryEvent(
  wallTime: number,
  step: number,
  values: readonly SummaryValue[],
): Uint8Array {
  const w = events.reset()
  w.key(1, FIXED64).double(wallTime)
  w.key(2, VARINT).int64(step)
  const summary = w.key(5, LENGTH_DELIMITED).fork()
  for (const v of values) {
    const value = w.key(1, LENGTH_DELIMITED).fork()
    w.key(1, LENGTH_DELIMITED).bytes(encodedTag(v.tag))
    if ('scalar' in v) {
      // float32, as TensorBoard stores it; a value beyond float32's range becomes ±Infinity
      w.key(2, FIXED32).float(v.scalar)
    } else if ('histogram' in v) {
      writeHistogram(w, v.histogram)
    } else {
      const metadata = w.key(9, LENGTH_DELIMITED).fork()
      const pluginData = w.key(1, LENGTH_DELIMITED).fork()
      w.key(1, LENGTH_DELIMITED).string('text')
      w.join(pluginData).join(metadata)
      const tensor = w.key(8, LENGTH_DELIMITED).fork()
      w.key(1, VARINT).varint(DT_STRING)
      w.key(2, LENGTH_DELIMITED).varint(0) // tensor_shape {}: a scalar
      w.key(8, LENGTH_DELIMITED).string(v.text)
      w.join(tensor)
    }
    w.join(value)
  }
  return w.join(summary).view()
}

/** `Summary.Value.histo` (field 5): a `HistogramProto`. */
function writeHistogram(w: ProtoWriter, h: Histogram): void {
  const histo = w.key(5, LENGTH_DELIMITED).fork()
  w.key(1, FIXED64).double(h.min)
  w.key(2, FIXED64).double(h.max)
  w.key(3, FIXED64).double(h.num)
  w.key(4, FIXED64).double(h.sum)
  w.key(5, FIXED64).double(h.sumSquares)
  const limits = w.key(6, LENGTH_DELIMITED).fork()
  for (const x of h.bucketLimit) w.double(x)
  w.join(limits)
  const counts = w.key(7, LENGTH_DELIMITED).fork()
  for (const x of h.bucket) w.double(x)
  w.join(counts).join(histo)
}

/**
 * A histogram of the finite values in `data` with `buckets` equal-width buckets between their
 * least and greatest (one bucket when they are all equal, none when there are no finite values).
 * TensorBoard reads bucket i as spanning (bucketLimit[i−1], bucketLimit[i]], the first from `min`.
 */
export function histogramOf(data: Float64Array, buckets = 30): Histogram {
  let min = Infinity
  let max = -Infinity
  let num = 0
  let sum = 0
  let sumSquares = 0
  for (let i = 0; i < data.length; i++) {
    const x = data[i]
    if (!Number.isFinite(x)) continue
    if (x < min) min = x
    if (x > max) max = x
    num++
    sum += x
    sumSquares += x * x
  }
  if (num === 0) return { min: 0, max: 0, num, sum, sumSquares, bucketLimit: [], bucket: [] }
  const k = max > min ? buckets : 1
  const width = (max - min) / k
  const bucket = new Array<number>(k).fill(0)
  for (let i = 0; i < data.length; i++) {
    const x = data[i]
    // right-closed buckets: x on a limit counts in the bucket that limit ends
    if (Number.isFinite(x))
      bucket[Math.max(0, Math.min(k - 1, Math.ceil((x - min) / width) - 1 || 0))]++
  }
  const bucketLimit = bucket.map((_, i) => (i === k - 1 ? max : min + (i + 1) * width))
  return { min, max, num, sum, sumSquares, bucketLimit, bucket }
}
