/**
 * Binds a packet protocol (g, G, i) to a Node Duplex (serial port, socket,
 * pty, pipe): bytes in, batched writes out, line failures and the end of the
 * line turned into aborts, and the stream let go once the protocol closes.
 * The engines stay pure; this file and the protocols' stream adapters are the
 * only ones that touch streams.
 */

import type { Duplex } from 'node:stream';
import type { Tappable } from '../port/port.js';

/**
 * Packets written during one turn of the event loop (a burst of RRs for a
 * chunk of data, a window's worth of data after a burst of acks) go to the
 * stream in a single write at the end of the turn: one system call instead
 * of one per packet. Packets are never modified once written (a resend is a
 * copy), so a lone packet is handed over as it is and several are joined
 * in one copy.
 */
class BatchWriter {
  private parts: Uint8Array[] = [];
  private used = 0;

  constructor(private readonly out: (bytes: Uint8Array) => void) {}

  write(bytes: Uint8Array): void {
    // After every promise continuation of this turn, so a whole window of
    // sendFile() packets goes out together.
    if (this.parts.length === 0) process.nextTick(() => this.flush());
    this.parts.push(bytes);
    this.used += bytes.length;
  }

  flush(): void {
    if (this.parts.length === 0) return;
    const out = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.used);
    this.parts = [];
    this.used = 0;
    this.out(out);
  }
}

/** What a protocol needs to be driven by a stream: bytes in, line failures, an end. */
export interface StreamDriven {
  receive(bytes: Uint8Array): void;
  abort(reason: string): void;
  readonly closed: Promise<unknown>;
}

/**
 * Binds a protocol (built by `make` around a batched writer, and a flush for
 * what must not wait for the end of the turn) to `stream` until it closes;
 * shared by g and i. `initialBytes` are handed over first.
 */
export function driveOverStream<P extends StreamDriven>(stream: Duplex, make: (write: (bytes: Uint8Array) => void, flush: () => void) => P, initialBytes?: Uint8Array): P {
  const toStream = (bytes: Uint8Array): void => {
    if (stream.writable && !stream.destroyed) stream.write(bytes);
  };
  let send = toStream;
  const out = new BatchWriter((bytes) => send(bytes));
  const p = make(
    (bytes) => out.write(bytes),
    () => out.flush(),
  );
  // Kept by the engine until start(), then processed; before any byte read later.
  if (initialBytes?.length) p.receive(initialBytes);
  // What a read calls for (RRs, RJs) leaves at once, not behind the promise
  // continuations the read's data sets off (the file writer's).
  const onData = (chunk: Uint8Array): void => {
    p.receive(chunk);
    out.flush();
  };
  const onEnd = (): void => p.abort('the line closed');
  const onError = (err: Error): void => p.abort(`line error: ${err.message}`);
  const tap = (stream as Partial<Tappable>).tap?.(onData);
  if (tap) send = (bytes) => !stream.destroyed && tap.write(bytes);
  else stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('close', onEnd);
  stream.on('error', onError);
  // Registered before anyone else can await `closed`, so the last packets
  // (CLOSE) are on the stream before the session writes its O's.
  void p.closed.then(() => {
    out.flush();
    send = toStream;
    if (tap) tap.release();
    else stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('close', onEnd);
    stream.off('error', onError);
    stream.pause();
  });
  return p;
}
