/**
 * TensorBoard's `Event` protobuf (tensorflow/core/util/event.proto, with `Summary`,
 * `HistogramProto` and `SummaryMetadata` from tensorflow/core/framework/summary.proto and
 * `TensorProto` from tensor.proto), encoded field by field with @bufbuild/protobuf's wire
 * writer. Only the fields gradstream writes; their numbers:
 *
 *     Event            wall_time 1 (double), step 2 (int64), file_version 3 (string), summary 5
 *     Summary          value 1 (repeated Value)
 *     Summary.Value    tag 1, simple_value 2 (float), histo 5, tensor 8, metadata 9
 *     HistogramProto   min 1, max 2, num 3, sum 4, sum_squares 5 (doubles),
 *                      bucket_limit 6, bucket 7 (packed doubles)
 *     SummaryMetadata  plugin_data 1 { plugin_name 1 }
 *     TensorProto      dtype 1 (DT_STRING = 7), tensor_shape 2 (empty: a scalar), string_val 8
 */
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire'

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
  return new BinaryWriter()
    .tag(1, WireType.Bit64)
    .double(wallTime)
    .tag(3, WireType.LengthDelimited)
    .string('brain.Event:2')
    .finish()
}

/** An `Event` at `step` carrying a `Summary` of `values`. */
export function summaryEvent(
  wallTime: number,
  step: number,
  values: readonly SummaryValue[],
): Uint8Array {
  const w = new BinaryWriter()
  w.tag(1, WireType.Bit64).double(wallTime)
  w.tag(2, WireType.Varint).int64(step)
  w.tag(5, WireType.LengthDelimited).fork()
  for (const v of values) {
    w.tag(1, WireType.LengthDelimited).fork()
    w.tag(1, WireType.LengthDelimited).string(v.tag)
    if ('scalar' in v) {
      // float32, as TensorBoard stores it; a value beyond float32's range becomes ±Infinity
      w.tag(2, WireType.Bit32).float(Math.fround(v.scalar))
    } else if ('histogram' in v) {
      writeHistogram(w.tag(5, WireType.LengthDelimited).fork(), v.histogram).join()
    } else {
      w.tag(9, WireType.LengthDelimited).fork() // metadata
      w.tag(1, WireType.LengthDelimited).fork() // plugin_data
      w.tag(1, WireType.LengthDelimited).string('text')
      w.join().join()
      w.tag(8, WireType.LengthDelimited).fork() // tensor
      w.tag(1, WireType.Varint).int32(DT_STRING)
      w.tag(2, WireType.LengthDelimited).bytes(new Uint8Array(0)) // shape []: a scalar
      w.tag(8, WireType.LengthDelimited).string(v.text)
      w.join()
    }
    w.join()
  }
  w.join()
  return w.finish()
}

function writeHistogram(w: BinaryWriter, h: Histogram): BinaryWriter {
  w.tag(1, WireType.Bit64).double(h.min)
  w.tag(2, WireType.Bit64).double(h.max)
  w.tag(3, WireType.Bit64).double(h.num)
  w.tag(4, WireType.Bit64).double(h.sum)
  w.tag(5, WireType.Bit64).double(h.sumSquares)
  w.tag(6, WireType.LengthDelimited).fork()
  for (const x of h.bucketLimit) w.double(x)
  w.join()
  w.tag(7, WireType.LengthDelimited).fork()
  for (const x of h.bucket) w.double(x)
  return w.join()
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
