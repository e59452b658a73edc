/**
 * UUCP 'g' protocol engine: a pure state machine. Bytes go in through
 * receive(), packets come out through io.write(), happenings through
 * io.event(); time comes from an injected Clock. No I/O of its own.
 *
 *   header: DLE | K | sumLo | sumHi | C = tt xxx yyy | xor     (see packet.ts)
 *   data:   xxx = sequence number, yyy = last in-order packet received
 *   control: xxx = CLOSE RJ SRJ RR INITC INITB INITA, yyy = argument
 *
 * Behaviour follows Taylor UUCP 1.07 (protocol-facts.md §1.4–1.6, the Taylor
 * manual "g Protocol", and its protg.c read for facts):
 * - startup INITA(window), INITB(size code), INITC(window), caller first,
 *   the callee answering each; each step 4 tries × 10 s, 8 attempts in all;
 * - sequence numbers mod 8, next to send starts at 1; each side sends at most
 *   the window and packet size the other asked to receive;
 * - every in-order packet is RR'd at once, anything else dropped silently;
 * - recovery: on timeout or RJ resend the oldest unacked packet only, then
 *   each ack releases up to two more resends; a duplicate RR during
 *   recovery counts as RJ when the peer has never sent a real RJ;
 * - an error level (bad headers, checksums, order, rejects) that decays by
 *   one per `errorDecay` good packets; too many errors, timeouts or garbage
 *   bytes fail the engine, which sends CLOSE and stops.
 */

import { EngineCore, type Direction, type EngineEvent, type EngineIO, type EngineStats, type Role } from '../protocol-engine.js';
import type { Clock } from './clock.js';
import {
  Ctl,
  PacketDecoder,
  TT,
  chooseSize,
  commandArea,
  dataArea,
  encodeControl,
  encodeData,
  isPacketSize,
  kOfSize,
  nextSeq,
  seqDiff,
  type ControlType,
  type DataFrame,
  type Decoded,
} from './packet.js';

/** Taylor 1.07's receive ring: window × (packet + 6) above this corrupts files. */
export const TAYLOR_MAX_BYTES_IN_FLIGHT = 16384;

export interface GEngineOptions {
  /** Window we ask the peer to use when sending to us (1..7). Default 7. */
  window?: number;
  /** Packet size we ask the peer to send (power of two 32..4096). Default 64. */
  packetSize?: number;
  /** Read timeout once running, ms. Default 10 000. */
  timeoutMs?: number;
  /** Timeouts in a row without progress before failing. Default 6. */
  retries?: number;
  /** Error level above which the engine fails. Default 100. */
  maxErrors?: number;
  /** Good packets per error-level decrement. Default 10. */
  errorDecay?: number;
  /** Unrecognised bytes tolerated since the last valid packet. Default 10 000. */
  garbageLimit?: number;
  /** Startup: ms to wait for each INIT answer, tries per step, attempts. Defaults 10 000, 4, 8. */
  initTimeoutMs?: number;
  initRetries?: number;
  startupRetries?: number;
  /** false gives Taylor's 'G': every packet exactly the peer's size. Default true. */
  shortPackets?: boolean;
  /** Override what the peer announced (Taylor's remote-window / remote-packet-size). */
  remoteWindow?: number;
  remotePacketSize?: number;
  /** Cap the send window so window × (packet + 6) stays within this many bytes. */
  maxSendBytesInFlight?: number;
}

export type { Direction, Role };

/** A data event carries an in-order packet's valid bytes (empty for an empty short packet). */
export type GEvent = EngineEvent<{ send: Direction; receive: Direction }, unknown>;

export type GEngineIO = EngineIO<GEvent>;

export interface GStats extends EngineStats {
  rejects: number;
}

type InitStep = typeof Ctl.INITA | typeof Ctl.INITB | typeof Ctl.INITC;

const DEFAULTS = {
  window: 7,
  packetSize: 64,
  timeoutMs: 10_000,
  retries: 6,
  maxErrors: 100,
  errorDecay: 10,
  garbageLimit: 10_000,
  initTimeoutMs: 10_000,
  initRetries: 4,
  startupRetries: 8,
  shortPackets: true,
};

type Settings = typeof DEFAULTS & Pick<GEngineOptions, 'remoteWindow' | 'remotePacketSize' | 'maxSendBytesInFlight'>;

function settings(options: GEngineOptions): Settings {
  const s = { ...DEFAULTS, ...options };
  if (!Number.isInteger(s.window) || s.window < 1 || s.window > 7)
    throw new RangeError(`g: window ${s.window} is not in 1..7`);
  kOfSize(s.packetSize); // validates
  if (s.remotePacketSize !== undefined && !isPacketSize(s.remotePacketSize))
    throw new RangeError(`g: remote packet size ${s.remotePacketSize} is not a power of two in 32..4096`);
  return s;
}

const NEXT_STEP = { [Ctl.INITA]: Ctl.INITB, [Ctl.INITB]: Ctl.INITC } as const;

export class GEngine extends EngineCore<{ send: Direction; receive: Direction }, unknown, 'init' | 'running'> {
  readonly stats: GStats = { sent: 0, resent: 0, received: 0, badHeaders: 0, badChecksums: 0, badOrder: 0, rejects: 0 };
  private readonly cfg: Settings;
  private readonly decoder = new PacketDecoder();
  private role: Role = 'master';

  // startup
  private attempt = 0;
  private step: InitStep = Ctl.INITA;
  private tries = 0;
  private sentThisStep = false;
  private gotA = false;
  private gotB = false;
  private peerWindow = 0;
  private peerSizeCode = 1;

  // sending: queue[i] carries sequence number lastAcked + 1 + i
  private send: Direction = { window: 1, packetSize: 64 };
  private queue: DataFrame[] = [];
  private lastAcked = 0;
  private onWire = 0; // queue[0..onWire) have been (re)transmitted since the last RJ/timeout
  private recovering = false;
  private rejectSeen = false;
  private closing = false;

  // receiving
  private recvSeq = 0;
  private expectBadOrder = 0;

  // error budget
  private errorLevel = 0;
  private goodPackets = 0;
  private garbage = 0;
  private timeouts = 0;
  private heard = false;

  constructor(io: GEngineIO, clock: Clock, options: GEngineOptions = {}) {
    super(io, clock);
    this.cfg = settings(options);
  }

  /** Window and packet size used towards the peer (valid once started). */
  get sending(): Direction {
    return { ...this.send };
  }

  /** Bytes received but not consumed, e.g. what followed the peer's CLOSE. */
  leftover(): Uint8Array {
    return this.decoder.leftover();
  }

  /**
   * Begins the INIT exchange; the master (caller) speaks first. Bytes
   * received before start() (typically the peer's first INITA, read together
   * with the last handshake message) are processed now, after our own INITA.
   */
  start(role: Role): void {
    if (this.phase !== 'idle') throw new Error('g: already started');
    this.role = role;
    this.phase = 'init';
    this.enterStep(Ctl.INITA);
    this.dispatch();
    if (this.decoder.buffered() > 0) this.consume();
  }

  /**
   * Bytes read from the line. The engine takes ownership: the caller must not
   * modify them afterwards (data payloads handed out may be views of them).
   * Before start() they are kept; after the engine has ended they are dropped.
   */
  receive(bytes: Uint8Array): void {
    if (this.phase === 'idle') return this.decoder.push(bytes);
    if (this.phase !== 'init' && this.phase !== 'running') return;
    this.decoder.push(bytes);
    this.consume();
  }

  private consume(): void {
    this.heard = false;
    let d: Decoded | undefined;
    while ((this.phase === 'init' || this.phase === 'running') && (d = this.decoder.next())) {
      this.onDecoded(d);
      if (this.closing && this.phase === 'running' && this.queue.length === 0) this.finish(false);
      this.dispatch();
    }
    // The read timeout starts over when the peer is heard: a useful packet
    // arrived, or one is still arriving. Duplicates and garbage do not count,
    // so a peer resending a packet whose RR it lost still gets our RJ.
    if (this.phase === 'running' && (this.heard || this.decoder.buffered() > 0))
      this.armTimer(this.cfg.timeoutMs, () => this.onTimeout());
  }

  /** True when a data packet may be handed to sendData() now. */
  canSend(): boolean {
    return this.phase === 'running' && !this.closing && this.queue.length < this.send.window;
  }

  /**
   * Queues one data packet (payload ≤ the peer's packet size). 'command'
   * pads with NULs in a tt=2 packet; 'file' uses a short packet when the
   * payload does not fill it (an empty payload marks end of file).
   */
  sendData(payload: Uint8Array, kind: 'command' | 'file'): void {
    if (!this.canSend()) throw new Error('g: send window is closed');
    const peer = this.send.packetSize;
    const size = chooseSize(payload.length, peer, this.cfg.shortPackets, kind === 'command');
    this.queue.push(kind === 'command' ? commandArea(payload, size) : dataArea(payload, size));
    this.stats.sent++;
    // While recovering, new packets wait: acks release them two at a time.
    if (this.onWire === this.queue.length - 1) this.transmit(this.onWire++);
    this.dispatch();
  }

  /** Orderly shutdown: once everything sent is acknowledged, two CLOSEs. */
  close(): void {
    if (this.phase === 'running') {
      this.closing = true;
      if (this.queue.length === 0) this.finish(false);
    } else if (this.phase === 'init' || this.phase === 'idle') {
      this.finish(false);
    }
    this.dispatch();
  }

  // ------------------------------------------------------------ plumbing

  private sendControl(type: ControlType, value: number): void {
    this.io.write(encodeControl(type, value));
  }

  protected override stop(phase: 'closed' | 'failed'): void {
    super.stop(phase);
    this.queue = [];
  }

  private finish(byPeer: boolean): void {
    this.sendControl(Ctl.CLOSE, 0);
    if (!byPeer) this.sendControl(Ctl.CLOSE, 0);
    this.stop('closed');
    this.emit({ type: 'closed', byPeer });
  }

  /** Tells the peer with CLOSE (so it stops too instead of timing out), then stops. */
  private fail(reason: string, closes = 2): void {
    if (this.phase === 'failed' || this.phase === 'closed') return;
    for (let i = 0; i < closes; i++) this.sendControl(Ctl.CLOSE, 0);
    this.stop('failed');
    this.emit({ type: 'failed', reason });
  }

  private addError(what: string): void {
    if (++this.errorLevel > this.cfg.maxErrors) this.fail(`too many errors (last: ${what})`);
  }

  private good(count = 1): void {
    for (let i = 0; i < count; i++) {
      if (++this.goodPackets % this.cfg.errorDecay === 0 && this.errorLevel > 0) this.errorLevel--;
    }
  }

  private addGarbage(bytes: number): void {
    this.garbage += bytes;
    if (this.garbage > this.cfg.garbageLimit) this.fail(`more than ${this.cfg.garbageLimit} bytes of garbage`);
  }

  // ------------------------------------------------------------- startup

  private initValue(step: InitStep): number {
    return step === Ctl.INITB ? kOfSize(this.cfg.packetSize) - 1 : this.cfg.window;
  }

  private enterStep(step: InitStep): void {
    this.step = step;
    this.tries = 0;
    this.sentThisStep = false;
    // After a failed attempt, steps already answered are re-sent without waiting.
    if ((step === Ctl.INITA && this.gotA) || (step === Ctl.INITB && this.gotB)) {
      this.sendControl(step, this.initValue(step));
      this.enterStep(NEXT_STEP[step]);
      return;
    }
    // Some uucicos assume the caller speaks first and the callee only answers.
    if (this.role === 'master') this.sendInit();
    this.armTimer(this.cfg.initTimeoutMs, () => this.onInitTimeout());
  }

  private sendInit(): void {
    this.sendControl(this.step, this.initValue(this.step));
    this.sentThisStep = true;
  }

  private onInitTimeout(): void {
    if (++this.tries >= this.cfg.initRetries) return this.restartInit();
    this.sendInit();
    this.armTimer(this.cfg.initTimeoutMs, () => this.onInitTimeout());
  }

  private restartInit(): void {
    if (++this.attempt >= this.cfg.startupRetries) return this.fail('g startup failed');
    this.enterStep(Ctl.INITA);
  }

  private onInit(type: number, value: number): void {
    if (type === this.step) {
      if (!this.sentThisStep) this.sendInit();
      if (type === Ctl.INITB) this.peerSizeCode = value;
      else this.peerWindow = value;
      if (type === Ctl.INITA) this.gotA = true;
      if (type === Ctl.INITB) this.gotB = true;
      if (type === Ctl.INITC) this.established();
      else this.enterStep(NEXT_STEP[this.step as keyof typeof NEXT_STEP]);
      return;
    }
    // The peer is a step ahead (INITC while we send INITB), or has gone back
    // to INITA while we send INITC: start the exchange over.
    if ((this.step === Ctl.INITB && type === Ctl.INITC) || (this.step === Ctl.INITC && type === Ctl.INITA))
      return this.restartInit();
    // A repeated INITB while sending INITC overrides the first.
    if (this.step === Ctl.INITC && type === Ctl.INITB) this.peerSizeCode = value;
  }

  private established(): void {
    const packetSize = this.cfg.remotePacketSize ?? 1 << (this.peerSizeCode + 5);
    let window = Math.max(1, this.cfg.remoteWindow ?? this.peerWindow);
    if (this.cfg.maxSendBytesInFlight !== undefined)
      window = Math.max(1, Math.min(window, Math.floor(this.cfg.maxSendBytesInFlight / (packetSize + 6))));
    this.send = { window, packetSize };
    this.phase = 'running';
    this.armTimer(this.cfg.timeoutMs, () => this.onTimeout());
    this.emit({
      type: 'started',
      send: { ...this.send },
      receive: { window: this.cfg.window, packetSize: this.cfg.packetSize },
    });
  }

  // ----------------------------------------------------------- receiving

  private onDecoded(d: Decoded): void {
    switch (d.kind) {
      case 'garbage':
        return this.addGarbage(d.bytes);
      case 'bad-header':
        this.stats.badHeaders++;
        this.addGarbage(1);
        return this.addError('bad header');
      case 'bad-checksum':
      case 'bad-length':
        return this.onBadPacket(d.kind === 'bad-length' ? TT.SHORT : d.tt, d.seq);
      case 'control':
        this.garbage = 0;
        this.heard = true;
        return this.phase === 'init' ? this.onInitPhaseControl(d.type, d.value) : this.onControl(d.type, d.value);
      case 'data':
        this.garbage = 0;
        if (this.phase === 'init') {
          // Data can only come from a peer that finished startup; its INITC got lost.
          if (this.step !== Ctl.INITC) return;
          this.established();
        }
        return this.onData(d.seq, d.ack, d.payload);
    }
  }

  private onInitPhaseControl(type: number, value: number): void {
    if (type >= Ctl.INITC) return this.onInit(type, value);
    if (type === Ctl.CLOSE) return this.fail('closed by the peer during startup', 1);
    // An RR or RJ while we wait for INITC: the peer is running, its INITC was lost.
    if (this.step === Ctl.INITC && (type === Ctl.RR || type === Ctl.RJ)) {
      this.established();
      this.onControl(type, value);
    }
  }

  private onBadPacket(tt: number, seq: number): void {
    this.stats.badChecksums++;
    this.addGarbage(1);
    this.addError('bad checksum');
    if (this.phase !== 'running' || tt === TT.CONTROL || seq !== nextSeq(this.recvSeq)) return;
    // The packet we wanted is damaged: ask for it again, and expect the rest
    // of the peer's window to arrive out of order meanwhile.
    this.sendControl(Ctl.RJ, this.recvSeq);
    this.expectBadOrder += this.cfg.window - 1;
  }

  private onData(seq: number, ack: number, payload: Uint8Array): void {
    if (seq !== nextSeq(this.recvSeq)) {
      // Duplicates and packets after a gap are dropped without an RR (RRs
      // for them confused Telebit modems); the sender recovers by timeout/RJ.
      this.stats.badOrder++;
      if (this.expectBadOrder > 0) this.expectBadOrder--;
      else this.addError('packet out of order');
      return;
    }
    this.heard = true;
    this.gotAck(ack);
    this.recvSeq = seq;
    this.stats.received++;
    this.expectBadOrder = 0;
    this.timeouts = 0;
    this.good();
    this.sendControl(Ctl.RR, seq);
    this.emit({ type: 'data', payload });
  }

  private onControl(type: number, value: number): void {
    switch (type) {
      case Ctl.CLOSE:
        return this.finish(true);
      case Ctl.RR:
        if (this.isDuplicateRR(value)) return this.onReject(value);
        return this.gotAck(value);
      case Ctl.RJ:
        this.rejectSeen = true;
        return this.onReject(value);
      case Ctl.SRJ:
        return this.onSelectiveReject(value);
      // INIT packets after startup are ignored.
    }
  }

  // ------------------------------------------------------------- sending

  private seqAt(index: number): number {
    return (this.lastAcked + 1 + index) & 7;
  }

  private transmit(index: number): void {
    this.io.write(encodeData(this.queue[index]!, this.seqAt(index), this.recvSeq));
  }

  private resend(index: number): void {
    this.stats.resent++;
    this.transmit(index);
  }

  /** Moves lastAcked forward to `ack` if it acknowledges outstanding packets. */
  private advance(ack: number): boolean {
    const n = seqDiff(ack, this.lastAcked);
    if (n === 0 || n > this.queue.length) return false; // nothing new, or stale
    this.queue.splice(0, n);
    this.lastAcked = ack;
    this.onWire = Math.max(0, this.onWire - n);
    this.timeouts = 0;
    this.good(n);
    this.emit({ type: 'acked' });
    return true;
  }

  private gotAck(ack: number): void {
    if (!this.advance(ack) || !this.recovering) return;
    for (let i = 0; i < 2 && this.onWire < this.queue.length; i++) this.resend(this.onWire++);
    if (this.onWire === this.queue.length) this.recovering = false;
  }

  /** Some peers send a repeated RR instead of RJ; Taylor honours it only while recovering. */
  private isDuplicateRR(ack: number): boolean {
    return !this.rejectSeen && this.recovering && ack === this.lastAcked && this.queue.length > 0;
  }

  private onReject(ack: number): void {
    this.stats.rejects++;
    if (seqDiff(ack, this.lastAcked) > this.queue.length) return; // stale
    this.advance(ack);
    if (this.queue.length === 0) return;
    this.addError('reject');
    if (this.phase === 'running') this.resendOldest();
  }

  private onSelectiveReject(seq: number): void {
    this.stats.rejects++;
    const index = seqDiff(seq, this.lastAcked) - 1;
    if (index < 0 || index >= this.onWire) return;
    this.addError('selective reject');
    if (this.phase === 'running') this.resend(index);
  }

  private resendOldest(): void {
    this.resend(0);
    this.onWire = 1;
    this.recovering = true;
  }

  private onTimeout(): void {
    if (++this.timeouts > this.cfg.retries) return this.fail('timed out waiting for the peer');
    if (this.queue.length > 0) this.resendOldest();
    else this.sendControl(Ctl.RJ, this.recvSeq);
    this.armTimer(this.cfg.timeoutMs, () => this.onTimeout());
  }
}
