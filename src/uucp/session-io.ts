// Byte-level reading of a UUCP line outside the packet protocol: chat scripts,
// the login prompt, the `\020...\0` handshake messages and the closing O's.
//
// The reader owns the stream only while attached. Before the packet protocol
// starts, the session detaches it (keeping whatever was read past the last
// handshake message, which belongs to g) and re-attaches it once g has closed,
// pushing back g's leftover bytes. A detached stream is paused so no byte is
// lost between owners.
//
// Handshake framing (docs/uucp.md "Session framing"): DLE, ASCII text, NUL; some
// systems end with CR or LF instead; junk before the DLE is ignored, a second
// DLE restarts the message, parity bits are stripped.
import type { Duplex } from 'node:stream';
import { EX, GatewayError } from '../util/errors.js';

export const DLE = 0x10;

export class LineClosedError extends GatewayError {
  constructor(what: string) {
    super(`the line closed ${what}`, { exitCode: EX.PROTOCOL, temporary: true });
  }
}

export class LineTimeoutError extends GatewayError {
  constructor(what: string) {
    super(`timed out ${what}`, { exitCode: EX.PROTOCOL, temporary: true });
  }
}

const EMPTY = Buffer.alloc(0);

export class LineReader {
  private buf: Buffer = EMPTY;
  private wake?: () => void;
  private closed = false;
  private attached = false;
  private readonly onData = (chunk: Buffer): void => {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    this.poke();
  };
  private readonly onEnd = (): void => {
    this.closed = true;
    this.poke();
  };

  constructor(readonly stream: Duplex) {
    // 'end'/'close' stay registered for the reader's whole life: g reports
    // a dead line on its own, and the reader must know afterwards too.
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onEnd);
    this.attach();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Starts reading the stream again, after `unread` bytes already taken from it. */
  attach(unread: Uint8Array = EMPTY): void {
    if (unread.length) this.buf = Buffer.concat([Buffer.from(unread), this.buf]);
    if (this.attached) return;
    this.attached = true;
    this.stream.on('data', this.onData);
    this.stream.resume();
  }

  /** Stops reading (pausing the stream) and hands over the bytes read but not consumed. */
  detach(): Buffer {
    if (this.attached) {
      this.stream.pause();
      this.stream.off('data', this.onData);
      this.attached = false;
    }
    const rest = this.buf;
    this.buf = EMPTY;
    return rest;
  }

  write(bytes: string | Uint8Array): void {
    if (this.stream.writable && !this.stream.destroyed) this.stream.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /**
   * Waits until `scan(buffer)` returns how many bytes make up a complete item,
   * consumes them and returns them. `scan` may also return -1 (need more) or
   * `{ drop: n }` to discard junk at the front.
   */
  async take(scan: (buf: Buffer) => number | { drop: number }, timeoutMs: number, what: string): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (;;) {
        const r = scan(this.buf);
        if (typeof r === 'object') {
          this.buf = this.buf.subarray(r.drop);
          continue;
        }
        if (r >= 0) {
          const item = this.buf.subarray(0, r);
          this.buf = this.buf.subarray(r);
          return item;
        }
        break;
      }
      if (this.closed) throw new LineClosedError(what);
      const left = deadline - Date.now();
      if (left <= 0) throw new LineTimeoutError(what);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** Everything buffered so far (for chat matching), without consuming it. */
  peek(): Buffer {
    return this.buf;
  }

  /** Discards `n` buffered bytes. */
  consume(n: number): void {
    this.buf = this.buf.subarray(n);
  }

  /** Waits for more input (or the timeout); false when nothing came. */
  async waitMore(timeoutMs: number): Promise<boolean> {
    if (this.closed || timeoutMs <= 0) return false;
    const before = this.buf.length;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wake = undefined;
    return this.buf.length > before;
  }

  private poke(): void {
    this.wake?.();
  }
}

// ---------------------------------------------------------------- handshake messages

/** Scanner for one `\020text\0` message (CR or LF also end it). */
export function scanMessage(buf: Buffer): number | { drop: number } {
  const dle = buf.indexOf(DLE);
  if (dle < 0) return buf.length ? { drop: buf.length } : -1;
  if (dle > 0) return { drop: dle };
  for (let i = 1; i < buf.length; i++) {
    const c = buf[i]! & 0x7f;
    if (c === DLE) return { drop: i }; // a second DLE starts the message over
    if (c === 0 || c === 0x0d || c === 0x0a) return i + 1;
  }
  return -1;
}

/** Reads one handshake message and returns its text (parity stripped, no DLE or terminator). */
export async function readMessage(line: LineReader, timeoutMs: number, what: string): Promise<string> {
  const raw = await line.take(scanMessage, timeoutMs, what);
  let s = '';
  for (let i = 1; i < raw.length - 1; i++) s += String.fromCharCode(raw[i]! & 0x7f);
  return s;
}

export function writeMessage(line: LineReader, text: string): void {
  line.write(Buffer.concat([Buffer.from([DLE]), Buffer.from(text, 'latin1'), Buffer.from([0])]));
}
