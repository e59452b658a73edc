/**
 * The g protocol as the session layer sees it: commands and files on top of
 * the packet engine. Still free of I/O: bytes leave through `write`, arrive
 * through receive(), and time comes from the injected clock
 * (stream-adapter.ts binds it to a Node stream and real timers).
 *
 *   packet: DLE | K | sumLo | sumHi | C | xor | data     (see packet.ts)
 *
 * On the wire (protocol-facts.md §2.4, Taylor UUCP behaviour):
 * - a command is its bytes plus a NUL, in zero-padded tt=2 packets; a long
 *   command spans packets, and the receiver collects data up to the packet
 *   that holds a NUL (anything after the NUL is ignored);
 * - a file is raw data in full packets, a short last packet, then a short
 *   packet with no data as end of file. g has no file checksum.
 */

import { EX, GatewayError } from '../../util/errors.js';
import type { Protocol, Role } from '../protocol.js';
import type { Clock } from './clock.js';
import { GEngine, TAYLOR_MAX_BYTES_IN_FLIGHT, type Direction, type GEngineOptions, type GEvent, type GStats } from './engine.js';

export interface GProtocolOptions extends GEngineOptions {
  /** The peer is Taylor UUCP 1.07: keep window × (packet + 6) ≤ 16 KiB. */
  peerIsTaylor?: boolean;
}

export interface GStartInfo {
  send: Direction;
  receive: Direction;
}

export type GCloseInfo =
  | { how: 'local' | 'peer' }
  | { how: 'failed'; error: GatewayError };

const EMPTY = new Uint8Array(0);

const protocolError = (message: string): GatewayError =>
  new GatewayError(`g protocol: ${message}`, { exitCode: EX.PROTOCOL, temporary: true });

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

/** Byte FIFO that hands out exactly-sized pieces, copying only across chunk edges. */
class ByteQueue {
  private chunks: Uint8Array[] = [];
  length = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  take(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first && first.length >= n) {
      const piece = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.length -= n;
      return piece;
    }
    const out = new Uint8Array(n);
    for (let filled = 0; filled < n; ) {
      const piece = this.take(Math.min(n - filled, this.chunks[0]!.length));
      out.set(piece, filled);
      filled += piece.length;
    }
    return out;
  }
}

function commandBytes(command: string): Uint8Array {
  // Commands are byte strings: one char code per byte (latin1), no NUL.
  if (/[\0\u0100-\uffff]/.test(command)) throw new RangeError('g: a command must be NUL-free 8-bit text');
  return Buffer.from(command, 'latin1');
}

export class GProtocol implements Protocol {
  readonly name: 'g' | 'G';
  /** Settles once, when the protocol ends; never rejects. */
  readonly closed: Promise<GCloseInfo>;
  private readonly engine: GEngine;
  private settleClosed!: (info: GCloseInfo) => void;
  private ended?: GatewayError;
  private starting?: Waiter<GStartInfo>;
  private inbox: Uint8Array[] = [];
  private reader?: Waiter<Uint8Array>;
  private roomWaiters: Waiter<void>[] = [];
  private sendTail: Promise<unknown> = Promise.resolve();
  private readTail: Promise<unknown> = Promise.resolve();

  constructor(write: (bytes: Uint8Array) => void, clock: Clock, options: GProtocolOptions = {}) {
    const { peerIsTaylor, ...engineOptions } = options;
    if (peerIsTaylor) engineOptions.maxSendBytesInFlight ??= TAYLOR_MAX_BYTES_IN_FLIGHT;
    this.name = options.shortPackets === false ? 'G' : 'g';
    this.closed = new Promise((resolve) => (this.settleClosed = resolve));
    this.engine = new GEngine({ write, event: (ev) => this.onEvent(ev) }, clock, engineOptions);
  }

  get stats(): GStats {
    return { ...this.engine.stats };
  }

  /** Feed bytes read from the line. */
  receive(bytes: Uint8Array): void {
    this.engine.receive(bytes);
  }

  /** The line failed or closed under us. */
  abort(reason: string): void {
    this.engine.abort(reason);
  }

  /** Bytes that arrived after the protocol ended (e.g. the peer's `OOOOOO`). */
  leftover(): Uint8Array {
    return this.engine.leftover();
  }

  start(role: Role): Promise<GStartInfo> {
    return new Promise((resolve, reject) => {
      this.starting = { resolve, reject };
      this.engine.start(role);
    });
  }

  sendCommand(command: string): Promise<void> {
    const bytes = commandBytes(command);
    return this.serialSend(async () => {
      const size = this.engine.sending.packetSize;
      // Full-size pieces carry no NUL; the last piece is shorter than a packet,
      // so its zero padding holds the terminating NUL.
      let offset = 0;
      for (; bytes.length - offset >= size; offset += size) {
        await this.room();
        this.engine.sendData(bytes.subarray(offset, offset + size), 'command');
      }
      await this.room();
      this.engine.sendData(bytes.subarray(offset), 'command');
    });
  }

  readCommand(): Promise<string> {
    return this.serialRead(async () => {
      const parts: Uint8Array[] = [];
      for (;;) {
        const data = await this.nextPayload();
        const nul = data.indexOf(0);
        parts.push(nul < 0 ? data : data.subarray(0, nul));
        if (nul >= 0) return Buffer.concat(parts).toString('latin1');
      }
    });
  }

  /**
   * Pulls `data` only as the window frees up, so at most one source chunk
   * plus the window is ever held. A failing source aborts the protocol: a
   * truncated file must never look complete to the peer.
   */
  sendFile(data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<number> {
    return this.serialSend(async () => {
      const size = this.engine.sending.packetSize;
      const pending = new ByteQueue();
      let total = 0;
      try {
        for await (const chunk of data) {
          pending.push(chunk);
          total += chunk.length;
          while (pending.length >= size) {
            // Only wait when the window is full: no promise turn per packet.
            if (this.ended || !this.engine.canSend()) await this.room();
            this.engine.sendData(pending.take(size), 'file');
          }
        }
      } catch (err) {
        if (!this.ended) this.engine.abort(`reading the file failed: ${(err as Error)?.message ?? err}`);
        throw err;
      }
      if (pending.length > 0) await this.sendFilePacket(pending.take(pending.length));
      await this.sendFilePacket(EMPTY);
      return total;
    });
  }

  /**
   * Hands each piece of file data to `sink` in order; the chunks are views
   * of received buffers that are never written again, so a sink may keep
   * them. A sink returns a promise only when it must be waited for (a
   * buffered writer flushing): packets already received are handed over
   * without a turn of the event loop each.
   */
  receiveFile(sink: (chunk: Uint8Array) => void | Promise<void>): Promise<number> {
    return this.serialRead(async () => {
      let total = 0;
      let sinkFailed = false;
      let sinkError: unknown;
      for (;;) {
        const data = this.inbox.length > 0 ? this.inbox.shift()! : await this.nextPayload();
        if (data.length === 0) break;
        total += data.length;
        if (sinkFailed) continue;
        try {
          const r = sink(data);
          if (r) await r;
        } catch (err) {
          sinkFailed = true;
          sinkError = err;
        }
      }
      if (sinkFailed) throw sinkError;
      return total;
    });
  }

  /** Waits for queued sends, then closes (after the peer acked everything). */
  async shutdown(): Promise<void> {
    await this.sendTail.catch(() => undefined);
    this.engine.close();
    await this.closed;
  }

  // --------------------------------------------------------------- internals

  private async sendFilePacket(payload: Uint8Array): Promise<void> {
    if (this.ended || !this.engine.canSend()) await this.room();
    this.engine.sendData(payload, 'file');
  }

  private serialSend<T>(job: () => Promise<T>): Promise<T> {
    const run = this.sendTail.then(job, job);
    this.sendTail = run.catch(() => undefined);
    return run;
  }

  private serialRead<T>(job: () => Promise<T>): Promise<T> {
    const run = this.readTail.then(job, job);
    this.readTail = run.catch(() => undefined);
    return run;
  }

  private room(): Promise<void> {
    if (this.ended) return Promise.reject(this.ended);
    if (this.engine.canSend()) return Promise.resolve();
    return new Promise((resolve, reject) => this.roomWaiters.push({ resolve, reject })).then(() => this.room());
  }

  private nextPayload(): Promise<Uint8Array> {
    const data = this.inbox.shift();
    if (data) return Promise.resolve(data);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => (this.reader = { resolve, reject }));
  }

  private onEvent(ev: GEvent): void {
    switch (ev.type) {
      case 'started':
        this.starting?.resolve({ send: ev.send, receive: ev.receive });
        this.starting = undefined;
        return;
      case 'data':
        if (this.reader) {
          this.reader.resolve(ev.payload);
          this.reader = undefined;
        } else this.inbox.push(ev.payload);
        return;
      case 'acked':
        for (const w of this.roomWaiters.splice(0)) w.resolve();
        return;
      case 'closed':
        return this.end(ev.byPeer ? 'peer' : 'local', protocolError(ev.byPeer ? 'closed by the peer' : 'closed'));
      case 'failed':
        return this.end('failed', protocolError(ev.reason));
    }
  }

  private end(how: GCloseInfo['how'], error: GatewayError): void {
    this.ended = error;
    this.starting?.reject(error);
    this.reader?.reject(error);
    for (const w of this.roomWaiters.splice(0)) w.reject(error);
    this.starting = this.reader = undefined;
    this.settleClosed(how === 'failed' ? { how, error } : { how });
  }
}
