/**
 * The front-end shared by the g and i protocols: the Protocol interface on
 * top of a packet engine (protocol-engine.ts). It queues what the engine
 * delivers, runs sends and reads one at a time each, waits for window room,
 * collects commands up to their NUL and hands file data to a sink. The
 * protocols add how a command and a file's data are put into packets.
 * No I/O: bytes leave through the engine's write, arrive through receive().
 */

import { EX, GatewayError } from '../../util/errors.js';
import { plainView } from '../../util/bytes.js';
import type { EngineEvent, PacketEngine } from './protocol-engine.js';
import type { Protocol, Role } from './protocol.js';

/** A data packet as the engine delivered it. */
export type Received<Data> = { type: 'data'; payload: Uint8Array } & Data;

export type CloseInfo = { how: 'local' | 'peer' } | { how: 'failed'; error: GatewayError };

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

const EMPTY = new Uint8Array(0);

/** Byte FIFO that hands out exactly-sized pieces, copying only across chunk edges. */
class ByteQueue {
  private chunks: Uint8Array[] = [];
  length = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(plainView(chunk));
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

/**
 * `Engine` reports EngineEvent<Started, Data>; start() resolves with the
 * started event's fields, and each data event is queued as it came.
 */
export abstract class PacketProtocol<Engine extends PacketEngine, Started extends object, Data> implements Protocol {
  abstract readonly name: string;
  /** Settles once, when the protocol ends; never rejects. */
  readonly closed: Promise<CloseInfo>;
  protected readonly engine: Engine;
  protected ended?: GatewayError;
  private settleClosed!: (info: CloseInfo) => void;
  private starting?: Waiter<Started>;
  private inbox: Received<Data>[] = [];
  private reader?: Waiter<Received<Data>>;
  private roomWaiters: Waiter<void>[] = [];
  private sendTail: Promise<unknown> = Promise.resolve();
  private readTail: Promise<unknown> = Promise.resolve();

  /** `letter` names the protocol in errors; `make` builds the engine around our event handler. */
  protected constructor(
    private readonly letter: string,
    make: (event: (ev: EngineEvent<Started, Data>) => void) => Engine,
  ) {
    this.closed = new Promise((resolve) => (this.settleClosed = resolve));
    this.engine = make((ev) => this.onEvent(ev));
  }

  get stats(): Engine['stats'] {
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

  start(role: Role): Promise<Started> {
    return new Promise((resolve, reject) => {
      this.starting = { resolve, reject };
      this.engine.start(role);
    });
  }

  abstract sendCommand(command: string): Promise<void>;

  readCommand(): Promise<string> {
    return this.serialRead(async () => {
      const parts: Uint8Array[] = [];
      let first: Received<Data> | undefined;
      for (;;) {
        const r = await this.next();
        // An empty packet ends a file nobody is reading; it is never part of a command.
        if (r.payload.length === 0) continue;
        first ??= r;
        const nul = r.payload.indexOf(0);
        parts.push(nul < 0 ? r.payload : r.payload.subarray(0, nul));
        if (nul < 0) continue;
        const command = Buffer.concat(parts).toString('latin1');
        this.commandRead(command, first);
        return command;
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
      const send = this.fileSender();
      const pending = new ByteQueue();
      let total = 0;
      let at = 0;
      const put = (piece: Uint8Array): void | Promise<void> => {
        const r = send(piece, at);
        at += piece.length;
        return r;
      };
      try {
        for await (const chunk of data) {
          pending.push(chunk);
          total += chunk.length;
          // Read per chunk: an i peer may ask for smaller packets at any time.
          const size = this.engine.sending.packetSize;
          while (pending.length >= size) {
            // Only a promise turn when the sender must wait (a full window).
            const r = put(pending.take(size));
            if (r) await r;
          }
        }
      } catch (err) {
        if (!this.ended) this.engine.abort(`reading the file failed: ${(err as Error)?.message ?? err}`);
        throw err;
      }
      if (pending.length > 0) await put(pending.take(pending.length));
      await put(EMPTY);
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
      let sinkError: { err: unknown } | undefined;
      for (;;) {
        const r = this.inbox.length > 0 ? this.inbox.shift()! : await this.next();
        if (r.payload.length === 0) break;
        this.checkFileData(r, total);
        total += r.payload.length;
        if (sinkError) continue;
        try {
          const p = sink(r.payload);
          if (p) await p;
        } catch (err) {
          sinkError = { err };
        }
      }
      if (sinkError) throw sinkError.err;
      return total;
    });
  }

  /** Waits for queued sends, then closes (once the engine is done with what it sent). */
  async shutdown(): Promise<void> {
    await this.sendTail.catch(() => undefined);
    this.engine.close();
    await this.closed;
  }

  // ------------------------------------------------------ for the protocols

  /**
   * Called at the start of each file: what puts one piece of it (at most a
   * packet; empty for end of file) into packets, `at` bytes into the file.
   * It returns a promise only when it had to wait.
   */
  protected abstract fileSender(): (piece: Uint8Array, at: number) => void | Promise<void>;

  /** A command has been read; `first` is the packet it began in. */
  protected commandRead(_command: string, _first: Received<Data>): void {}

  /** Throws (after ending the protocol) when file data `r` cannot follow `total` bytes. */
  protected checkFileData(_r: Received<Data>, _total: number): void {}

  protected error(message: string): GatewayError {
    return new GatewayError(`${this.letter} protocol: ${message}`, { exitCode: EX.PROTOCOL, temporary: true });
  }

  /** A command's bytes: one char code per byte (latin1); commands hold no NUL. */
  protected commandBytes(command: string, terminator = ''): Uint8Array {
    if (/[\0\u0100-\uffff]/.test(command)) throw new RangeError(`${this.letter}: a command must be NUL-free 8-bit text`);
    return Buffer.from(command + terminator, 'latin1');
  }

  protected serialSend<T>(job: () => Promise<T>): Promise<T> {
    const run = this.sendTail.then(job, job);
    this.sendTail = run.catch(() => undefined);
    return run;
  }

  /** Resolves once the engine takes a packet; rejects once the protocol has ended. */
  protected room(): Promise<void> {
    if (this.ended) return Promise.reject(this.ended);
    if (this.engine.canSend()) return Promise.resolve();
    return this.nextAck().then(() => this.room());
  }

  /** Resolves after the next ack; rejects once the protocol has ended. */
  protected nextAck(): Promise<void> {
    if (this.ended) return Promise.reject(this.ended);
    return new Promise<void>((resolve, reject) => this.roomWaiters.push({ resolve, reject }));
  }

  /**
   * Called on every ack inside the engine's own turn, before waiting senders
   * resume: what a protocol sends here leaves with the writes of that turn.
   */
  protected acked(): void {}

  // --------------------------------------------------------------- internals

  private serialRead<T>(job: () => Promise<T>): Promise<T> {
    const run = this.readTail.then(job, job);
    this.readTail = run.catch(() => undefined);
    return run;
  }

  private next(): Promise<Received<Data>> {
    const r = this.inbox.shift();
    if (r) return Promise.resolve(r);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => (this.reader = { resolve, reject }));
  }

  private onEvent(ev: EngineEvent<Started, Data>): void {
    switch (ev.type) {
      case 'started': {
        const { type: _, ...info } = ev;
        this.starting?.resolve(info as unknown as Started);
        this.starting = undefined;
        return;
      }
      case 'data':
        if (this.reader) {
          this.reader.resolve(ev);
          this.reader = undefined;
        } else this.inbox.push(ev);
        return;
      case 'acked':
        this.acked();
        for (const w of this.roomWaiters.splice(0)) w.resolve();
        return;
      case 'closed':
        return this.end(ev.byPeer ? 'peer' : 'local', this.error(ev.byPeer ? 'closed by the peer' : 'closed'));
      case 'failed':
        return this.end('failed', this.error(ev.reason));
    }
  }

  private end(how: CloseInfo['how'], error: GatewayError): void {
    this.ended = error;
    this.starting?.reject(error);
    this.reader?.reject(error);
    for (const w of this.roomWaiters.splice(0)) w.reject(error);
    this.starting = this.reader = undefined;
    this.settleClosed(how === 'failed' ? { how, error } : { how });
  }
}
