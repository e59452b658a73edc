// Checks raw message bytes before they are accepted: what RFC 5322 forbids and we
// refuse outright (NUL bytes, lines over 998 characters, empty messages). The
// checker takes the message in chunks, so a streamed message is checked as it
// passes and never needs to be held whole.
import { dataError } from '../util/errors.js';

export const MAX_LINE = 998;

export const emptyMessage = () => dataError('empty message (no header and no body)');

export class MessageChecker {
  /** Bytes seen so far; offsets in errors count from the first byte fed. */
  offset = 0;
  private line = 1;
  private lineStart = 0;
  private lastWasCR = false;

  feed(chunk: Buffer): void {
    const nul = chunk.indexOf(0);
    if (nul >= 0) throw dataError(`message contains a NUL byte at byte offset ${this.offset + nul}`);
    let pos = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, pos);
      if (nl < 0) break;
      const cr = nl > 0 ? chunk[nl - 1] === 0x0d : this.lastWasCR;
      this.endLine(this.offset + nl - (cr ? 1 : 0));
      this.lineStart = this.offset + nl + 1;
      pos = nl + 1;
    }
    if (chunk.length) this.lastWasCR = chunk[chunk.length - 1] === 0x0d;
    this.offset += chunk.length;
  }

  /** The input has ended (an empty one is for the caller to judge). */
  end(): void {
    if (this.lineStart < this.offset) this.endLine(this.offset - (this.lastWasCR ? 1 : 0));
  }

  private endLine(end: number): void {
    const len = end - this.lineStart;
    if (len > MAX_LINE) throw dataError(`line ${this.line} is ${len} characters long (limit ${MAX_LINE}), at byte offset ${this.lineStart}`);
    this.line++;
  }
}

export function validateMessage(data: Buffer): void {
  if (data.length === 0) throw emptyMessage();
  const c = new MessageChecker();
  c.feed(data);
  c.end();
}
