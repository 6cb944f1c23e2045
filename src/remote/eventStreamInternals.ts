/**
 * The line assembly of `fromServerSentStates`: text arrives in chunks of any size, lines end
 * with CR, LF or CRLF (possibly split across chunks). Each character is examined once and a
 * long line is kept as a list of its pieces, joined once when its end arrives, so the cost is
 * linear in the text whatever the chunking (re-searching a growing buffer from its start, as a
 * `buffer += chunk; buffer.search(/\n/)` loop does, is quadratic on a line with no end).
 */
export class LineSplitter {
  /** characters examined so far (each character of the input once) */
  scanned = 0
  private parts: string[] = []
  private pending = 0
  private skipLF = false

  /** @param maxLine the longest line accepted, in characters */
  constructor(private readonly maxLine: number) {}

  /**
   * The lines completed by `chunk`, in order.
   *
   * @throws {RangeError} `line: expected at most 100 characters, got a longer line`
   */
  push(chunk: string): string[] {
    const lines: string[] = []
    let start = 0
    let i = 0
    if (this.skipLF) {
      this.skipLF = false
      if (chunk.charCodeAt(0) === 10) start = i = 1 // the LF of a CRLF split across chunks
    }
    const n = chunk.length
    this.scanned += n // each once: by the loop, or as the LF after a CR
    for (; i < n; i++) {
      const ch = chunk.charCodeAt(i)
      if (ch !== 10 && ch !== 13) continue
      lines.push(this.take(chunk.slice(start, i)))
      if (ch === 13) {
        if (i + 1 === n) this.skipLF = true
        else if (chunk.charCodeAt(i + 1) === 10) i++ // examined here instead of by the loop
      }
      start = i + 1
    }
    if (start < n) {
      this.pending += n - start
      if (this.pending > this.maxLine) {
        throw new RangeError(`line: expected at most ${this.maxLine} characters, got a longer line`)
      }
      this.parts.push(chunk.slice(start))
    }
    return lines
  }

  private take(tail: string): string {
    if (this.parts.length === 0) return tail
    this.parts.push(tail)
    const line = this.parts.join('')
    this.parts = []
    this.pending = 0
    if (line.length > this.maxLine) {
      throw new RangeError(`line: expected at most ${this.maxLine} characters, got a longer line`)
    }
    return line
  }
}
