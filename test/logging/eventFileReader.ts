// A reader of TensorBoard event files that shares no code with gradstream's writer: TFRecord
// framing read with a DataView, every checksum recomputed with a bitwise CRC32C written here
// (no table, unlike the writer's) and compared with @aws-crypto/crc32c's, and each record
// decoded by protobufjs from TensorBoard's own .proto schema (test/logging/proto, origin named
// in each file).
import { Crc32c } from '@aws-crypto/crc32c'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import protobuf from 'protobufjs'

const protoDir = fileURLToPath(new URL('./proto', import.meta.url))

/** TensorFlow's event schema, loaded from the checked-in .proto text. */
export const Event: protobuf.Type = (() => {
  const root = new protobuf.Root()
  root.resolvePath = (_origin, target) => join(protoDir, target.replace(/^.*?(tensorflow\/)/, '$1'))
  root.loadSync('tensorflow/core/util/event.proto', { keepCase: true })
  return root.lookupType('tensorflow.Event')
})()

/** CRC-32C bit by bit: reflected Castagnoli polynomial 0x82F63B78, init and final xor ~0. */
export function crc32cBitwise(bytes: Uint8Array): number {
  let c = ~0
  for (const b of bytes) {
    c ^= b
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0x82f63b78 & -(c & 1))
  }
  return ~c >>> 0
}

/** TensorFlow's mask: rotate right by 15 bits, add 0xa282ead8 (mod 2³²). */
export const mask = (crc: number) => ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) % 2 ** 32

/** Both CRC32Cs of `bytes`; throws if they differ, so a check against one is against both. */
export function crcOf(bytes: Uint8Array): number {
  const aws = new Crc32c().update(bytes).digest()
  const ours = crc32cBitwise(bytes)
  if (aws !== ours) throw new Error(`the two CRC32Cs disagree: ${aws} vs ${ours}`)
  return ours
}

/** A decoded `Event`, as protobufjs hands it over (longs as numbers, bytes as Buffers). */
export interface DecodedEvent {
  wall_time: number
  step: number
  file_version?: string
  summary?: {
    value: {
      tag: string
      simple_value?: number
      histo?: {
        min: number
        max: number
        num: number
        sum: number
        sum_squares: number
        bucket_limit: number[]
        bucket: number[]
      }
      metadata?: { plugin_data?: { plugin_name: string } }
      tensor?: { dtype: string; tensor_shape?: { dim: unknown[] }; string_val: Uint8Array[] }
    }[]
  }
}

/** Every whole, checksummed record of `bytes`, decoded; `problem` says why reading stopped early. */
export function readEventFile(bytes: Uint8Array): { events: DecodedEvent[]; problem?: string } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const events: DecodedEvent[] = []
  let at = 0
  while (at < bytes.length) {
    const n = events.length
    if (at + 12 > bytes.length) return { events, problem: `record ${n}: truncated header` }
    const length = Number(view.getBigUint64(at, true))
    if (view.getUint32(at + 8, true) !== mask(crcOf(bytes.subarray(at, at + 8)))) {
      return { events, problem: `record ${n}: bad length checksum` }
    }
    if (at + 12 + length + 4 > bytes.length)
      return { events, problem: `record ${n}: truncated data` }
    const data = bytes.subarray(at + 12, at + 12 + length)
    if (view.getUint32(at + 12 + length, true) !== mask(crcOf(data))) {
      return { events, problem: `record ${n}: bad data checksum` }
    }
    const message = Event.decode(data)
    events.push(
      Event.toObject(message, {
        longs: Number,
        enums: String,
        defaults: true,
        oneofs: false,
      }) as DecodedEvent,
    )
    at += 12 + length + 4
  }
  return { events }
}

/** The scalars of `events` by tag: [step, value] in file order. */
export function scalarsOf(events: DecodedEvent[]): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>()
  for (const e of events)
    for (const v of e.summary?.value ?? [])
      if (v.simple_value !== undefined && v.histo == null && v.tensor == null)
        out.set(v.tag, [...(out.get(v.tag) ?? []), [e.step, v.simple_value]])
  return out
}
