/**
 * Runs a GProtocol over a Node Duplex (serial port, socket, pty, pipe) with
 * real timers. The engine stays pure; this file is the only one that touches
 * streams or setTimeout.
 *
 *   packet: DLE | K | sumLo | sumHi | C | xor | data     (see packet.ts)
 *
 * The session layer owns the line: it ran the `Shere`/`ROK`/`Pg` exchange
 * before and runs the `OOOOOO` exchange after, so we attach only while g
 * runs and detach (and pause the stream) as soon as g has closed or failed.
 * Writes are not throttled: the g window already bounds what is in flight.
 * initialBytes may be given before start(): the engine keeps them until then.
 */

import type { Duplex } from 'node:stream';
import { realClock, type Clock } from './clock.js';
import { GProtocol, type GProtocolOptions } from './gprotocol.js';

export interface StreamGOptions extends GProtocolOptions {
  clock?: Clock;
  /** Bytes the session layer already read past its last handshake string. */
  initialBytes?: Uint8Array;
}

/**
 * Packets written during one turn of the event loop (a burst of RRs for a
 * chunk of data, a window's worth of data after a burst of acks) are copied
 * into one buffer and handed to the stream in a single write at the end of
 * the turn: one system call instead of one per packet.
 */
class BatchWriter {
  private batch: Buffer = Buffer.allocUnsafe(BATCH_BYTES);
  private used = 0;
  private scheduled = false;

  constructor(private readonly stream: Duplex) {}

  write(bytes: Uint8Array): void {
    if (this.used + bytes.length > this.batch.length) {
      this.flush();
      if (bytes.length > this.batch.length) this.batch = Buffer.allocUnsafe(bytes.length);
    }
    this.batch.set(bytes, this.used);
    this.used += bytes.length;
    if (!this.scheduled) {
      this.scheduled = true;
      // After every promise continuation of this turn, so a whole window of
      // sendFile() packets goes out together.
      process.nextTick(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.used === 0) return;
    let out: Buffer;
    if (this.used < SMALL_BATCH) {
      // Small (acks, a window of small packets): a pooled copy, the batch buffer stays.
      out = Buffer.allocUnsafe(this.used);
      this.batch.copy(out, 0, 0, this.used);
    } else {
      // The stream may hold on to what it was given: hand over the buffer itself.
      out = this.batch.subarray(0, this.used);
      this.batch = Buffer.allocUnsafe(BATCH_BYTES);
    }
    this.used = 0;
    if (this.stream.writable && !this.stream.destroyed) this.stream.write(out);
  }
}

const BATCH_BYTES = 64 * 1024;
/** Below this, Buffer.allocUnsafe takes from Node's shared pool (poolSize / 2). */
const SMALL_BATCH = Buffer.poolSize >>> 1;

/** What a protocol needs to be driven by a stream: bytes in, line failures, an end. */
export interface StreamDriven {
  receive(bytes: Uint8Array): void;
  abort(reason: string): void;
  readonly closed: Promise<unknown>;
}

/**
 * Binds a protocol (built by `make` around a batched writer) to `stream`
 * until it closes; shared by g and i. `initialBytes` are handed over first.
 */
export function driveOverStream<P extends StreamDriven>(stream: Duplex, make: (write: (bytes: Uint8Array) => void) => P, initialBytes?: Uint8Array): P {
  const out = new BatchWriter(stream);
  const p = make((bytes) => out.write(bytes));
  const onData = (chunk: Buffer): void => p.receive(chunk);
  const onEnd = (): void => p.abort('the line closed');
  const onError = (err: Error): void => p.abort(`line error: ${err.message}`);
  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('close', onEnd);
  stream.on('error', onError);
  // Registered before anyone else can await `closed`, so the last packets
  // (CLOSE) are on the stream before the session writes its O's.
  void p.closed.then(() => {
    out.flush();
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('close', onEnd);
    stream.off('error', onError);
    stream.pause();
  });
  // Kept by the engine until start(), then processed.
  if (initialBytes?.length) p.receive(initialBytes);
  return p;
}

export function runGOverStream(stream: Duplex, options: StreamGOptions = {}): GProtocol {
  const { clock = realClock, initialBytes, ...gOptions } = options;
  return driveOverStream(stream, (write) => new GProtocol(write, clock, gOptions), initialBytes);
}
