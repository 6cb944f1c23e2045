/**
 * What `toTensorBoard` and `toCsv` share: a file that whole records are appended to through a
 * memory buffer, and the operator that writes each state into it and passes the state on.
 */
import * as fs from 'node:fs'
import { dirname } from 'node:path'
import { defer, finalize, merge, Subject, tap, type MonoTypeOperatorFunction } from 'rxjs'

/**
 * An append-only file fed whole records. A record is buffered until `flush`, which writes the
 * buffer with one synchronous write; so a crash loses at most the records buffered since the
 * last flush, and the file always ends after a whole record (unless the machine dies inside
 * that write, which a reader reports as a truncated last record).
 */
export class BufferedFile {
  private fd: number
  private buffer = new Uint8Array(1 << 16)
  private size = 0
  private flushed = performance.now()

  /** Opens (creating the folder) `file` for appending; throws `fn: cannot write <file>: …`. */
  constructor(
    private readonly fn: string,
    readonly file: string,
    private readonly flushEveryMs: number,
    flags: 'w' | 'wx' | 'a' = 'a',
  ) {
    this.fd = this.attempt(() => {
      fs.mkdirSync(dirname(file), { recursive: true })
      return fs.openSync(file, flags)
    })
  }

  /** Copies `bytes` to the end of the buffer (the caller may reuse its array). */
  append(bytes: Uint8Array): void {
    if (this.size + bytes.length > this.buffer.length) {
      const bigger = new Uint8Array(Math.max(2 * this.buffer.length, this.size + bytes.length))
      bigger.set(this.buffer.subarray(0, this.size))
      this.buffer = bigger
    }
    this.buffer.set(bytes, this.size)
    this.size += bytes.length
  }

  /** Writes the buffer if the last write is `flushEveryMs` old. */
  flushIfDue(): void {
    if (performance.now() - this.flushed >= this.flushEveryMs) this.flush()
  }

  /** Writes everything buffered; on failure the buffer is kept and the error names the file. */
  flush(): void {
    this.flushed = performance.now()
    if (this.size === 0) return
    const all = this.buffer.subarray(0, this.size)
    this.attempt(() => {
      for (let at = 0; at < all.length;) at += fs.writeSync(this.fd, all, at, all.length - at)
    })
    this.size = 0
  }

  /**
   * Replaces the file's whole text by `edit(text)` (atomically: a new file renamed over the
   * old), after writing the buffer; appending goes on at the new end.
   */
  rewrite(edit: (text: string) => string): void {
    this.flush()
    this.attempt(() => {
      const text = fs.readFileSync(this.file, 'utf8')
      const tmp = `${this.file}.${process.pid}.tmp`
      fs.writeFileSync(tmp, edit(text))
      fs.closeSync(this.fd)
      fs.renameSync(tmp, this.file)
      this.fd = fs.openSync(this.file, 'a')
    })
  }

  /** Writes what is buffered (if it can) and closes the file. */
  close(): void {
    try {
      this.flush()
    } catch {
      // reported already, or nobody is listening any more (unsubscribed)
    }
    try {
      fs.closeSync(this.fd)
    } catch {
      // closed already
    }
  }

  private attempt<T>(io: () => T): T {
    try {
      return io()
    } catch (e) {
      throw new Error(`${this.fn}: cannot write ${this.file}: ${(e as Error).message}`, {
        cause: e,
      })
    }
  }
}

/**
 * The operator of a file writer: on subscription `open()` opens the file (an error there is the
 * stream's error; its `close` runs after the file is closed at the end), `write` appends each
 * state's records before the state is passed on, and the buffer is written every
 * `flushEveryMs` — on the next state or by a timer when states pause — and on completion,
 * error and unsubscription. A write that fails errors the stream with the file's name;
 * completion waits for the last write to succeed.
 */
export function writingTo<S>(
  open: () => {
    readonly sink: BufferedFile
    readonly write: (s: S) => void
    /** called at the end, after the file is closed */
    readonly close?: () => void
  },
  flushEveryMs: number,
): MonoTypeOperatorFunction<S> {
  return (source) =>
    defer(() => {
      const { sink, write, close } = open()
      const failed$ = new Subject<S>() // errors when a timed write fails; completes with the run
      const timer = setInterval(() => {
        try {
          sink.flush()
        } catch (e) {
          failed$.error(e)
        }
      }, flushEveryMs)
      timer.unref?.()
      const states$ = source.pipe(
        tap({
          next: (s) => {
            write(s)
            sink.flushIfDue()
          },
          complete: () => {
            sink.flush() // throws: the stream errors instead of completing
            failed$.complete()
          },
        }),
      )
      return merge(states$, failed$).pipe(
        finalize(() => {
          clearInterval(timer)
          sink.close()
          close?.()
        }),
      )
    })
}
