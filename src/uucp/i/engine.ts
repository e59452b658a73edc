/**
 * UUCP 'i' protocol engine (Taylor UUCP's bidirectional sliding-window
 * protocol) as a pure state machine: bytes in through receive(), packets out
 * through io.write(), happenings through io.event(), time from an injected
 * Clock (../g/clock.ts). No I/O of its own.
 *
 *   ^G | seq<<3|lchan | ack<<3|rchan | type<<5|caller<<4|len>>8 | len | xor  [data crc32]
 *   (see packet.ts)
 *
 * Behaviour (Taylor manual "i Protocol"; proti.c read for facts; checked
 * against captured Taylor 1.07 traffic):
 * - startup: each side sends SYNC (packet size and window it wants to
 *   receive, number of channels) until it has the peer's; 10 s × 6 retries;
 * - sequence numbers mod 32, independent per direction, first packet 1;
 *   DATA, SPOS and CLOSE are numbered; ACK, NAK, SYNC are not;
 * - the sender keeps at most the peer's window unacknowledged; the receiver
 *   accepts packets within its own window of the last ack it sent, keeps
 *   early ones, NAKs each missing one once, and ACKs every half window
 *   (data packets piggy-back the ack);
 * - a NAK asks for one packet; a NAK for the next number not yet sent, with
 *   nothing outstanding, is answered with an ACK (the peer lost our ACK);
 * - a single global file position: DATA advances it, SPOS sets it;
 * - on a silent line, NAK the packet wanted and resend the oldest unacked
 *   one; unacked packets are also resent when acks stop coming even while
 *   data arrives (so two busy senders cannot block each other);
 * - an error level (bad headers, CRCs, order, NAKs received) decaying by one
 *   per `errorDecay` good packets; past `maxErrors`, halve the packet size we
 *   ask for (SYNC) while above 400 bytes, else fail;
 * - CLOSE is sent once at the end (the session's H/HY already made sure
 *   everything arrived); a CLOSE received is answered with ours.
 * Our additions: a SYNC received while nothing has come from the peer yet is
 * answered with our SYNC (the peer missed ours), a duplicate packet is
 * answered with an ACK, and a packet whose data never completes is given up
 * one byte at a time on timeouts.
 */

import type { Clock } from '../g/clock.js';
import { EngineCore, type Direction, type EngineEvent, type EngineIO, type EngineStats, type Role } from '../protocol-engine.js';
import {
  EMPTY,
  MAX_CHANNEL,
  MAX_DATA,
  MAX_WINDOW,
  PT,
  Scanner,
  encodePacket,
  isSequenced,
  nextSeq,
  parsePos,
  parseSync,
  posData,
  seqDiff,
  syncData,
  withAck,
  type Header,
} from './packet.js';

export type { Direction, Role };

export interface IEngineOptions {
  /** Largest packet we ask the peer to send (1..4095). Default 1024. */
  packetSize?: number;
  /** Window we ask the peer to use (1..16). Default 16. */
  window?: number;
  /** Channels we announce in SYNC (1..7). Default 1: one transfer at a time, as our session runs them. */
  channels?: number;
  /** Ms of silence before a NAK and a resend; the callee adds 1 s. Default 10 000. */
  timeoutMs?: number;
  /** Timeouts in a row before failing. Default 6. */
  retries?: number;
  syncTimeoutMs?: number;
  syncRetries?: number;
  maxErrors?: number;
  errorDecay?: number;
  /** Packets received before we ACK when we have nothing to send. Default window / 2. */
  ackFrequency?: number;
  /** Override the packet size the peer asked for (Taylor's remote-packet-size). */
  remotePacketSize?: number;
}

type Started = { send: Direction; receive: Direction; channels: number };
/** Of an in-order DATA packet: the channels as the sender set them, and its file position. */
type Data = { localChan: number; remoteChan: number; pos: number };

export type IEvent = EngineEvent<Started, Data>;

export type IEngineIO = EngineIO<IEvent>;

export interface IStats extends EngineStats {
  remoteRejects: number;
}

interface Frame {
  type: number;
  localChan: number;
  remoteChan: number;
  data: Uint8Array;
}

const DEFAULTS = {
  packetSize: 1024,
  window: 16,
  channels: 1,
  timeoutMs: 10_000,
  retries: 6,
  syncTimeoutMs: 10_000,
  syncRetries: 6,
  maxErrors: 100,
  errorDecay: 10,
};

type Settings = typeof DEFAULTS & Pick<IEngineOptions, 'ackFrequency' | 'remotePacketSize'>;

function settings(o: IEngineOptions): Settings {
  const s = { ...DEFAULTS, ...o };
  const int = (v: number, lo: number, hi: number, what: string): void => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`i: ${what} ${v} is not in ${lo}..${hi}`);
  };
  int(s.packetSize, 1, MAX_DATA, 'packet size');
  int(s.window, 1, MAX_WINDOW, 'window');
  int(s.channels, 1, MAX_CHANNEL, 'channels');
  if (s.remotePacketSize !== undefined) int(s.remotePacketSize, 1, MAX_DATA, 'remote packet size');
  return s;
}

export class IEngine extends EngineCore<Started, Data, 'sync' | 'running' | 'closing'> {
  readonly stats: IStats = { sent: 0, resent: 0, received: 0, badHeaders: 0, badChecksums: 0, badOrder: 0, remoteRejects: 0 };
  private readonly cfg: Settings;
  private readonly scanner: Scanner;
  private caller = true;
  private timeoutMs: number;
  private ackFrequency: number;
  private maxErrors: number;
  /** What we currently ask the peer for (halved on too many errors). */
  private askSize: number;

  // startup
  private syncTries = 0;

  // sending
  private remote: Direction = { window: 1, packetSize: 64 };
  private peerChannels = 1;
  private sendSeq = 1;
  private remoteAck = 0;
  private readonly sent: (Uint8Array | undefined)[] = new Array(32);
  private waiting: Frame[] = [];
  private sendPos = 0;

  // receiving
  private recSeq = 0;
  private localAck = 0;
  private receivedAny = false;
  private readonly saved: ({ header: Header; data: Uint8Array } | undefined)[] = new Array(32);
  private readonly naked: boolean[] = new Array(32).fill(false);
  private recPos = 0;
  private ackedThisBatch = false;
  private badHeaderThisBatch = false;
  private acked = 0;

  // liveness
  private heard = false;
  private progress = false;
  private timeouts = 0;
  private stalls = 0;

  constructor(io: IEngineIO, clock: Clock, options: IEngineOptions = {}) {
    super(io, clock);
    this.cfg = settings(options);
    this.timeoutMs = this.cfg.timeoutMs;
    this.maxErrors = this.cfg.maxErrors;
    this.askSize = this.cfg.packetSize;
    const freq = this.cfg.ackFrequency;
    this.ackFrequency = freq && freq > 0 && freq < this.cfg.window ? freq : Math.max(1, this.cfg.window >> 1);
    this.scanner = new Scanner((h) => this.acceptHeader(h));
  }

  /** Packet size and window towards the peer (valid once started). */
  get sending(): Direction {
    return { ...this.remote };
  }

  get running(): boolean {
    return this.phase === 'running';
  }

  /** Bytes received but not consumed (what followed the peer's CLOSE). */
  leftover(): Uint8Array {
    return this.scanner.leftover();
  }

  start(role: Role): void {
    if (this.phase !== 'idle') throw new Error('i: already started');
    this.caller = role === 'master';
    // Taylor: the callee waits one second longer, so both sides do not time out together.
    if (!this.caller) this.timeoutMs += 1000;
    this.phase = 'sync';
    this.sendSync(true);
    this.armSyncTimer();
    this.consume();
    this.dispatch();
  }

  /**
   * Bytes read from the line; the engine owns them from now on (payloads
   * handed out are views of them). Kept before start(), dropped after the end.
   */
  receive(bytes: Uint8Array): void {
    if (this.phase === 'closed' || this.phase === 'failed') return;
    this.scanner.push(bytes);
    if (this.phase !== 'idle') this.consume();
    this.dispatch();
  }

  /** True when sendData() may be called now (window open, nothing queued). */
  canSend(): boolean {
    return this.phase === 'running' && this.waiting.length === 0 && this.windowOpen();
  }

  /**
   * Queues one DATA packet (payload ≤ sending.packetSize; empty ends a file).
   * `filePos`, for file data, is where this payload belongs in its file: an
   * SPOS goes first when the global position differs (Taylor's receiver
   * seeks to the position the packet arrives at).
   */
  sendData(payload: Uint8Array, localChan: number, remoteChan: number, filePos?: number): void {
    if (!this.canSend()) throw new Error('i: send window is closed');
    if (payload.length > this.remote.packetSize) throw new RangeError('i: payload larger than the packet size');
    if (filePos !== undefined && payload.length > 0 && filePos !== this.sendPos) {
      this.waiting.push({ type: PT.SPOS, localChan: 0, remoteChan: 0, data: posData(filePos) });
      this.sendPos = filePos;
    }
    this.waiting.push({ type: PT.DATA, localChan, remoteChan, data: payload });
    this.sendPos += payload.length;
    this.pump();
    this.dispatch();
  }

  /** Ends the protocol: once what we sent is acknowledged (or a timeout later), CLOSE. */
  close(): void {
    if (this.phase === 'running') {
      if (this.unacked() === 0 && this.waiting.length === 0) this.finish(false);
      else {
        // Unacked packets are still resent as usual; the CLOSE goes once all
        // are acked or the peer closes. A NAK for the packet we expect next
        // makes a peer with nothing to resend ACK at once.
        this.phase = 'closing';
        this.sendNak(nextSeq(this.recSeq));
      }
    } else if (this.phase === 'idle' || this.phase === 'sync') this.finish(false);
    this.dispatch();
  }

  // ------------------------------------------------------------ plumbing

  protected override stop(phase: 'closed' | 'failed'): void {
    super.stop(phase);
    this.waiting = [];
    this.sent.fill(undefined);
    this.saved.fill(undefined);
  }

  private finish(byPeer: boolean): void {
    if (this.phase === 'closed' || this.phase === 'failed') return;
    this.writeControl(PT.CLOSE, this.sendSeq);
    this.stop('closed');
    this.emit({ type: 'closed', byPeer });
  }

  private fail(reason: string): void {
    if (this.phase === 'closed' || this.phase === 'failed') return;
    // Tell the peer, so it stops at once instead of timing out.
    if (this.phase !== 'idle') this.writeControl(PT.CLOSE, this.sendSeq);
    this.stop('failed');
    this.emit({ type: 'failed', reason });
  }

  private header(type: number, seq: number, localChan = 0, remoteChan = 0): Omit<Header, 'length'> {
    return { type, seq, localChan, ack: this.recSeq, remoteChan, caller: this.caller };
  }

  private writeControl(type: number, seq: number): void {
    this.localAck = this.recSeq;
    this.io.write(encodePacket(this.header(type, seq)));
  }

  private sendAck(): void {
    this.writeControl(PT.ACK, 0);
    this.ackedThisBatch = true;
  }

  private sendNak(seq: number): void {
    this.naked[seq] = true;
    this.writeControl(PT.NAK, seq);
  }

  private sendSync(withChannels: boolean): void {
    this.localAck = this.recSeq;
    const data = syncData(this.askSize, this.cfg.window, withChannels ? this.cfg.channels : undefined);
    this.io.write(encodePacket(this.header(PT.SYNC, 0), data));
  }

  private errorLevel(): number {
    const s = this.stats;
    // Good packets both ways pay errors off (Taylor counts received ones only,
    // which fails a pure sender on a noisy line).
    return s.badHeaders + s.badChecksums + s.badOrder + s.remoteRejects - Math.floor((s.received + this.acked) / this.cfg.errorDecay);
  }

  private checkErrors(): void {
    if (this.errorLevel() <= this.maxErrors) return;
    if (this.askSize > 400 && (this.phase === 'running' || this.phase === 'closing')) {
      this.askSize >>= 1;
      this.maxErrors *= 2;
      this.sendSync(false);
      return;
    }
    this.fail('too many errors');
  }

  // ------------------------------------------------------------- startup

  private armSyncTimer(): void {
    this.armTimer(this.cfg.syncTimeoutMs, () => {
      if (++this.syncTries > this.cfg.syncRetries) return this.fail('startup failed: no SYNC from the peer');
      this.sendSync(true);
      this.armSyncTimer();
    });
  }

  private applySync(data: Uint8Array): boolean {
    const p = parseSync(data);
    if (!p) return false;
    const size = this.cfg.remotePacketSize ?? Math.min(MAX_DATA, p.packetSize > 0 ? p.packetSize : MAX_DATA);
    // Mid-session a SYNC may shrink the packets, never grow them past the first size.
    this.remote.packetSize = this.phase === 'sync' ? size : Math.min(size, this.remote.packetSize);
    this.remote.window = p.window > 0 ? Math.min(p.window, MAX_WINDOW) : MAX_WINDOW;
    if (p.channels !== undefined && p.channels >= 1 && p.channels <= MAX_CHANNEL) this.peerChannels = p.channels;
    return true;
  }

  // ----------------------------------------------------------- receiving

  private acceptHeader(h: Header): boolean {
    // Our own direction bit: an echo of what we sent.
    if (h.caller === this.caller) return false;
    if (h.type === PT.DATA ? h.length > this.cfg.packetSize : h.length > 64) return false;
    if (h.type === PT.SPOS && h.length !== 4) return false;
    // Out of our window: skipped like a bad header (and counted as one).
    if (isSequenced(h.type) && seqDiff(h.seq, this.localAck) > this.cfg.window) return false;
    return true;
  }

  private live(): boolean {
    return this.phase === 'sync' || this.phase === 'running' || this.phase === 'closing';
  }

  private consume(): void {
    this.ackedThisBatch = false;
    this.badHeaderThisBatch = false;
    for (let s = this.scanner.next(); s && this.live(); s = this.live() ? this.scanner.next() : undefined) {
      if (s.kind === 'bad-header') {
        // One per batch of input, as Taylor: skipping through a damaged
        // packet meets many ^G bytes in its data.
        if (!this.badHeaderThisBatch) {
          this.badHeaderThisBatch = true;
          this.stats.badHeaders++;
          this.checkErrors();
        }
      } else if (s.kind === 'bad-crc') {
        this.onBadCrc(s.header);
      } else {
        this.heard = true;
        this.timeouts = 0;
        this.onPacket(s.header, s.data);
      }
      this.dispatch();
    }
  }

  private onBadCrc(h: Header): void {
    this.stats.badChecksums++;
    this.checkErrors();
    if (this.phase !== 'running' && this.phase !== 'closing') return;
    if (isSequenced(h.type) && h.seq !== this.recSeq && seqDiff(h.seq, this.recSeq) <= this.cfg.window && !this.saved[h.seq])
      this.sendNak(h.seq);
  }

  private onPacket(h: Header, data: Uint8Array): void {
    if (this.phase === 'sync') {
      if (h.type !== PT.SYNC || !this.applySync(data)) return; // the peer runs already; its packets come again
      this.phase = 'running';
      this.emit({
        type: 'started',
        send: { ...this.remote },
        receive: { window: this.cfg.window, packetSize: this.askSize },
        channels: Math.min(this.peerChannels, this.cfg.channels),
      });
      this.armTick();
      return;
    }
    if (data.length > 0) this.stats.received++;
    this.gotAck(h.ack);
    if (!isSequenced(h.type)) {
      this.process(h, data);
    } else if (h.seq !== nextSeq(this.recSeq)) {
      this.early(h, data);
    } else {
      this.recSeq = h.seq;
      this.receivedAny = true;
      this.process(h, data);
      // Packets that came early may follow now.
      for (let n = nextSeq(this.recSeq), p = this.saved[n]; p && this.live(); n = nextSeq(n), p = this.saved[n]) {
        this.saved[n] = undefined;
        this.recSeq = n;
        this.process(p.header, p.data);
      }
    }
    if (this.live() && seqDiff(this.recSeq, this.localAck) >= this.ackFrequency) this.sendAck();
  }

  /** A numbered packet that is not the next one: a duplicate, or early (keep it, NAK the gap). */
  private early(h: Header, data: Uint8Array): void {
    if (h.seq === this.recSeq || seqDiff(h.seq, this.recSeq) > this.cfg.window) {
      this.stats.badOrder++;
      // The peer resends what we have: our ack got lost.
      if (!this.ackedThisBatch) this.sendAck();
      return;
    }
    // We NAKed this one and still miss the one before it: forget those NAKs, ask again.
    if (this.naked[h.seq] && !this.saved[(h.seq + 31) & 31]) {
      for (let i = nextSeq(this.recSeq); i !== h.seq; i = nextSeq(i)) this.naked[i] = false;
      this.naked[h.seq] = false;
    }
    this.saved[h.seq] ??= { header: h, data };
    for (let i = nextSeq(this.recSeq); i !== h.seq; i = nextSeq(i)) if (!this.naked[i] && !this.saved[i]) this.sendNak(i);
  }

  private process(h: Header, data: Uint8Array): void {
    switch (h.type) {
      case PT.DATA:
        this.emit({ type: 'data', payload: data, localChan: h.localChan, remoteChan: h.remoteChan, pos: this.recPos });
        this.recPos += data.length;
        return;
      case PT.SPOS:
        this.recPos = parsePos(data);
        return;
      case PT.SYNC:
        if (!this.applySync(data)) return this.fail('bad SYNC packet');
        // Still nothing from the peer: it may never have had our SYNC.
        if (!this.receivedAny) this.sendSync(true);
        return;
      case PT.NAK:
        return this.onNak(h.seq);
      case PT.CLOSE:
        return this.finish(this.phase !== 'closing');
      // ACK: its ack field was all; unknown types are ignored (future use).
    }
  }

  private onNak(seq: number): void {
    this.stats.remoteRejects++;
    this.checkErrors();
    if (!this.live()) return;
    if (seq === this.sendSeq && this.unacked() === 0) return this.sendAck();
    if (seq === this.sendSeq || seqDiff(seq, this.remoteAck) > this.remote.window || seqDiff(this.sendSeq, seq) > this.remote.window) return;
    this.resend(seq);
  }

  // ------------------------------------------------------------- sending

  private unacked(): number {
    return seqDiff(this.sendSeq, this.remoteAck) - 1;
  }

  private windowOpen(): boolean {
    return seqDiff(this.sendSeq, this.remoteAck) <= this.remote.window;
  }

  private pump(): void {
    while (this.waiting.length > 0 && this.windowOpen() && (this.phase === 'running' || this.phase === 'closing')) {
      const f = this.waiting.shift()!;
      const packet = encodePacket(this.header(f.type, this.sendSeq, f.localChan, f.remoteChan), f.data);
      this.localAck = this.recSeq;
      if (this.unacked() === 0) this.progress = true; // the stall clock starts now
      this.sent[this.sendSeq] = packet;
      this.sendSeq = nextSeq(this.sendSeq);
      this.stats.sent++;
      this.io.write(packet);
    }
  }

  private resend(seq: number): void {
    const p = this.sent[seq];
    if (!p) return;
    this.stats.resent++;
    this.localAck = this.recSeq;
    this.io.write(withAck(p, this.recSeq));
  }

  private gotAck(ack: number): void {
    if (ack === this.sendSeq || ack === this.remoteAck) return;
    if (seqDiff(ack, this.remoteAck) > this.remote.window || seqDiff(this.sendSeq, ack) > this.remote.window) return;
    for (let s = nextSeq(this.remoteAck); s !== nextSeq(ack); s = nextSeq(s)) {
      this.sent[s] = undefined;
      this.acked++;
    }
    this.remoteAck = ack;
    this.progress = true;
    this.stalls = 0;
    this.emit({ type: 'acked' });
    this.pump();
    if (this.phase === 'closing' && this.unacked() === 0 && this.waiting.length === 0) this.finish(false);
  }

  // ------------------------------------------------------------- liveness

  private armTick(): void {
    this.heard = false;
    this.progress = false;
    this.armTimer(this.timeoutMs, () => this.onTick());
  }

  private onTick(): void {
    if (this.phase !== 'running' && this.phase !== 'closing') return;
    if (!this.heard) {
      if (++this.timeouts > this.cfg.retries) return this.fail('timed out waiting for the peer');
      // A packet whose data never comes (a damaged length): give up on its first byte.
      if (this.scanner.buffered() > 0) {
        this.scanner.skipByte();
        this.consume();
        if (this.phase !== 'running' && this.phase !== 'closing') return;
      }
      this.naked.fill(false);
      this.sendNak(nextSeq(this.recSeq));
      this.resend(nextSeq(this.remoteAck));
    } else if (this.unacked() > 0 && !this.progress) {
      if (++this.stalls > this.cfg.retries) return this.fail('the peer stopped acknowledging');
      this.resend(nextSeq(this.remoteAck));
    }
    this.armTick();
  }
}

export { EMPTY };
