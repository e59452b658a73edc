/**
 * UUCP 'g' protocol engine: a pure state machine. Bytes go in through
 * receive(), packets come out through io.write(), happenings through
 * io.event(); time comes from an injected Clock. No I/O of its own.
 *
 *   header: DLE | K | sumLo | sumHi | C = tt xxx yyy | xor     (see packet.ts)
 *   data:   xxx = sequence number, yyy = last in-order packet received
 *   control: xxx = CLOSE RJ SRJ RR INITC INITB INITA, yyy = argument
 *
 * Behaviour follows Taylor UUCP 1.07 (docs/uucp-protocols.md "g sequence numbers and
 * windows", "g start-up" and "g recovery in Taylor UUCP"; the Taylor
 * manual "g Protocol", and its protg.c read for facts):
 * - startup INITA(window), INITB(size code), INITC(window), caller first,
 *   the callee answering each; each step 4 tries × 10 s, 8 attempts in all;
 * - sequence numbers mod 8, next to send starts at 1; each side sends at most
 *   the window and packet size the other asked to receive;
 * - in-order packets are acknowledged, anything else dropped silently;
 * - recovery: on timeout resend the oldest unacked packet only, then
 *   each ack releases up to two more resends (on RJ we differ, see
 *   onReject); a duplicate RR during
 *   recovery counts as RJ when the peer has never sent a real RJ;
 * - too many errors, timeouts or garbage bytes fail the engine, which sends
 *   CLOSE and stops.
 *
 * Where we differ from Taylor, for noisy lines (nothing here changes the
 * bytes of a packet, so any g peer still understands us):
 * - Error budget scaled to bytes. The error level rises by one per error
 *   and falls by one per `errorDecayBytes` good bytes (data areas received
 *   in order, plus our data areas the peer acknowledged), not per 10
 *   packets: a 1024-byte packet earns 16 times what a 64-byte one does.
 *   Past `maxErrors` (100) the engine fails.
 * - One damaged packet is one error. After a bad header or bad checksum the
 *   decoder moves on a byte at a time (as it must: never trust the length);
 *   bad headers and checksums found inside the bytes the damaged packet
 *   covered (header + claimed size; for a bad header the largest packet we
 *   asked for) are not counted again, nor is the rest of the peer's window
 *   arriving (out of order or damaged) after our RJ. Garbage bytes (not
 *   those of a damaged packet's rescan) count only against `garbageLimit`,
 *   reset by every valid packet.
 * - Prompt RJs. A packet after a gap (the one we wanted was lost whole) draws
 *   one RJ(last good) at once instead of waiting out a timeout. Mod 8 a
 *   go-back sender's repeat of a packet we have looks like one past a gap,
 *   so every packet taken is remembered by number, size and data checksum:
 *   a repeat draws nothing (RJing repeats makes a resend storm), unless it
 *   breaks a silence of `quiet` ms (the sender timed out: our RR was
 *   lost; the RJ acknowledges it). After an RJ the rest of
 *   the window arrives out of order and is noted the same way; when one of
 *   those packets comes again, the resend is under way without the packet
 *   we want (lost again): a new RJ at once, not after an RTO. Full packets
 *   that stop coming for an RTO, with nothing of ours outstanding, draw one
 *   RJ (the end of the window was lost; a fixed-timeout sender would wait
 *   10 s).
 * - Go-back-N on RJ: the rest of the window is resent at once (Taylor
 *   resends one packet and releases two per ack).
 * - Selective repeat, only between uugate peers (`selectiveRepeat`; the
 *   session knows them by `-Yuugate`): the receiver keeps packets past a
 *   gap and asks for each missing or damaged one with SRJ, a standard g
 *   packet that Taylor peers are never sent; the sender resends just that
 *   one. An error then costs one packet instead of the rest of the window
 *   (at 1e-5 bit errors, g 1024/7 keeps over 90 % of the clean rate, not
 *   78 %). A resend that arrives before an earlier one asked for shows that
 *   one lost: asked again. A stall with packets kept asks again for what is
 *   missing (an RJ would have the kept ones resent); a timeout resends the
 *   oldest without Taylor's slow restart.
 * - Liveness. Fail only on silence: a timeout after garbage arrived (our
 *   peer's answers destroyed by a burst) is not counted against `retries`
 *   nor backed off; a packet half in after a timeout of silence is a false
 *   header (damage claiming data that never comes) and is skipped.
 * - Adaptive retransmission timeout. Each ack of a packet sent once gives a
 *   round-trip sample (Karn); RTO = SRTT + 4·RTTVAR (RFC 6298 gains),
 *   at least `minRtoMs` (1 s), doubled on each timeout in a row, at most
 *   `timeoutMs` (Taylor's 10 s). Before the first sample, and while nothing
 *   of ours is unacknowledged (idle: then the timeout only sends RJ), the
 *   fixed `timeoutMs` applies. INIT timeouts are unchanged. For a packet
 *   larger than any sampled, the RTO grows by the size ratio (its time on a
 *   slow line is not in the samples yet).
 * - Adaptive packet size. When the peer asked for more than 64 bytes and
 *   short packets are on (Taylor then takes any smaller power of two), an RJ
 *   SRJ or timeout that forces a resend halves the size we send file data in
 *   (not below `minPacketSize`, 64), at most once per window sent at the
 *   current size. It doubles again (up to the peer's size) once
 *   window × size² / 3 bytes in a row were acknowledged without an error
 *   (size² / 3 with selective repeat, where an error costs one packet):
 *   with go-back-N, an error costs about a window of packets, so doubling
 *   pays (the header overhead saved, 3/size, exceeds the extra resending,
 *   error rate × window × size) only when errors are rarer than that; at
 *   1e-5 bit errors this settles at 128–256 bytes rather than 1024 (75 % of
 *   the clean rate at 1024, over 85 % there). Commands always use the peer's
 *   size (their NUL must land in the last packet).
 * - Fewer RRs. Taylor RRs every in-order packet; we RR once all the
 *   packets in what receive() was given are processed, for the last of
 *   them (RR is cumulative; an RJ we sent meanwhile counts). With
 *   `ackDelayMs` (runGOverStream sets 1) and a window of 6 or 7, a lone
 *   packet waits that long for a second one to share its RR: the peer
 *   still has 5 in flight, and on a slow line 1 ms is nothing against tens
 *   of ms of window. On a fast line it halves the RRs both sides write,
 *   relay and read, which is what costs there. While the error level is
 *   above 0, every in-order packet is RR'd at once again (a lost RR then
 *   costs the peer less). A data packet's piggy-backed ack does not replace the RR (a
 *   peer ignores it on a packet it drops as a duplicate).
 */

import { AdaptiveSize } from '../protocol/adaptive-size.js';
import { RttEstimator } from '../protocol/rtt.js';
import { EngineCore, type Direction, type EngineEvent, type EngineIO, type EngineStats, type Role } from '../protocol/protocol-engine.js';
import type { Clock, Timer } from '../protocol/clock.js';
import {
  Ctl,
  HEADER_LEN,
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
  /** Read timeout once running, ms (and the cap of the adaptive RTO). Default 10 000. */
  timeoutMs?: number;
  /** Floor of the adaptive retransmission timeout, ms. Default 1 000. */
  minRtoMs?: number;
  /** false: always wait `timeoutMs` (Taylor's fixed timeout). Default true. */
  adaptiveTimeout?: boolean;
  /** false: always send the peer's packet size (Taylor's choice). Default true. */
  adaptiveSize?: boolean;
  /** Smallest size the adaptive sender shrinks to. Default 64. */
  minPacketSize?: number;
  /** Silence (no data packet at all) after which a repeat draws RJ, ms. Default 500. */
  quietMs?: number;
  /** Timeouts in a row without progress before failing. Default 6. */
  retries?: number;
  /** Error level above which the engine fails. Default 100. */
  maxErrors?: number;
  /** Good bytes per error-level decrement. Default 512. */
  errorDecayBytes?: number;
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
  /** With a window of 6 or 7, how long a lone packet may wait for a second to share its RR, ms. Default 0. */
  ackDelayMs?: number;
  /** The peer is uugate: keep packets past a gap and ask for each missing one with SRJ. Default false. */
  selectiveRepeat?: boolean;
}

export type { Direction, Role };

/** A data event carries an in-order packet's valid bytes (empty for an empty short packet). */
export type GEvent = EngineEvent<{ send: Direction; receive: Direction }, unknown>;

export type GEngineIO = EngineIO<GEvent>;

export interface GStats extends EngineStats {
  rejects: number;
  /** RJs we sent. */
  rejectsSent: number;
  timeouts: number;
  /** Errors counted against the budget (one per damaged packet). */
  errors: number;
  /**
   * Data packets that arrived with a bad checksum or length, each once
   * (rescan hits inside one are not counted): what the 16-bit check
   * caught, from which what it missed is estimated (packet.ts).
   */
  damagedData: number;
  /** Send-size halvings and doublings. */
  shrinks: number;
  grows: number;
}

type InitStep = typeof Ctl.INITA | typeof Ctl.INITB | typeof Ctl.INITC;
type DataPacket = Extract<Decoded, { kind: 'data' }>;

/** What tells two packets under one sequence number apart: size and data checksum. */
const identity = (d: DataPacket): number => d.size * 0x10000 + d.sum;

const DEFAULTS = {
  window: 7,
  packetSize: 64,
  timeoutMs: 10_000,
  minRtoMs: 1_000,
  adaptiveTimeout: true,
  adaptiveSize: true,
  minPacketSize: 64,
  quietMs: 500,
  retries: 6,
  maxErrors: 100,
  errorDecayBytes: 512,
  garbageLimit: 10_000,
  initTimeoutMs: 10_000,
  initRetries: 4,
  startupRetries: 8,
  shortPackets: true,
  ackDelayMs: 0,
  selectiveRepeat: false,
};

type Settings = typeof DEFAULTS & Pick<GEngineOptions, 'remoteWindow' | 'remotePacketSize' | 'maxSendBytesInFlight'>;

function settings(options: GEngineOptions): Settings {
  const s = { ...DEFAULTS, ...options };
  if (!Number.isInteger(s.window) || s.window < 1 || s.window > 7)
    throw new RangeError(`g: window ${s.window} is not in 1..7`);
  kOfSize(s.packetSize); // validates
  kOfSize(s.minPacketSize);
  if (s.remotePacketSize !== undefined && !isPacketSize(s.remotePacketSize))
    throw new RangeError(`g: remote packet size ${s.remotePacketSize} is not a power of two in 32..4096`);
  return s;
}

const NEXT_STEP = { [Ctl.INITA]: Ctl.INITB, [Ctl.INITB]: Ctl.INITC } as const;

export class GEngine extends EngineCore<{ send: Direction; receive: Direction }, unknown, 'init' | 'running'> {
  readonly stats: GStats = {
    sent: 0,
    resent: 0,
    received: 0,
    badHeaders: 0,
    badChecksums: 0,
    badOrder: 0,
    rejects: 0,
    rejectsSent: 0,
    timeouts: 0,
    errors: 0,
    damagedData: 0,
    shrinks: 0,
    grows: 0,
  };
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
  /** When queue[i] was first sent; undefined once resent (no RTT sample then: Karn). */
  private sentAt: (number | undefined)[] = [];
  private lastAcked = 0;
  private onWire = 0; // queue[0..onWire) have been (re)transmitted since the last RJ/timeout
  private recovering = false;
  private rejectSeen = false;
  private closing = false;

  // receiving
  private recvSeq = 0;
  /**
   * In-order packets taken since our last RR or RJ: a count, not a sequence
   * number, since it can reach 8. A lone packet's RR may wait (ackDelayMs)
   * while our data packet carries its ack; the peer may then fill a whole new
   * window, and mod 8 those eight unacked packets looked like none: no RR
   * went out and the peer waited for its RTO (a second on TCP, uugate at
   * both ends, once every few mail jobs at 64/7).
   */
  private unackedIn = 0;
  private ackTimer?: Timer;
  private expectBadOrder = 0;
  /** When the last data packet arrived (in order or not). */
  private lastDataAt = 0;
  /** Per sequence number, size and data checksum of the last packet taken with it. */
  private readonly takenSums: number[] = new Array<number>(8).fill(-1);
  /** An RJ of ours awaits its resend (no in-order packet since). */
  private rejecting = false;
  /** Per sequence number, size and checksum of a packet dropped out of order since that RJ. */
  private readonly droppedSums: number[] = new Array<number>(8).fill(-1);
  /** Selective repeat: packets past a gap, by sequence number, and when each number was asked for with SRJ (0: not). */
  private readonly held: (DataPacket | undefined)[] = new Array<DataPacket | undefined>(8);
  private readonly askedAt: number[] = new Array<number>(8).fill(0);
  private asks = 0;
  /**
   * Selective repeat: per sequence number, size and checksum of a packet
   * taken after we asked for it with SRJ, whose resend may still be coming
   * (the original was only late), perhaps more than once. Mod 8 a copy could
   * arrive just when the next packet of that number is due and pass for it:
   * it is dropped there, once (new data identical to it costs one resend);
   * the next packet taken under that number ends the watch.
   */
  private readonly owedSums: number[] = new Array<number>(8).fill(-1);

  // error budget
  private errorLevel = 0;
  /** Bytes of the line up to which bad headers/checksums belong to an error already counted. */
  private damagedUntil = 0;
  /** The same for stats.damagedData: the end of the last data packet with a bad checksum. */
  private dataDamagedUntil = 0;
  private garbage = 0;
  private timeouts = 0;
  private heard = false;
  /** Damaged or unrecognised bytes arrived since the last timeout: the peer talks, the line garbles it. */
  private noisy = false;
  /** The last in-order packet was full (more should follow) and we have sent nothing since. */
  private midStream = false;

  // adaptive timeout (ms) and send size
  private readonly rtt = new RttEstimator();
  /** Largest packet (bytes on the wire) an RTT sample came from. */
  private sampledBytes = 0;
  /** The size file data goes in (≤ send.packetSize). */
  private readonly size: AdaptiveSize;

  constructor(io: GEngineIO, clock: Clock, options: GEngineOptions = {}) {
    super(io, clock);
    this.cfg = settings(options);
    // An error costs the rest of the window with go-back-N, one packet with selective repeat.
    const lostPerError = (): number => (this.cfg.selectiveRepeat ? 1 : this.send.window);
    this.size = new AdaptiveSize(64, this.cfg.minPacketSize, (s) => (lostPerError() * s * s) / (HEADER_LEN / 2));
  }

  /**
   * Window and packet size used towards the peer (valid once started); the
   * size is the adaptive one for file data, at most what the peer asked for.
   */
  get sending(): Direction {
    return { window: this.send.window, packetSize: this.size.size };
  }

  /** The packet size the peer asked for (commands are split at this size). */
  get peerPacketSize(): number {
    return this.send.packetSize;
  }

  /** The retransmission timeout now in force while data is outstanding, ms. */
  get rto(): number {
    // A round trip learnt on small packets understates a larger one's time on
    // a slow line (4 KiB take 1.1 s at 3,600 B/s): scale by the size ratio
    // until a packet of that size has been sampled.
    const scale = (): number => Math.max(1, (this.queue[0]?.packet.length ?? 0) / this.sampledBytes);
    return this.rtt.rto(this.cfg.adaptiveTimeout, this.cfg.minRtoMs, this.cfg.timeoutMs, scale);
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
    this.sendAck();
    // The read timeout starts over when the peer is heard: a useful packet
    // arrived, or one is still arriving. Duplicates and garbage do not count,
    // so a peer resending a packet whose RR it lost still gets our RJ.
    if (this.phase === 'running' && (this.heard || this.decoder.buffered() > 0)) this.armRunTimer();
  }

  /** RR for in-order packets not yet acknowledged by an RR or RJ (`now`: no waiting for a second). */
  private sendAck(now = false): void {
    if (this.phase !== 'running' || this.unackedIn === 0) return;
    if (!now && this.cfg.ackDelayMs > 0 && this.cfg.window >= 6 && this.unackedIn === 1) {
      this.ackTimer ??= this.clock.setTimer(this.cfg.ackDelayMs, () => {
        this.ackTimer = undefined;
        this.sendAck(true);
      });
      return;
    }
    this.ackTimer?.cancel();
    this.ackTimer = undefined;
    this.sendControl(Ctl.RR, this.recvSeq);
    this.unackedIn = 0;
  }

  /** RTO while our data is unacknowledged, a packet is half in or a stream stopped short, else the idle timeout. */
  private armRunTimer(): void {
    const waiting = this.queue.length > 0 || this.decoder.buffered() > 0 || this.midStream;
    this.armTimer(waiting ? this.rto : this.cfg.timeoutMs, () => this.onTimeout());
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
    this.sendFrame(this.frame(payload, kind));
  }

  /**
   * A data packet built (copied and checksummed) but not queued: a sender
   * can have the next one ready while the window is full, so that only the
   * header is left to do when the ack comes.
   */
  frame(payload: Uint8Array, kind: 'command' | 'file'): DataFrame {
    const size = chooseSize(payload.length, this.send.packetSize, this.cfg.shortPackets, kind === 'command');
    return kind === 'command' ? commandArea(payload, size) : dataArea(payload, size);
  }

  /** Queues a packet from frame() as sendData() does. */
  sendFrame(frame: DataFrame): void {
    if (!this.canSend()) throw new Error('g: send window is closed');
    const wasIdle = this.queue.length === 0;
    this.midStream = false;
    this.queue.push(frame);
    this.sentAt.push(undefined);
    this.stats.sent++;
    this.size.passed();
    // While recovering, new packets wait: acks release them two at a time.
    if (this.onWire === this.queue.length - 1) this.transmit(this.onWire++);
    // The idle timeout gives way to the RTO once something awaits an ack.
    if (wasIdle && this.phase === 'running') this.armRunTimer();
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
    this.ackTimer?.cancel();
    this.queue = [];
    this.sentAt = [];
  }

  private finish(byPeer: boolean): void {
    this.sendAck(true);
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
    this.stats.errors++;
    if (++this.errorLevel > this.cfg.maxErrors) this.fail(`too many errors (last: ${what})`);
  }

  /** Good bytes pay the error level back: one error per `errorDecayBytes`. */
  private good(bytes: number): void {
    this.errorLevel = Math.max(0, this.errorLevel - bytes / this.cfg.errorDecayBytes);
  }

  /** The current error level (fractional: it is paid back byte by byte). */
  get errors(): number {
    return this.errorLevel;
  }

  /**
   * A bad header or checksum at line offset `at`: one error for the damaged
   * packet, none for the resync hits inside the bytes it covered.
   */
  private damaged(at: number, extent: number, what: string): void {
    if (at < this.damagedUntil) return;
    this.damagedUntil = at + extent;
    // Damage to the rest of the window after our RJ: those packets were dropped anyway.
    if (this.expectBadOrder > 0) {
      this.expectBadOrder--;
      return;
    }
    this.addError(what);
  }

  /**
   * `bytes` unusable bytes ending at the decoder's offset. Those inside a
   * damaged packet already counted (its rescan) are not garbage: on a line
   * damaging most 1024-byte packets, ten in a row would otherwise end it.
   */
  private addGarbage(bytes: number): void {
    this.noisy = true;
    const end = this.decoder.offset();
    bytes = Math.min(bytes, Math.max(0, end - this.damagedUntil));
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
    this.size.set(packetSize, 0);
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
        // The decoder has moved one byte past the DLE.
        return this.damaged(this.decoder.offset() - 1, HEADER_LEN + this.cfg.packetSize, 'bad header');
      case 'bad-checksum':
        return this.onBadPacket(d.tt, d.seq, this.decoder.offset() - 1, HEADER_LEN + d.size);
      case 'bad-length':
        // A whole packet that passed its checksum: consumed, nothing to resync.
        return this.onBadPacket(TT.SHORT, d.seq, this.decoder.offset(), 0);
      case 'control':
        this.garbage = 0;
        this.damagedUntil = this.dataDamagedUntil = 0;
        this.heard = true;
        return this.phase === 'init' ? this.onInitPhaseControl(d.type, d.value) : this.onControl(d.type, d.value);
      case 'data':
        this.garbage = 0;
        this.damagedUntil = this.dataDamagedUntil = 0;
        if (this.phase === 'init') {
          // Data can only come from a peer that finished startup; its INITC got lost.
          if (this.step !== Ctl.INITC) return;
          this.established();
        }
        return this.onData(d);
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

  private onBadPacket(tt: number, seq: number, at: number, extent: number): void {
    this.stats.badChecksums++;
    this.addGarbage(1);
    const counted = at >= this.damagedUntil;
    // Counted apart from the error budget: a bad header's extent (our packet
    // size) may cover several smaller packets, whose damage must not hide.
    if (tt !== TT.CONTROL && at >= this.dataDamagedUntil) {
      this.stats.damagedData++;
      this.dataDamagedUntil = at + extent;
    }
    this.damaged(at, extent, 'bad checksum');
    if (!counted || this.phase !== 'running' || tt === TT.CONTROL) return;
    // A uugate peer resends a damaged packet alone, whichever it was.
    if (this.cfg.selectiveRepeat) {
      if (this.missing(seq)) this.askFor(seq);
      return;
    }
    // The packet we wanted is damaged: ask for it again (as Taylor, every time).
    if (seq === nextSeq(this.recvSeq)) this.reject(true);
  }

  /**
   * RJ(last good). For a loss seen in a stream of packets (`inStream`: a
   * damaged or missing one), the rest of the peer's window still arrives out
   * of order: its damage is not counted as errors, and its packets are
   * noted to recognise the resend. An RJ for a silence or a lost RR has no
   * such fallout: the peer's answer comes in order.
   */
  private reject(inStream: boolean): void {
    this.stats.rejectsSent++;
    this.rejecting = inStream;
    this.droppedSums.fill(-1);
    this.expectBadOrder = inStream ? this.cfg.window - 1 : 0;
    this.sendControl(Ctl.RJ, this.recvSeq);
    this.unackedIn = 0;
  }

  private onData(d: DataPacket): void {
    const quiet = this.clock.now() - this.lastDataAt >= this.cfg.quietMs;
    this.lastDataAt = this.clock.now();
    if (d.seq !== nextSeq(this.recvSeq)) return this.outOfOrder(d, quiet);
    if (this.owedSums[d.seq] !== -1 && this.owedSums[d.seq] === identity(d)) {
      this.owedSums[d.seq] = -1;
      this.stats.badOrder++;
      return;
    }
    this.take(d);
    this.gotAck(d.ack);
    // While errors are being paid back, every packet gets its own RR (as
    // Taylor's do): one lost RR must not leave the peer's window without an ack.
    if (this.errorLevel > 0) this.sendAck(true);
    // Packets kept past the gap this one filled follow it (their piggy-backed
    // acks are older than this one's, so not used: mod 8 one could pass for new).
    for (let h = this.held[nextSeq(this.recvSeq)]; h; h = this.held[nextSeq(this.recvSeq)]) this.take(h);
  }

  /** An in-order packet: taken, and handed up. */
  private take(d: DataPacket): void {
    const { seq, size, payload } = d;
    const sum = identity(d);
    this.takenSums[seq] = sum;
    this.owedSums[seq] = this.askedAt[seq] ? sum : -1;
    this.held[seq] = undefined;
    this.askedAt[seq] = 0;
    this.rejecting = false;
    this.heard = true;
    this.recvSeq = seq;
    this.unackedIn++;
    this.stats.received++;
    this.expectBadOrder = 0;
    this.timeouts = 0;
    this.good(HEADER_LEN + size);
    this.midStream = payload.length === size;
    this.emit({ type: 'data', payload });
  }

  /**
   * A packet out of order is dropped without an RR (RRs for them confused
   * Telebit modems). Sequence numbers mod 8 cannot tell a go-back sender's
   * repeat of a packet we have from one past a gap; its size and checksum
   * can (identical data under the same number, say in a file of zeros, only
   * falls back to the slower ways: a stalled stream, the sender's RTO).
   */
  private outOfOrder(d: DataPacket, quiet: boolean): void {
    const seq = d.seq;
    const sum = identity(d);
    this.stats.badOrder++;
    if (this.expectBadOrder > 0) this.expectBadOrder--;
    if (this.takenSums[seq] === sum) {
      // A repeat is the fallout of a resend (RJing it would start a storm of
      // them), unless it broke a silence: the sender timed out because our
      // RR was lost, and RJ(last good) acknowledges it. Each of its timeouts
      // brings one packet: every one is answered (our answer may be lost too).
      if (quiet) this.reject(false);
      return;
    }
    if (this.cfg.selectiveRepeat) return this.hold(d);
    // After our RJ the rest of the window comes first; a packet of it seen
    // again means the resend is under way and its first packet, the one we
    // want, was lost too: RJ again now, not after an RTO. Without an RJ
    // pending, a packet past a gap: the one we wanted was lost whole.
    if (this.rejecting && this.droppedSums[seq] !== sum) {
      this.droppedSums[seq] = sum;
      return;
    }
    this.reject(true);
    this.droppedSums[seq] = sum;
  }

  /**
   * Selective repeat (a uugate peer): a packet past a gap is kept, and each
   * one missing before it asked for once with SRJ; the peer resends just
   * that one (a go-back resend of the window costs window − 1 packets more
   * per error). If the resend is lost too, the peer's RTO resends it.
   */
  private hold(d: DataPacket): void {
    const ahead = seqDiff(d.seq, this.recvSeq);
    if (ahead < 2 || ahead > this.cfg.window) return;
    this.held[d.seq] = d;
    // If it is a resend we asked for, those asked for before it and still missing lost theirs.
    const at = this.askedAt[d.seq]!;
    this.askMissing(d.seq, (asked) => asked < at);
  }

  /** SRJ for each packet missing before `end`: those not asked for yet, and those asked for when `again`. */
  private askMissing(end: number, again: (askedAt: number) => boolean): void {
    for (let s = nextSeq(this.recvSeq); s !== end; s = nextSeq(s)) {
      const asked = this.askedAt[s]!;
      if (this.missing(s) && (!asked || again(asked))) this.askFor(s);
    }
  }

  /** The furthest packet kept past a gap, if any. */
  private lastHeld(): number | undefined {
    for (let ahead = this.cfg.window; ahead > 1; ahead--) if (this.held[(this.recvSeq + ahead) & 7]) return (this.recvSeq + ahead) & 7;
    return undefined;
  }

  /** `seq` is in our window and neither taken nor kept. */
  private missing(seq: number): boolean {
    const ahead = seqDiff(seq, this.recvSeq);
    return ahead > 0 && ahead <= this.cfg.window && !this.held[seq];
  }

  private askFor(seq: number): void {
    this.askedAt[seq] = ++this.asks;
    this.stats.rejectsSent++;
    this.sendControl(Ctl.SRJ, seq);
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
    this.sentAt[index] = this.queue[index]!.sent ? undefined : this.clock.now();
    this.io.write(encodeData(this.queue[index]!, this.seqAt(index), this.recvSeq));
  }

  private resend(index: number): void {
    this.stats.resent++;
    this.transmit(index);
    this.sentAt[index] = undefined;
  }

  /** An RJ or timeout forced a resend: send smaller packets, once per window at this size. */
  private shrink(): void {
    if (this.adaptsSize() && this.size.damaged(this.send.window)) this.stats.shrinks++;
  }

  private grow(bytes: number): void {
    if (this.adaptsSize() && this.size.good(bytes, this.send.packetSize, this.send.window)) this.stats.grows++;
  }

  /** Taylor takes any smaller packet from a peer that asked for more than 64 (not so SVR4 'G'). */
  private adaptsSize(): boolean {
    return this.cfg.adaptiveSize && this.cfg.shortPackets && this.send.packetSize > 64;
  }

  /** Moves lastAcked forward to `ack` if it acknowledges outstanding packets. */
  private advance(ack: number): boolean {
    const n = seqDiff(ack, this.lastAcked);
    if (n === 0 || n > this.queue.length) return false; // nothing new, or stale
    const sentAt = this.sentAt[n - 1];
    if (sentAt !== undefined && n <= this.onWire) {
      this.rtt.sample(this.clock.now() - sentAt);
      this.sampledBytes = Math.max(this.sampledBytes, this.queue[n - 1]!.packet.length);
    }
    let bytes = 0;
    // shift(), not splice(): no array of the removed made per ack.
    for (let i = 0; i < n; i++) {
      bytes += this.queue.shift()!.packet.length;
      this.sentAt.shift();
    }
    this.lastAcked = ack;
    this.onWire = Math.max(0, this.onWire - n);
    this.timeouts = 0;
    this.good(bytes);
    if (!this.recovering) this.grow(bytes);
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

  /**
   * RJ(y): the receiver dropped everything after y, so the rest of the
   * window goes again at once (go-back-N). Taylor resends one packet and
   * releases two more per ack, which costs a round trip or three per error.
   * The same RJ again means the resend was damaged too: the window goes again.
   */
  private onReject(ack: number): void {
    this.stats.rejects++;
    if (seqDiff(ack, this.lastAcked) > this.queue.length) return; // stale
    this.advance(ack);
    if (this.queue.length === 0) return;
    this.addError('reject');
    if (this.phase !== 'running') return;
    this.shrink();
    for (let i = 0; i < this.queue.length; i++) this.resend(i);
    this.onWire = this.queue.length;
    this.recovering = false;
    this.armRunTimer();
  }

  private onSelectiveReject(seq: number): void {
    this.stats.rejects++;
    const index = seqDiff(seq, this.lastAcked) - 1;
    if (index < 0 || index >= this.onWire) return;
    this.addError('selective reject');
    if (this.phase !== 'running') return;
    this.shrink();
    this.resend(index);
  }

  private resendOldest(): void {
    this.resend(0);
    // A uugate peer kept what came after it and asks for the rest with SRJ: no slow restart.
    if (this.cfg.selectiveRepeat) return;
    this.onWire = 1;
    this.recovering = true;
  }

  private onTimeout(): void {
    if (this.skipStalledHeader() || this.stalledStream()) return;
    // Answers destroyed by a burst are not a silent line: neither counted
    // against the retries (the garbage limit bounds them) nor backed off,
    // so the next resend draws the next answer soon.
    const noisy = this.noisy;
    this.noisy = false;
    if (!noisy && ++this.timeouts > this.cfg.retries) return this.fail('timed out waiting for the peer');
    this.stats.timeouts++;
    if (this.queue.length > 0) {
      if (!noisy) this.rtt.backOff();
      this.shrink();
      this.resendOldest();
    } else this.reject(false);
    this.armRunTimer();
  }

  /**
   * Full packets were arriving, then nothing for an RTO: the end of the
   * peer's window (or its RR for our RJ) was lost, and a fixed-timeout
   * sender (Taylor: 10 s) would wait. One RJ(last good) now, not counted as
   * a timeout; if the peer had simply paused, it costs that peer one error.
   */
  private stalledStream(): boolean {
    if (!this.midStream || this.queue.length > 0) return false;
    this.midStream = false;
    // With packets kept past a gap, only what is missing goes again: an RJ
    // would have the window resent, the kept packets with it.
    const last = this.lastHeld();
    if (last !== undefined) this.askMissing(last, () => true);
    else this.reject(false);
    this.armRunTimer();
    return true;
  }

  /**
   * A packet half in after a whole timeout of silence never completes (a
   * peer writes packets whole): damage made a false header whose claimed
   * data would swallow what follows — on an ack-only path, every RR until
   * the line dies. Skip its DLE and rescan; true when that let packets through.
   */
  private skipStalledHeader(): boolean {
    if (this.decoder.buffered() === 0) return false;
    this.decoder.skipByte();
    this.consume();
    return this.heard || this.phase !== 'running';
  }
}
