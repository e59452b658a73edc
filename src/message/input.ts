// A message arriving as a stream (stdin, a UUCP spool file). Its start is read
// line by line (From_ lines, the header: bounded by MAX_HEADER), its body is
// passed on chunk by chunk as it arrives. Every byte is checked on the way in
// (validate.ts), so offsets in errors count from the first byte of the input.
import { MessageChecker } from './validate.js';
import { FIELD } from './headers.js';
import { dataError } from '../util/errors.js';

/** The most header (with From_ lines) held in memory; beyond it the message is refused. */
export const MAX_HEADER = 1024 * 1024;

const EMPTY: Buffer = Buffer.alloc(0);

const headerTooBig = () => dataError(`the header is over ${MAX_HEADER} bytes (no blank line ends it by byte offset ${MAX_HEADER})`);

export class MessageInput {
  private buf: Buffer = EMPTY; // read from the source, not yet taken
  private ended = false;
  private readonly it: AsyncIterator<Buffer | string>;
  private readonly checker = new MessageChecker();
  /** Bytes taken by readLine so far (From_ lines and header). */
  private headBytes = 0;

  constructor(source: AsyncIterable<Buffer | string>) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** The next line with its line end (the last may have none); undefined at the end. Refused past MAX_HEADER. */
  async readLine(): Promise<Buffer | undefined> {
    let from = 0;
    for (;;) {
      const nl = this.buf.indexOf(0x0a, from);
      if (nl >= 0) return this.take(nl + 1);
      if (this.headBytes + this.buf.length > MAX_HEADER) throw headerTooBig();
      from = this.buf.length;
      if (!(await this.pull())) return this.buf.length ? this.take(this.buf.length) : undefined;
    }
  }

  /** Puts back a line readLine gave (the first line of the body). */
  unread(line: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([line, this.buf]) : line;
    this.headBytes -= line.length;
  }

  /** What is left of the input, chunk by chunk as it arrives. Stopping early closes the source. */
  async *rest(): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        if (this.buf.length) {
          const b = this.buf;
          this.buf = EMPTY;
          yield b;
        }
        if (!(await this.pull())) return;
      }
    } finally {
      await this.close();
    }
  }

  /** Stops reading (a refusal before the body was wanted). */
  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.it.return?.();
  }

  private take(n: number): Buffer {
    const line = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.headBytes += n;
    if (this.headBytes > MAX_HEADER) throw headerTooBig();
    return line;
  }

  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.it.next();
    if (r.done) {
      this.ended = true;
      this.checker.end();
      return false;
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value, 'latin1') : r.value;
    this.checker.feed(chunk);
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    return true;
  }
}

/** A header read from a stream; as splitMessage (headers.ts) splits a whole message. */
export interface StreamHeader {
  /** The header fields, each with its line end. */
  header: string;
  /** The blank line that ended the header; '' when the input ended or a non-field line did. */
  separator: string;
  /** A non-field line ended the header: it starts the body, and a separator must be added. */
  bodyWithoutSeparator: boolean;
  /** The line end of the first line (CRLF or LF), as lineEnding() reads it. */
  eol: string;
}

export async function readHeader(input: MessageInput): Promise<StreamHeader> {
  let header = '';
  let eol: string | undefined;
  let lastWasField = false;
  for (;;) {
    const buf = await input.readLine();
    if (buf === undefined) return { header, separator: '', bodyWithoutSeparator: false, eol: eol ?? '\n' };
    const line = buf.toString('latin1');
    eol ??= line.endsWith('\r\n') ? '\r\n' : '\n';
    const bare = line.replace(/\r?\n$/, '');
    if (bare === '') return { header, separator: line, bodyWithoutSeparator: false, eol };
    if (!(/^[ \t]/.test(bare) && lastWasField) && !FIELD.test(bare)) {
      input.unread(buf);
      return { header, separator: '', bodyWithoutSeparator: true, eol };
    }
    lastWasField = true;
    header += line;
  }
}
