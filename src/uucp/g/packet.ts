/**
 * UUCP 'g' protocol packet layer: header and checksum, data-area framing
 * (full, short and zero-padded command packets) and a streaming decoder that
 * resynchronises on the next DLE after garbage.
 *
 *   byte:   0     1     2       3       4     5      6 ...
 *         +-----+-----+-------+-------+-----+-----+---------------------+
 *         | DLE |  K  | sumLo | sumHi |  C  | xor | 2^(K+4) data bytes  |
 *         +-----+-----+-------+-------+-----+-----+---------------------+
 *         C = tt<<6 | xxx<<3 | yyy     xor = K^sumLo^sumHi^C
 *         K = 9: control packet, no data; K = 1..8: 32..4096 data bytes
 *
 * Facts: docs/uucp-protocols.md "g packet header", "g checksum", "g short packets"
 * (checked against captured Taylor UUCP 1.07 traffic) and the Taylor UUCP manual, "g Protocol".
 */

import { plainView } from '../../util/bytes.js';

export const DLE = 0x10;
export const HEADER_LEN = 6;
export const K_CONTROL = 9;
export const MIN_PACKET = 32;
export const MAX_PACKET = 4096;

/** Packet types (the tt field). */
export const TT = { CONTROL: 0, ALTCHAN: 1, DATA: 2, SHORT: 3 } as const;

/** Control packet types (the xxx field of a tt=0 packet). */
export const Ctl = { CLOSE: 1, RJ: 2, SRJ: 3, RR: 4, INITC: 5, INITB: 6, INITA: 7 } as const;
export type ControlType = (typeof Ctl)[keyof typeof Ctl];

export const nextSeq = (seq: number): number => (seq + 1) & 7;
/** a − b modulo 8. */
export const seqDiff = (a: number, b: number): number => (a - b) & 7;

export const sizeOfK = (k: number): number => 1 << (k + 4);

export function isPacketSize(size: number): boolean {
  return Number.isInteger(size) && size >= MIN_PACKET && size <= MAX_PACKET && (size & (size - 1)) === 0;
}

/** K for a data size (32 → 1 … 4096 → 8); INITB carries K − 1. */
export function kOfSize(size: number): number {
  if (!isPacketSize(size)) throw new RangeError(`g: packet size ${size} is not a power of two in 32..4096`);
  return Math.log2(size) - 4;
}

/** Smallest power of two ≥ n (strict: > n), at least 32. */
function pow2Fit(n: number, strict: boolean): number {
  let size = MIN_PACKET;
  while (strict ? size <= n : size < n) size <<= 1;
  return size;
}

/**
 * The checksum function f over a whole data area (padding and short-length
 * bytes included). Taylor lets its accumulators grow past 16 bits; only the
 * low 16 bits ever influence the result, so we mask as we go. Written for
 * V8's optimiser: the length read once and the countdown derived from the
 * index runs at ≈ 2 ns/byte, against ≈ 6 with a second loop variable and
 * the length re-read per byte (a fast line checksums every byte twice).
 */
export function checksum(data: Uint8Array): number {
  let s1 = 0xffff;
  let s2 = 0;
  const n = data.length;
  for (let i = 0; i < n; i++) {
    s1 = ((s1 << 1) | (s1 >>> 15)) & 0xffff;
    const b = data[i]!;
    const t = s1 + b;
    s1 = t & 0xffff;
    s2 = (s2 + (s1 ^ (n - i))) & 0xffff;
    if (b === 0 || t > 0xffff) s1 ^= s2;
  }
  return s1;
}

/**
 * The share of damaged data areas whose damage checksum() misses. Not 2^-16:
 * the function is weak against the damage a noisy line does. Measured here
 * on random data with one or two flipped bits (what a bit error rate of
 * 1e-5–1e-4 does to a packet): 32–256-byte areas 0.3–2.3 % missed, 512
 * 0.03–0.3 %, 1024–4096 up to 0.13 % (a flipped pair). The worst is taken
 * for every size.
 */
export const CHECKSUM_MISS_RATE = 0.025;

/**
 * How likely it is that at least one damaged data packet passed unseen,
 * given `damaged` packets that were caught: each caught one stands for
 * miss / (1 − miss) that were not, on average (a Poisson estimate).
 */
export function undetectedRisk(damaged: number): number {
  return 1 - Math.exp((-damaged * CHECKSUM_MISS_RATE) / (1 - CHECKSUM_MISS_RATE));
}

/** Header checksum: 0xAAAA − C for control packets (f = 0), 0xAAAA − (f ^ C) for data. */
export const headerChecksum = (control: number, f = 0): number => (0xaaaa - (f ^ control)) & 0xffff;

const controlByte = (tt: number, xxx: number, yyy: number): number => (tt << 6) | ((xxx & 7) << 3) | (yyy & 7);

function writeHeader(into: Uint8Array, k: number, control: number, check: number): void {
  const lo = check & 0xff;
  const hi = check >> 8;
  into[0] = DLE;
  into[1] = k;
  into[2] = lo;
  into[3] = hi;
  into[4] = control;
  into[5] = k ^ lo ^ hi ^ control;
}

/** Every control packet, encoded once: 8 types × 8 values. Never modify them. */
const CONTROL_PACKETS: Uint8Array[] = Array.from({ length: 64 }, (_, i) => {
  const c = controlByte(TT.CONTROL, i >> 3, i & 7);
  const out = new Uint8Array(HEADER_LEN);
  writeHeader(out, K_CONTROL, c, headerChecksum(c));
  return out;
});

/** A control packet (shared, read-only bytes). */
export function encodeControl(type: ControlType, value: number): Uint8Array {
  return CONTROL_PACKETS[((type & 7) << 3) | (value & 7)]!;
}

/**
 * A data area ready to send, built in place behind room for its header: the
 * first transmission writes the header there and sends that one buffer; a
 * resend (new ack, so new C) copies it, leaving bytes already handed out
 * untouched. f is kept so that a resend only recomputes the header.
 */
export interface DataFrame {
  readonly tt: typeof TT.DATA | typeof TT.SHORT;
  readonly k: number;
  /** HEADER_LEN bytes of room, then the data area. */
  readonly packet: Uint8Array;
  readonly area: Uint8Array;
  readonly f: number;
  /** Valid payload bytes carried. */
  readonly length: number;
  /** The packet buffer has been handed out once. */
  sent: boolean;
}

const SLAB_BYTES = 64 * 1024;
let slab = new Uint8Array(0);
let slabUsed = 0;

/**
 * A zeroed packet buffer for `size` data bytes. Small ones are cut from a
 * shared zeroed slab, each part handed out once: one allocation per 64 KiB
 * rather than one per 70-byte packet (an ArrayBuffer costs more to make than
 * the packet does to fill).
 */
function packetBuffer(size: number): Uint8Array {
  const n = HEADER_LEN + size;
  if (n > SLAB_BYTES / 8) return new Uint8Array(n);
  if (slabUsed + n > slab.length) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  slabUsed += n;
  return slab.subarray(slabUsed - n, slabUsed);
}

function frame(tt: DataFrame['tt'], packet: Uint8Array, length: number): DataFrame {
  const area = packet.subarray(HEADER_LEN);
  // K from the power-of-two size: 32 → 1 … 4096 → 8.
  return { tt, k: 27 - Math.clz32(area.length), packet, area, f: checksum(area), length, sent: false };
}

/** Header + data area with this sequence number and piggy-backed ack. */
export function encodeData(f: DataFrame, seq: number, ack: number): Uint8Array {
  const out = f.sent ? f.packet.slice() : f.packet;
  f.sent = true;
  const c = controlByte(f.tt, seq, ack);
  writeHeader(out, f.k, c, headerChecksum(c, f.f));
  return out;
}

/**
 * File data: a full tt=2 packet when the payload fills `size`, otherwise a
 * tt=3 short packet whose first one or two bytes say how many bytes are unused
 * (u, counting the length bytes themselves); an empty payload is end of file.
 * The payload is copied.
 */
export function dataArea(payload: Uint8Array, size: number): DataFrame {
  if (payload.length > size) throw new RangeError(`g: ${payload.length} bytes do not fit a ${size}-byte packet`);
  const packet = packetBuffer(size);
  if (payload.length === size) {
    packet.set(payload, HEADER_LEN);
    return frame(TT.DATA, packet, size);
  }
  const unused = size - payload.length;
  if (unused <= 0x7f) {
    packet[HEADER_LEN] = unused;
    packet.set(payload, HEADER_LEN + 1);
  } else {
    packet[HEADER_LEN] = 0x80 | (unused & 0x7f);
    packet[HEADER_LEN + 1] = unused >> 7;
    packet.set(payload, HEADER_LEN + 2);
  }
  return frame(TT.SHORT, packet, payload.length);
}

/** Command bytes in a zero-padded tt=2 packet (some peers insist on padding). */
export function commandArea(payload: Uint8Array, size: number): DataFrame {
  if (payload.length > size) throw new RangeError(`g: ${payload.length} bytes do not fit a ${size}-byte packet`);
  const packet = packetBuffer(size);
  packet.set(payload, HEADER_LEN);
  return frame(TT.DATA, packet, payload.length);
}

/**
 * Taylor's size choice. A peer that asked for more than 64 bytes is assumed
 * to take smaller packets too: file data goes in the smallest power of two
 * ≥ n, a command (which must keep a NUL) in the smallest one > n. Peers that
 * asked for ≤ 64, and 'G' peers, always get exactly their size.
 */
export function chooseSize(n: number, peerSize: number, shrink: boolean, command: boolean): number {
  if (n >= peerSize || !shrink || peerSize <= 64) return peerSize;
  return pow2Fit(n, command);
}

// ---------------------------------------------------------------- decoding

export type Decoded =
  | { kind: 'control'; type: number; value: number }
  /** `sum`: the checksum f of the data area, the same in every copy of a packet (a resend differs only in its ack). */
  | { kind: 'data'; seq: number; ack: number; short: boolean; size: number; sum: number; payload: Uint8Array }
  /** Bytes skipped while looking for a DLE. */
  | { kind: 'garbage'; bytes: number }
  /** DLE followed by an invalid header; the decoder moved on one byte. */
  | { kind: 'bad-header' }
  /** Valid header but the data does not match it (`size` data bytes claimed); the decoder moved on one byte. */
  | { kind: 'bad-checksum'; tt: number; seq: number; size: number }
  /** Checksum fine but the short-packet length is impossible (a peer bug). */
  | { kind: 'bad-length'; seq: number };

function headerOk(k: number, tt: number, xorOk: boolean): boolean {
  if (!xorOk || k < 1 || k > K_CONTROL || tt === TT.ALTCHAN) return false;
  return (k === K_CONTROL) === (tt === TT.CONTROL);
}

/** Payload of a short packet, or undefined if its length prefix is impossible. */
function shortPayload(area: Uint8Array): Uint8Array | undefined {
  const b0 = area[0]!;
  const wide = (b0 & 0x80) !== 0;
  const start = wide ? 2 : 1;
  const unused = wide ? (b0 & 0x7f) | (area[1]! << 7) : b0;
  if (unused < start || unused > area.length) return undefined;
  return area.subarray(start, area.length - unused + start);
}

const EMPTY = new Uint8Array(0);

/** `b` starts where `a` ends, in the same memory. */
const adjacent = (a: Uint8Array, b: Uint8Array): boolean => a.buffer === b.buffer && a.byteOffset + a.length === b.byteOffset;

/**
 * Streaming decoder. push() bytes as they arrive, then call next() until it
 * returns undefined (more input needed). After a bad header or checksum it
 * advances a single byte, never the claimed length: if bytes were lost, the
 * next real DLE may lie inside what looked like this packet's data.
 *
 * Buffering: packets are parsed in place in the pushed chunks (payloads
 * handed out are views of them, so a pushed chunk must not be modified
 * afterwards). Only a packet that straddles chunks is copied, and only its
 * own bytes, once it is complete: the cost stays linear however the line
 * splits its reads.
 */
export class PacketDecoder {
  /** Parsing happens in buf[pos..]; later chunks wait in `more`. */
  private buf: Uint8Array = EMPTY;
  private pos = 0;
  /** Stream offset of buf[0]. */
  private base = 0;
  private more: Uint8Array[] = [];
  private moreLength = 0;

  push(pushed: Uint8Array): void {
    if (pushed.length === 0) return;
    const bytes = plainView(pushed);
    if (this.pos >= this.buf.length && this.moreLength === 0) {
      this.base += this.pos;
      this.buf = bytes;
      this.pos = 0;
      return;
    }
    // A read that landed right behind the last one in the same memory (the
    // pty reader fills a slab): one longer view, so a packet split across
    // the two reads needs no copy.
    if (this.moreLength === 0 && adjacent(this.buf, bytes)) {
      this.buf = new Uint8Array(bytes.buffer, this.buf.byteOffset, this.buf.length + bytes.length);
      return;
    }
    const last = this.more.length - 1;
    if (last >= 0 && adjacent(this.more[last]!, bytes)) this.more[last] = new Uint8Array(bytes.buffer, this.more[last]!.byteOffset, this.more[last]!.length + bytes.length);
    else this.more.push(bytes);
    this.moreLength += bytes.length;
  }

  /** Stream offset of the next byte to parse (bytes consumed so far). */
  offset(): number {
    return this.base + this.pos;
  }

  /** How many bytes are received but not consumed. */
  buffered(): number {
    return this.buf.length - this.pos + this.moreLength;
  }

  /** Bytes received but not consumed (e.g. what followed a CLOSE). */
  leftover(): Uint8Array {
    if (this.moreLength > 0) this.fill(this.buffered());
    return this.buf.subarray(this.pos);
  }

  /**
   * Gives up on the packet that starts here (its DLE), for a header whose
   * data never comes: damage that looked like a header claiming more bytes
   * than will follow. Parsing resumes at the next byte.
   */
  skipByte(): void {
    if (this.pos >= this.buf.length && !this.fill(1)) return;
    this.pos++;
  }

  next(): Decoded | undefined {
    for (;;) {
      const d = this.parse();
      if (typeof d !== 'number') return d;
      if (!this.fill(d)) return undefined;
    }
  }

  /**
   * Makes buf[pos..] hold at least `need` bytes: the next chunk as it is when
   * nothing is left of the current one, else a copy of just enough bytes.
   */
  private fill(need: number): boolean {
    const rest = this.buf.length - this.pos;
    if (rest + this.moreLength < need) return false;
    if (rest === 0) {
      this.base += this.buf.length;
      this.buf = this.more.shift()!;
      this.moreLength -= this.buf.length;
      this.pos = 0;
      if (this.buf.length >= need) return true;
      return this.fill(need);
    }
    const joined = new Uint8Array(need);
    joined.set(this.buf.subarray(this.pos));
    for (let filled = rest; filled < need; ) {
      const chunk = this.more[0]!;
      const take = Math.min(chunk.length, need - filled);
      joined.set(take === chunk.length ? chunk : chunk.subarray(0, take), filled);
      filled += take;
      this.moreLength -= take;
      if (take === chunk.length) this.more.shift();
      else this.more[0] = chunk.subarray(take);
    }
    this.base += this.pos;
    this.buf = joined;
    this.pos = 0;
    return true;
  }

  /** One item from buf[pos..], or how many bytes from pos it needs to decide. */
  private parse(): Decoded | number {
    const b = this.buf;
    const at = this.pos;
    if (at >= b.length) return 1;
    if (b[at] !== DLE) {
      const dle = b.indexOf(DLE, at);
      this.pos = dle < 0 ? b.length : dle;
      return { kind: 'garbage', bytes: this.pos - at };
    }
    if (b.length - at < HEADER_LEN) return HEADER_LEN;
    const k = b[at + 1]!;
    const lo = b[at + 2]!;
    const hi = b[at + 3]!;
    const c = b[at + 4]!;
    const tt = c >> 6;
    if (!headerOk(k, tt, b[at + 5] === (k ^ lo ^ hi ^ c))) {
      this.pos = at + 1;
      return { kind: 'bad-header' };
    }
    const check = lo | (hi << 8);
    const xxx = (c >> 3) & 7;
    const yyy = c & 7;
    if (k === K_CONTROL) {
      if (check !== headerChecksum(c)) return this.badChecksum(tt, xxx, 0);
      this.pos = at + HEADER_LEN;
      return { kind: 'control', type: xxx, value: yyy };
    }
    const size = sizeOfK(k);
    if (b.length - at < HEADER_LEN + size) return HEADER_LEN + size;
    const area = b.subarray(at + HEADER_LEN, at + HEADER_LEN + size);
    const sum = checksum(area);
    if (check !== headerChecksum(c, sum)) return this.badChecksum(tt, xxx, size);
    this.pos = at + HEADER_LEN + size;
    if (tt === TT.DATA) return { kind: 'data', seq: xxx, ack: yyy, short: false, size, sum, payload: area };
    const payload = shortPayload(area);
    if (!payload) return { kind: 'bad-length', seq: xxx };
    return { kind: 'data', seq: xxx, ack: yyy, short: true, size, sum, payload };
  }

  private badChecksum(tt: number, seq: number, size: number): Decoded {
    this.pos += 1;
    return { kind: 'bad-checksum', tt, seq, size };
  }
}
