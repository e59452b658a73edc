// The DATA phase as bytes arrive: finds the end marker CRLF "." CRLF, undoes
// dot-stuffing and turns CRLF into LF while copying each line once into one
// growing buffer, so the message is never joined or rescanned afterwards.
//
// Only CRLF ends a line for the end marker (RFC 5321 4.1.1.4; "\n.\n" or
// "\n.\r\n" must not end the data, the SMTP-smuggling hole). A bare LF is
// remembered (the message is refused) but scanning goes on to the real end so
// that the session stays in step with the client. A bare CR is data.
// With `anyEol` (local submission, BSMTP batches, which are usually LF) a bare
// LF ends a line like CRLF, and "." alone on a line ends the data.

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

export interface DecodedData {
  /** The message with LF line ends; undefined when it went over the size limit. */
  data: Buffer | undefined;
  /** Bytes as transmitted, up to but not including the final ".\r\n". */
  size: number;
  /** Offset in `data` of the first line that ended in a bare LF. */
  bareLf: number | undefined;
}

export class DataDecoder {
  private out: Buffer;
  private o = 0;
  private size = 0;
  private bareLf: number | undefined;
  /** The start of the current line, when it began in an earlier chunk. */
  private carry: Buffer | undefined;
  /** The previous line ended in CRLF (the DATA command did). */
  private afterCrlf = true;

  constructor(
    private readonly limit: number,
    private readonly anyEol = false,
  ) {
    this.out = Buffer.allocUnsafe(Math.min(limit, 16 * 1024) + 16);
  }

  /**
   * Consumes `chunk`. Returns undefined while the end marker has not been seen,
   * else the decoded message and the bytes after the marker (the next commands).
   */
  push(chunk: Buffer): { done: DecodedData; rest: Buffer } | undefined {
    let start = 0;
    for (let nl = chunk.indexOf(LF); nl >= 0; nl = chunk.indexOf(LF, start)) {
      let line = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.carry) {
        line = Buffer.concat([this.carry, line]);
        this.carry = undefined;
      }
      if (this.line(line)) return { done: { data: this.size > this.limit ? undefined : this.out.subarray(0, this.o), size: this.size, bareLf: this.bareLf }, rest: chunk.subarray(start) };
    }
    if (start < chunk.length) this.keep(chunk.subarray(start));
    return undefined;
  }

  /**
   * A partial line waits for its LF. Past the limit only its last three bytes are
   * kept: enough to see its CR, and never mistaken for the two of ".\r".
   */
  private keep(part: Buffer): void {
    let joined = this.carry ? Buffer.concat([this.carry, part]) : part;
    if (joined.length > 3 && this.size + joined.length > this.limit) {
      this.size += joined.length - 3;
      joined = joined.subarray(joined.length - 3);
    }
    this.carry = joined;
  }

  /** One line without its LF; true at the end marker. */
  private line(line: Buffer): boolean {
    const crlf = line.length > 0 && line[line.length - 1] === CR;
    const end = crlf ? line.length - 1 : line.length;
    if (end === 1 && line[0] === DOT && (this.anyEol || (crlf && this.afterCrlf))) return true;
    this.size += line.length + 1;
    const from = end > 0 && line[0] === DOT ? 1 : 0;
    if (!crlf && !this.anyEol && this.bareLf === undefined) this.bareLf = this.o + end - from;
    this.afterCrlf = crlf;
    if (this.size > this.limit) return false;
    this.reserve(end - from + 1);
    this.o += line.copy(this.out, this.o, from, end);
    this.out[this.o++] = LF;
    return false;
  }

  private reserve(n: number): void {
    if (this.o + n <= this.out.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.o + n));
    this.out.copy(next, 0, 0, this.o);
    this.out = next;
  }
}
