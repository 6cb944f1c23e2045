/**
 * Shared by `trainInWorker` (the page / main thread side) and `exposeTraining` (the worker side):
 * the message protocol, an adapter over the two worker APIs (Web Workers and Node's
 * worker_threads), and the packing of states so that their tensors travel as transferred
 * buffers instead of being copied a second time.
 */
import { freeze } from 'immer'
import { isTensor } from '../tensor/tensor.js'

/** Messages from the main thread to the worker. */
export type ToWorker =
  | { readonly gs: 'start'; readonly config: unknown }
  | { readonly gs: 'pause' }
  | { readonly gs: 'resume' }
  | { readonly gs: 'stop' }
  | { readonly gs: 'lr'; readonly value: number }

/** Messages from the worker to the main thread. */
export type FromWorker =
  | { readonly gs: 'state'; readonly state: unknown }
  | { readonly gs: 'complete' }
  | {
      readonly gs: 'error'
      readonly name: string
      readonly message: string
      readonly step?: number
    }

/**
 * Either side of a worker channel: a Web `Worker`, a worker's `self`, a Node `Worker` or
 * `parentPort`, or any `MessagePort`.
 */
export interface MessageEndpoint {
  postMessage(message: unknown, transfer?: readonly Transferable[] | readonly ArrayBuffer[]): void
  on?(event: string, listener: (value: unknown) => void): unknown
  off?(event: string, listener: (value: unknown) => void): unknown
  addEventListener?(event: string, listener: (ev: unknown) => void): void
  removeEventListener?(event: string, listener: (ev: unknown) => void): void
}

/**
 * Listens for messages (and, for a worker, its errors and exit) on either API; returns the
 * function that removes the listeners.
 */
export function listen(
  endpoint: MessageEndpoint,
  onMessage: (data: unknown) => void,
  onError?: (error: Error) => void,
  onExit?: (code: number) => void,
): () => void {
  if (typeof endpoint.on === 'function' && typeof endpoint.off === 'function') {
    // Node: EventEmitter-style, the listener gets the data itself
    const err = (e: unknown) => onError?.(e instanceof Error ? e : new Error(String(e)))
    const exit = (code: unknown) => onExit?.(Number(code))
    endpoint.on('message', onMessage)
    endpoint.on('error', err)
    endpoint.on('exit', exit)
    return () => {
      endpoint.off!('message', onMessage)
      endpoint.off!('error', err)
      endpoint.off!('exit', exit)
    }
  }
  const msg = (ev: unknown) => onMessage((ev as MessageEvent).data)
  const err = (ev: unknown) => {
    const e = ev as ErrorEvent
    onError?.(new Error(e.message ?? 'worker error'))
  }
  endpoint.addEventListener!('message', msg)
  endpoint.addEventListener!('error', err)
  return () => {
    endpoint.removeEventListener!('message', msg)
    endpoint.removeEventListener!('error', err)
  }
}

/**
 * Copies every tensor's data into a fresh buffer and lists those buffers for transfer: the run
 * keeps its own arrays (it will read them on the next step), and the copy moves to the other
 * thread without a second copy by the structured clone.
 */
export function packState(state: unknown): { state: unknown; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = []
  const go = (v: unknown): unknown => {
    if (isTensor(v)) {
      const data = v.data.slice()
      transfer.push(data.buffer)
      return { shape: [...v.shape], data }
    }
    if (v instanceof Float64Array) {
      const data = v.slice()
      transfer.push(data.buffer)
      return data
    }
    if (Array.isArray(v)) return v.map(go)
    if (typeof v === 'object' && v !== null && !ArrayBuffer.isView(v)) {
      const out: Record<string, unknown> = {}
      for (const k of Object.keys(v)) out[k] = go((v as Record<string, unknown>)[k])
      return out
    }
    return v
  }
  return { state: go(state), transfer }
}

/** A received state, deeply frozen again as the run's own states are. */
export function unpackState<S>(state: unknown): S {
  return freeze(state, true) as S
}
