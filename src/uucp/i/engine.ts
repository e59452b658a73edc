/**
 * UUCP 'i' protocol engine (Taylor UUCP's bidirectional sliding-window
 * protocol) as a pure state machine: bytes in through receive(), packets out
 * through io.write(), happenings through io.event(), time from an injected
 * Clock (../protocol/clock.ts). No I/O of its own.
 *
 *   ^G | seq<<3|lchan | ack<<3|rchan | type<<5|caller<<4|len>>8 | len | xor  [data crc32]
 *   (see packet.ts)
 *
 * Behaviour (docs/uucp-protocols.md "i sequence numbers and windows" and
 * "i start-up"; Taylor manual "i Protocol"; proti.c read for facts; checked
 * against captured Taylor 1.07 traffic):
 * - startup: each side sends SYNC (packet size and window it wants to
 *   receive, number of channels) until it has the peer's; 10 s × 6 retries;
 * - sequence numbers mod 32, independent per direction, first packet 1;
 *   DATA, SPOS and CLOSE are numbered; ACK, NAK, SYNC are not;
 * - the sender keeps at most the peer's window unacknowledged; the receiver
 *   accepts packets within its own window of the last ack it sent, keeps
 *   early ones, NAKs each missing one once, and ACKs every half window
 *   (data packets piggy-back the ack); ours also ACKs at the end of each
 *   read that left packets unacked;
 * - a NAK asks for one packet; a NAK for the next number not yet sent, with
 *   nothing outstanding, is answered with an ACK (the peer lost our ACK);
 * - a single global file position: DATA advances it, SPOS sets it;
 * - on a silent line, NAK the packet wanted and resend the oldest unacked
 *   one; unacked packets are also resent when acks stop coming even while
 *   data arrives (so two busy senders cannot block each other); fail when
 *   nothing valid has come for `retries` × `timeoutMs`, or no ack while
 *   ours wait that long;
 * - an error level; past `maxErrors`, halve the packet size we ask for
 *   (SYNC) while above 400 bytes, else fail;
 * - CLOSE is sent once at the end (the session's H/HY already made sure
 *   everything arrived); a CLOSE received is answered with ours.
 * Our error level differs from Taylor's (which counts every bad header, CRC,
 * packet out of order and NAK received, paid back by one per `errorDecay`
 * packets received, and so dies on a line where more than one 1024-byte
 * packet in ten is damaged): as in our g, one damaged packet is one error
 * (bad headers and CRCs met while rescanning the bytes it covered are not
 * counted again), duplicates and NAKs (fallout of damage counted where it
 * was seen) are not errors, and good packets both ways pay back one error
 * per `errorDecayBytes` bytes (at least one per `errorDecay` packets). So
 * the budget runs out only when damage outpaces what still gets through;
 * a line that carries nothing fails on the timeouts.
 * Adaptive packet size (ours; the receiver takes any DATA length up to what
 * it asked for, so any i peer understands it): a NAK that makes us resend
 * file data halves the size we send in (not below `minPacketSize`), at most
 * once per window sent at the current size. It doubles again (up to the
 * peer's size) once size² / 5 bytes in a row were acknowledged without a
 * NAK: a NAK costs one packet, so doubling pays (header and CRC overhead
 * saved, 5/size, exceeds the extra resending, error rate × size) only when
 * errors are rarer than that. On a
 * line with 1e-4 bit errors a 1024-byte packet is damaged more often than
 * not, a 256-byte one about one time in five. The size we ask the peer to
 * send follows the same rule from the receiving side, told by SYNC (so a
 * Taylor sender, which never adapts, is spared NAKs it cannot afford).
 * Adaptive retransmission timeout (ours, as in our g): while our packets
 * wait for an ack or a gap waits to be filled, the check above runs after
 * SRTT + 4·RTTVAR (acks of packets sent once, Karn), at least `minRtoMs`,
 * doubling on each check that had to act, at most `timeoutMs`; otherwise
 * after `timeoutMs`. A lost packet at the end of a window then costs about
 * a second, not Taylor's 10. When full-size DATA packets were arriving and
 * then nothing for an RTO, with nothing of ours outstanding (the end of the
 * peer's window was lost: a Taylor sender would wait 10 s), we NAK the next
 * packet once.
 * Further additions: a SYNC received while nothing has come from the peer yet is
 * answered with our SYNC (the peer missed ours), a duplicate packet is
 * answered with an ACK, and a packet whose data never completes is given up
 * one byte at a time on timeouts.
 */

import type { Clock } from '../protocol/clock.js';
import { AdaptiveSize } from '../protocol/adaptive-size.js';
import { RttEstimator } from '../protocol/rtt.js';
import { EngineCore, type Direction, type EngineEvent, type EngineIO, type EngineStats, type Role } from '../protocol/protocol-engine.js';
import {
  CRC_LEN,
  EMPTY,
  HEADER_LEN,
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
  /** Timeouts of silence (or without an ack) before failing. Default 6. */
  retries?: number;
  /** Floor of the adaptive retransmission timeout, ms. Default 1 000. */
  minRtoMs?: number;
  /** false: always wait `timeoutMs` (Taylor's fixed timeout). Default true. */
  adaptiveTimeout?: boolean;
  syncTimeoutMs?: number;
  syncRetries?: number;
  maxErrors?: number;
  /** Good packets per error paid back (Taylor's error-decay). Default 10. */
  errorDecay?: number;
  /** Good bytes per error paid back (when that pays more). Default 512. */
  errorDecayBytes?: number;
  /** Packets received within one read before we ACK when we have nothing to send. Default window / 2. */
  ackFrequency?: number;
  /** Override the packet size the peer asked for (Taylor's remote-packet-size). */
  remotePacketSize?: number;
  /** false: always send the peer's packet size (Taylor's choice). Default true. */
  adaptiveSize?: boolean;
  /** Smallest size the adaptive sender shrinks to. Default 64. */
  minPacketSize?: number;
}

type Started = { send: Direction; receive: Direction; channels: number };
/** Of an in-order DATA packet: the channels as the sender set them, and its file position. */
type Data = { localChan: number; remoteChan: number; pos: number };

export type IEvent = EngineEvent<Started, Data>;

export type IEngineIO = EngineIO<IEvent>;

export interface IStats extends EngineStats {
  remoteRejects: number;
  /** Send-size halvings and doublings. */
  shrinks: number;
  grows: number;
}

interface Frame {
  type: number;
  localChan: number;
  remoteChan: number;
  data: Uint8Array;
}

const DEFAULTS = {
  packetSize: 1024,
  // Taylor's; settings() asks for one less.
  window: 16,
  channels: 1,
  timeoutMs: 10_000,
  retries: 6,
  minRtoMs: 1_000,
  adaptiveTimeout: true,
  syncTimeoutMs: 10_000,
  syncRetries: 6,
  maxErrors: 100,
  errorDecay: 10,
  errorDecayBytes: 512,
  adaptiveSize: true,
  minPacketSize: 64,
};

type Settings = typeof DEFAULTS & Pick<IEngineOptions, 'ackFrequency' | 'remotePacketSize'>;

function settings(o: IEngineOptions): Settings {
  const s = { ...DEFAULTS, ...o };
  const int = (v: number, lo: number, hi: number, what: string): void => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`i: ${what} ${v} is not in ${lo}..${hi}`);
  };
  int(s.packetSize, 1, MAX_DATA, 'packet size');
  int(s.window, 1, MAX_WINDOW, 'window');
  // We ask for one less than 16 (Taylor's default): taking packets up to 16
  // ahead, a late resend of one taken 16 back looks the same mod 32 (the
  // lossy-link property found it: a NAK'd packet that was only late, its
  // resend swapped behind the next one).
  s.window = Math.min(s.window, MAX_WINDOW - 1);
  int(s.channels, 1, MAX_CHANNEL, 'channels');
  if (s.remotePacketSize !== undefined) int(s.remotePacketSize, 1, MAX_DATA, 'remote packet size');
  return s;
}

export class IEngine extends EngineCore<Started, Data, 'sync' | 'running' | 'closing'> {
  readonly stats: IStats = { sent: 0, resent: 0, received: 0, badHeaders: 0, badChecksums: 0, badOrder: 0, remoteRejects: 0, shrinks: 0, grows: 0 };
  private readonly cfg: Settings;
  private readonly scanner: Scanner;
  private caller = true;
  private timeoutMs: number;
  private ackFrequency: number;
  private maxErrors: number;
  /** What we currently ask the peer for (adapted to the damage its DATA meets; halved on too many errors). */
  private readonly ask: AdaptiveSize;

  // startup
  private syncTries = 0;

  // sending
  private remote: Direction = { window: 1, packetSize: 64 };
  /** The packet size in the peer's first SYNC: later ones may go back up to it, never past. */
  private remoteFirstSize = 0;
  private peerChannels = 1;
  private sendSeq = 1;
  private remoteAck = 0;
  private readonly sent: (Uint8Array | undefined)[] = new Array(32);
  /** When sent[seq] went out first; undefined once resent (no RTT sample then: Karn). */
  private readonly sentAt: (number | undefined)[] = new Array(32);
  private waiting: Frame[] = [];
  private sendPos = 0;
  /** Adaptive size for our DATA packets (≤ remote.packetSize). */
  private readonly size: AdaptiveSize;

  // receiving
  private recSeq = 0;
  private localAck = 0;
  private receivedAny = false;
  private readonly saved: ({ header: Header; data: Uint8Array } | undefined)[] = new Array(32);
  private readonly naked: boolean[] = new Array(32).fill(false);
  private recPos = 0;
  private ackedThisBatch = false;

  // error budget
  private errors = 0;
  /** Bytes of the line up to which bad headers/CRCs belong to an error already counted. */
  private damagedUntil = 0;

  // liveness (ms)
  private heard = false;
  private progress = false;
  private lastHeardAt = 0;
  private lastProgressAt = 0;
  private readonly rtt = new RttEstimator();
  /** The last in-order DATA packet was full size (more should follow) and we have sent nothing since. */
  private midStream = false;

  constructor(io: IEngineIO, clock: Clock, options: IEngineOptions = {}) {
    super(io, clock);
    this.cfg = settings(options);
    this.timeoutMs = this.cfg.timeoutMs;
    this.maxErrors = this.cfg.maxErrors;
    this.ask = new AdaptiveSize(this.cfg.packetSize, this.cfg.minPacketSize, doublingPays);
    this.size = new AdaptiveSize(64, this.cfg.minPacketSize, doublingPays);
    const freq = this.cfg.ackFrequency;
    this.ackFrequency = freq && freq > 0 && freq < this.cfg.window ? freq : Math.max(1, this.cfg.window >> 1);
    this.scanner = new Scanner((h) => this.acceptHeader(h));
  }

  /** Packet size (the adaptive one, at most the peer's) and window towards the peer (valid once started). */
  get sending(): Direction {
    return { window: this.remote.window, packetSize: this.size.size };
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
    const data = syncData(this.ask.size, this.cfg.window, withChannels ? this.cfg.channels : undefined);
    this.io.write(encodePacket(this.header(PT.SYNC, 0), data));
  }

  /** The current error level (fractional: it is paid back byte by byte). */
  get errorLevel(): number {
    return this.errors;
  }

  /** A good packet of `bytes` on the wire, received or acknowledged. */
  private good(bytes: number): void {
    this.errors = Math.max(0, this.errors - Math.max(bytes / this.cfg.errorDecayBytes, 1 / this.cfg.errorDecay));
  }

  /** Damage at line offset `at` covering `extent` bytes: one error, unless inside damage already counted. */
  private damaged(at: number, extent: number): void {
    if (at < this.damagedUntil) return;
    this.damagedUntil = at + extent;
    this.errors++;
    this.checkErrors();
  }

  private checkErrors(): void {
    if (this.errors <= this.maxErrors) return;
    if (this.ask.size > 400 && (this.phase === 'running' || this.phase === 'closing')) {
      this.maxErrors *= 2;
      // Guarded, so the damage rule (peerDamaged) does not halve it again for the same packet.
      this.ask.set(this.ask.size >> 1, this.cfg.window);
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
    // Mid-session a SYNC may change the packet size, never past the first one.
    if (this.phase === 'sync') this.remoteFirstSize = size;
    this.remote.packetSize = Math.min(size, this.remoteFirstSize);
    // Our adaptive sender only comes down here (it grows back by its own rule);
    // a fixed one sends what the peer asks, as Taylor's does.
    this.size.size = this.phase === 'sync' || !this.cfg.adaptiveSize ? this.remote.packetSize : Math.min(this.size.size, this.remote.packetSize);
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
    for (let s = this.scanner.next(); s && this.live(); s = this.live() ? this.scanner.next() : undefined) {
      if (s.kind === 'bad-header') {
        // Rescanning a damaged packet meets many ^G bytes in its data: not new errors.
        this.stats.badHeaders++;
        this.damaged(this.scanner.offset() - 1, HEADER_LEN + this.ask.size + CRC_LEN);
      } else if (s.kind === 'bad-crc') {
        this.onBadCrc(s.header);
      } else {
        this.damagedUntil = 0;
        this.heard = true;
        this.lastHeardAt = this.clock.now();
        this.onPacket(s.header, s.data);
      }
      this.dispatch();
    }
    // Only once the whole read is taken in, the packet that brought the last
    // ack among it: our CLOSE acks them too. (Taylor, its second HY sent at
    // window 1, waits for that ack past our CLOSE for ever.)
    if (this.phase === 'closing' && this.unacked() === 0 && this.waiting.length === 0) {
      this.finish(false);
      this.dispatch();
    }
    // A read ends with what it brought acked (unless our own packets carried
    // the ack): over TCP the peer's kernel holds its next small segments
    // (Nagle) until ours acks the last one, which a delayed ACK puts off
    // 40 ms: a file's data waited that long behind its SPOS.
    if ((this.phase === 'running' || this.phase === 'closing') && this.recSeq !== this.localAck) this.sendAck();
  }

  private onBadCrc(h: Header): void {
    this.stats.badChecksums++;
    this.damaged(this.scanner.offset() - 1, HEADER_LEN + h.length + CRC_LEN);
    if (this.phase !== 'running' && this.phase !== 'closing') return;
    if (h.type === PT.DATA) this.peerDamaged();
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
        receive: { window: this.cfg.window, packetSize: this.ask.size },
        channels: Math.min(this.peerChannels, this.cfg.channels),
      });
      this.lastHeardAt = this.lastProgressAt = this.clock.now();
      this.armTick();
      return;
    }
    if (data.length > 0) {
      this.stats.received++;
      this.good(HEADER_LEN + data.length + CRC_LEN);
      if (h.type === PT.DATA) this.peerClean(HEADER_LEN + data.length + CRC_LEN);
    }
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
    this.hurry();
    for (let i = nextSeq(this.recSeq); i !== h.seq; i = nextSeq(i)) if (!this.naked[i] && !this.saved[i]) this.sendNak(i);
  }

  private process(h: Header, data: Uint8Array): void {
    switch (h.type) {
      case PT.DATA:
        this.emit({ type: 'data', payload: data, localChan: h.localChan, remoteChan: h.remoteChan, pos: this.recPos });
        this.recPos += data.length;
        return this.streaming(data.length >= this.ask.size);
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

    if (seq === this.sendSeq && this.unacked() === 0) return this.sendAck();
    if (seq === this.sendSeq || seqDiff(seq, this.remoteAck) > this.remote.window || seqDiff(this.sendSeq, seq) > this.remote.window) return;
    if (this.sent[seq]) this.shrink();
    this.resend(seq);
  }

  /** A NAK made us resend: send smaller packets, once per window sent at this size. */
  private shrink(): void {
    if (this.cfg.adaptiveSize && this.size.damaged(this.remote.window)) this.stats.shrinks++;
  }

  private grow(bytes: number): void {
    if (this.cfg.adaptiveSize && this.size.good(bytes, this.remote.packetSize, this.remote.window)) this.stats.grows++;
  }

  /**
   * The size we ask the peer to send follows the damage its DATA meets, by
   * the rule our sender uses for itself (above), told with a SYNC (the
   * 3-byte kind Taylor sends when its errors pile up; any i peer takes it):
   * a damaged packet halves it, once per window received at that size;
   * size² / 5 good bytes in a row double it, up to `packetSize`. Each
   * damaged packet costs a NAK, and a Taylor sender counts every NAK it gets
   * against an error budget that only packets it receives pay back: on a
   * line where most 1024-byte packets are damaged (bit errors 1e-4) it gives
   * up before the file is through, with smaller ones it finishes.
   */
  private peerDamaged(): void {
    if (this.cfg.adaptiveSize && this.ask.damaged(this.cfg.window)) this.sendSync(false);
  }

  private peerClean(bytes: number): void {
    this.ask.passed();
    if (this.cfg.adaptiveSize && this.ask.good(bytes, this.cfg.packetSize, this.cfg.window)) this.sendSync(false);
  }

  // ------------------------------------------------------------- sending

  private unacked(): number {
    return seqDiff(this.sendSeq, this.remoteAck) - 1;
  }

  private windowOpen(): boolean {
    return seqDiff(this.sendSeq, this.remoteAck) <= this.remote.window;
  }

  private pump(): void {
    const idle = this.unacked() === 0;
    if (this.waiting.length > 0) this.midStream = false;
    while (this.waiting.length > 0 && this.windowOpen() && (this.phase === 'running' || this.phase === 'closing')) {
      const f = this.waiting.shift()!;
      const packet = encodePacket(this.header(f.type, this.sendSeq, f.localChan, f.remoteChan), f.data);
      this.localAck = this.recSeq;
      if (this.unacked() === 0) {
        // The stall clock starts now.
        this.progress = true;
        this.lastProgressAt = this.clock.now();
      }
      this.sent[this.sendSeq] = packet;
      this.sentAt[this.sendSeq] = this.clock.now();
      this.size.passed();
      this.sendSeq = nextSeq(this.sendSeq);
      this.stats.sent++;
      this.io.write(packet);
    }
    if (idle && this.unacked() > 0) this.hurry();
  }

  private resend(seq: number): void {
    const p = this.sent[seq];
    if (!p) return;
    this.stats.resent++;
    this.sentAt[seq] = undefined;
    this.localAck = this.recSeq;
    this.io.write(withAck(p, this.recSeq));
  }

  private gotAck(ack: number): void {
    if (ack === this.sendSeq || ack === this.remoteAck) return;
    if (seqDiff(ack, this.remoteAck) > this.remote.window || seqDiff(this.sendSeq, ack) > this.remote.window) return;
    const sentAt = this.sentAt[ack];
    if (sentAt !== undefined) this.rtt.sample(this.clock.now() - sentAt);
    let bytes = 0;
    for (let s = nextSeq(this.remoteAck); s !== nextSeq(ack); s = nextSeq(s)) {
      const length = this.sent[s]?.length ?? HEADER_LEN;
      this.good(length);
      bytes += length;
      this.sent[s] = undefined;
    }
    this.grow(bytes);
    this.remoteAck = ack;
    this.progress = true;
    this.lastProgressAt = this.clock.now();
    this.emit({ type: 'acked' });
    this.pump();
  }

  // ------------------------------------------------------------- liveness


  /** The retransmission timeout now in force while something waits, ms. */
  get rto(): number {
    return this.rtt.rto(this.cfg.adaptiveTimeout, this.cfg.minRtoMs, this.timeoutMs);
  }

  /** Notes whether a stream of full packets is under way; its start brings the next check forward to an RTO. */
  private streaming(full: boolean): void {
    const started = full && !this.midStream;
    this.midStream = full;
    if (started) this.hurry();
  }

  /** Early packets kept while one before them is missing. */
  private gap(): boolean {
    return this.saved.some((p) => p !== undefined);
  }

  private armTick(): void {
    this.heard = false;
    this.progress = false;
    this.scheduleTick(this.unacked() > 0 || this.gap() || this.midStream ? this.rto : this.timeoutMs);
  }

  private scheduleTick(ms: number): void {
    this.armTimer(ms, () => this.onTick());
  }

  /**
   * Something began to wait (our packet, a gap, a stream of full packets):
   * the next check within an RTO. Once running, the only timer armed is the check.
   */
  private hurry(): void {
    if ((this.phase === 'running' || this.phase === 'closing') && this.armedAt > this.clock.now() + this.rto) this.scheduleTick(this.rto);
  }

  private onTick(): void {
    if (this.phase !== 'running' && this.phase !== 'closing') return;
    const limit = this.cfg.retries * this.timeoutMs;
    const now = this.clock.now();
    if (!this.heard) {
      if (now - this.lastHeardAt >= limit) return this.fail('timed out waiting for the peer');
      this.midStream = false;
      this.rtt.backOff();
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
      if (now - this.lastProgressAt >= limit) return this.fail('the peer stopped acknowledging');
      this.rtt.backOff();
      this.resend(nextSeq(this.remoteAck));
    }
    this.armTick();
  }
}

/** Good bytes in a row after which a packet twice `size` pays: the header and CRC saved outweigh the larger resends. */
function doublingPays(size: number): number {
  return (size * size) / ((HEADER_LEN + CRC_LEN) / 2);
}

export { EMPTY };
