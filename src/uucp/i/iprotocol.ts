/**
 * The 'i' protocol as the session layer sees it (the Protocol interface):
 * commands and files on top of the packet engine. No I/O: bytes leave
 * through `write`, arrive through receive(), time comes from the clock
 * (stream-adapter.ts binds it to a Node stream).
 *
 *   ^G | seq<<3|lchan | ack<<3|rchan | type<<5|caller<<4|len>>8 | len | xor  [data crc32]
 *   (see packet.ts)
 *
 * On the wire (Taylor manual "i Protocol"; Taylor's trans.c/send.c read for
 * how channels are used; captured Taylor 1.07 traffic):
 * - a command is its bytes and a NUL, split at the peer's packet size;
 * - a file is DATA packets, then an empty DATA packet; an SPOS(0) goes first
 *   because the receiver writes each packet at the global position;
 * - channels: a request we make (S, R, E, X) goes out on our channel 1 with
 *   remote channel 0, and everything we send for it (file data, the CY after
 *   an R) keeps those numbers; what we send for a request of the peer (SY,
 *   RY, its file, CY) carries local 0 and the peer's channel as remote; H,
 *   HY and HN use 0/0. Taylor routes incoming data by these numbers.
 * We announce one channel in SYNC, so a Taylor peer runs one transfer at a
 * time and waits for SY before sending a file, which is what our pull-style
 * session expects. Files still move both ways in one session (H/HN role
 * changes), one at a time.
 */

import { EX, GatewayError } from '../../util/errors.js';
import type { Protocol, Role } from '../protocol.js';
import type { Clock } from '../g/clock.js';
import { IEngine, type Direction, type IEngineOptions, type IEvent, type IStats } from './engine.js';

export type IProtocolOptions = IEngineOptions;

export interface IStartInfo {
  send: Direction;
  receive: Direction;
  channels: number;
}

export type ICloseInfo = { how: 'local' | 'peer' } | { how: 'failed'; error: GatewayError };

interface Received {
  payload: Uint8Array;
  localChan: number;
  remoteChan: number;
  pos: number;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

/** The channel we make our requests on. */
const OUR_CHANNEL = 1;
const EMPTY = new Uint8Array(0);

const protocolError = (message: string): GatewayError =>
  new GatewayError(`i protocol: ${message}`, { exitCode: EX.PROTOCOL, temporary: true });

function commandBytes(command: string): Uint8Array {
  if (/[\0\u0100-\uffff]/.test(command)) throw new RangeError('i: a command must be NUL-free 8-bit text');
  return Buffer.from(`${command}\0`, 'latin1');
}

/** "S from to …", "R …", "E …", "X …": a new request (replies are "SY", "RN2", "CY" …). */
const isRequest = (c: string): boolean => c.length > 1 && c[1] === ' ' && 'SREX'.includes(c[0]!);

export class IProtocol implements Protocol {
  readonly name = 'i';
  /** Settles once, when the protocol ends; never rejects. */
  readonly closed: Promise<ICloseInfo>;
  private readonly engine: IEngine;
  private settleClosed!: (info: ICloseInfo) => void;
  private ended?: GatewayError;
  private starting?: Waiter<IStartInfo>;
  private inbox: Received[] = [];
  private reader?: Waiter<Received>;
  private roomWaiters: Waiter<void>[] = [];
  private sendTail: Promise<unknown> = Promise.resolve();
  private readTail: Promise<unknown> = Promise.resolve();
  /** The transfer our replies and file data belong to: ours (channel 1) or the peer's (its channel). */
  private current = { ours: true, channel: OUR_CHANNEL };

  constructor(write: (bytes: Uint8Array) => void, clock: Clock, options: IProtocolOptions = {}) {
    this.closed = new Promise((resolve) => (this.settleClosed = resolve));
    this.engine = new IEngine({ write, event: (ev) => this.onEvent(ev) }, clock, options);
  }

  get stats(): IStats {
    return { ...this.engine.stats };
  }

  receive(bytes: Uint8Array): void {
    this.engine.receive(bytes);
  }

  abort(reason: string): void {
    this.engine.abort(reason);
  }

  leftover(): Uint8Array {
    return this.engine.leftover();
  }

  start(role: Role): Promise<IStartInfo> {
    return new Promise((resolve, reject) => {
      this.starting = { resolve, reject };
      this.engine.start(role);
    });
  }

  sendCommand(command: string): Promise<void> {
    const bytes = commandBytes(command);
    return this.serialSend(async () => {
      let chans: [number, number];
      if (command[0] === 'H') chans = [0, 0];
      else {
        if (isRequest(command)) this.current = { ours: true, channel: OUR_CHANNEL };
        chans = this.channels();
      }
      for (let at = 0; at < bytes.length; ) {
        await this.room();
        const piece = bytes.subarray(at, at + this.engine.sending.packetSize);
        this.engine.sendData(piece, chans[0], chans[1]);
        at += piece.length;
      }
    });
  }

  readCommand(): Promise<string> {
    return this.serialRead(async () => {
      const parts: Uint8Array[] = [];
      let first: Received | undefined;
      for (;;) {
        const r = await this.next();
        // An empty packet ends a file nobody is reading; it is never part of a command.
        if (r.payload.length === 0) continue;
        first ??= r;
        const nul = r.payload.indexOf(0);
        parts.push(nul < 0 ? r.payload : r.payload.subarray(0, nul));
        if (nul < 0) continue;
        const command = Buffer.concat(parts).toString('latin1');
        // A request from the peer: our answers go to its channel.
        if (isRequest(command) && first.remoteChan === 0) this.current = { ours: false, channel: first.localChan };
        return command;
      }
    });
  }

  /** Pulls `data` only as the window opens: at most one source chunk plus the window is held. */
  sendFile(data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<number> {
    return this.serialSend(async () => {
      const [local, remote] = this.channels();
      let total = 0;
      let carry: Uint8Array = EMPTY;
      const put = async (piece: Uint8Array): Promise<void> => {
        do {
          if (this.ended || !this.engine.canSend()) await this.room();
          // The peer may ask for smaller packets (SYNC) at any time.
          const part = piece.subarray(0, this.engine.sending.packetSize);
          this.engine.sendData(part, local, remote, total);
          total += part.length;
          piece = piece.subarray(part.length);
        } while (piece.length > 0);
      };
      try {
        for await (const chunk of data) {
          const size = this.engine.sending.packetSize;
          let buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
          let at = 0;
          for (; buf.length - at >= size; at += size) await put(buf.subarray(at, at + size));
          carry = buf.subarray(at);
          buf = EMPTY;
        }
      } catch (err) {
        if (!this.ended) this.engine.abort(`reading the file failed: ${(err as Error)?.message ?? err}`);
        throw err;
      }
      if (carry.length > 0) await put(carry);
      await put(EMPTY);
      return total;
    });
  }

  /**
   * Hands each piece of the file to `sink` in order (views of received
   * buffers, never written again). Data must arrive at consecutive file
   * positions from 0: we never ask for a restart, so a jump is an error.
   */
  receiveFile(sink: (chunk: Uint8Array) => void | Promise<void>): Promise<number> {
    return this.serialRead(async () => {
      let total = 0;
      let sinkError: { err: unknown } | undefined;
      for (;;) {
        const r = this.inbox.length > 0 ? this.inbox.shift()! : await this.next();
        if (r.payload.length === 0) break;
        if (r.pos !== total) {
          const error = protocolError(`file data at position ${r.pos}, expected ${total}`);
          this.engine.abort(error.message);
          throw error;
        }
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

  /** Waits for queued sends, then closes. */
  async shutdown(): Promise<void> {
    await this.sendTail.catch(() => undefined);
    this.engine.close();
    await this.closed;
  }

  // --------------------------------------------------------------- internals

  private channels(): [number, number] {
    return this.current.ours ? [this.current.channel, 0] : [0, this.current.channel];
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
    return new Promise<void>((resolve, reject) => this.roomWaiters.push({ resolve, reject })).then(() => this.room());
  }

  private next(): Promise<Received> {
    const r = this.inbox.shift();
    if (r) return Promise.resolve(r);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => (this.reader = { resolve, reject }));
  }

  private onEvent(ev: IEvent): void {
    switch (ev.type) {
      case 'started':
        this.starting?.resolve({ send: ev.send, receive: ev.receive, channels: ev.channels });
        this.starting = undefined;
        return;
      case 'data': {
        const r: Received = { payload: ev.payload, localChan: ev.localChan, remoteChan: ev.remoteChan, pos: ev.pos };
        if (this.reader) {
          this.reader.resolve(r);
          this.reader = undefined;
        } else this.inbox.push(r);
        return;
      }
      case 'acked':
        for (const w of this.roomWaiters.splice(0)) w.resolve();
        return;
      case 'closed':
        return this.end(ev.byPeer ? 'peer' : 'local', protocolError(ev.byPeer ? 'closed by the peer' : 'closed'));
      case 'failed':
        return this.end('failed', protocolError(ev.reason));
    }
  }

  private end(how: ICloseInfo['how'], error: GatewayError): void {
    this.ended = error;
    this.starting?.reject(error);
    this.reader?.reject(error);
    for (const w of this.roomWaiters.splice(0)) w.reject(error);
    this.starting = this.reader = undefined;
    this.settleClosed(how === 'failed' ? { how, error } : { how });
  }
}
