/**
 * Packet codec for Taylor UUCP's 'i' protocol: header, CRC-32, streaming
 * decoder with resynchronisation. Pure functions and a byte scanner; no
 * protocol state (engine.ts keeps that).
 *
 *   byte 0   0x07 (^G)
 *   byte 1   seq(5 bits) << 3 | local channel(3)     seq: DATA/SPOS/CLOSE number, NAK: packet wanted
 *   byte 2   ack(5 bits) << 3 | remote channel(3)    ack: last packet received in order
 *   byte 3   type(3) << 5 | caller(1) << 4 | len >> 8
 *   byte 4   len & 0xff                                len 0..4095
 *   byte 5   byte1 ^ byte2 ^ byte3 ^ byte4
 *   then, if len > 0: len data bytes and their CRC-32, most significant byte first
 *
 * Types: 0 DATA, 1 SYNC, 2 ACK, 3 NAK, 4 SPOS, 5 CLOSE. The caller bit is 1
 * on every packet the calling side sends, so an echoed packet is refused.
 * The CRC is the usual reflected 0xEDB88320 register started at 0xFFFFFFFF
 * but without the final inversion, i.e. the bitwise NOT of zlib's crc32.
 *
 * Facts (written down in docs/uucp-protocols.md "i packet header") from the
 * Taylor UUCP manual ("Protocols" → "i Protocol"), Taylor's
 * proti.c and lib/crc.c (read, not copied), and bytes captured from two
 * Taylor 1.07 uucicos over a tee'd pipe port (test/uucp/i-packet.test.ts).
 */

import zlib from 'node:zlib';

export const INTRO = 0x07;
export const HEADER_LEN = 6;
export const CRC_LEN = 4;
/** Twelve bits of length. */
export const MAX_DATA = 4095;
/** Sequence numbers run modulo 32. */
export const SEQ_MOD = 32;
/** Largest usable window: a late duplicate must never look like a packet of the next window. */
export const MAX_WINDOW = SEQ_MOD / 2;
export const MAX_CHANNEL = 7;

export const PT = { DATA: 0, SYNC: 1, ACK: 2, NAK: 3, SPOS: 4, CLOSE: 5 } as const;
export type PacketType = (typeof PT)[keyof typeof PT];

export const nextSeq = (s: number): number => (s + 1) & (SEQ_MOD - 1);
/** a − b in sequence space: how many packets from b to a. */
export const seqDiff = (a: number, b: number): number => (a - b + SEQ_MOD) & (SEQ_MOD - 1);
/** Types that carry a sequence number in byte 1. */
export const isSequenced = (type: number): boolean => type === PT.DATA || type === PT.SPOS || type === PT.CLOSE;

/** Taylor's CRC-32 of `data` (see the header comment). */
export function crc32(data: Uint8Array): number {
  return ~zlib.crc32(data) >>> 0;
}

export interface Header {
  type: number;
  /** Sequence number (DATA, SPOS, CLOSE), the packet wanted (NAK), else usually 0. */
  seq: number;
  localChan: number;
  ack: number;
  remoteChan: number;
  caller: boolean;
  length: number;
}

/** Writes the six header bytes of `h` at `out[at..]`. */
export function writeHeader(out: Uint8Array, h: Header, at = 0): void {
  if (h.length < 0 || h.length > MAX_DATA) throw new RangeError(`i: data length ${h.length} is not in 0..${MAX_DATA}`);
  out[at] = INTRO;
  out[at + 1] = ((h.seq & 31) << 3) | (h.localChan & 7);
  out[at + 2] = ((h.ack & 31) << 3) | (h.remoteChan & 7);
  out[at + 3] = ((h.type & 7) << 5) | (h.caller ? 0x10 : 0) | ((h.length >> 8) & 0x0f);
  out[at + 4] = h.length & 0xff;
  out[at + 5] = out[at + 1]! ^ out[at + 2]! ^ out[at + 3]! ^ out[at + 4]!;
}

/** Parses six header bytes; undefined if the intro or the check byte is wrong. */
export function readHeader(b: Uint8Array, at = 0): Header | undefined {
  if (b[at] !== INTRO) return undefined;
  const b1 = b[at + 1]!;
  const b2 = b[at + 2]!;
  const b3 = b[at + 3]!;
  const b4 = b[at + 4]!;
  if ((b1 ^ b2 ^ b3 ^ b4) !== b[at + 5]) return undefined;
  return {
    type: b3 >> 5,
    seq: b1 >> 3,
    localChan: b1 & 7,
    ack: b2 >> 3,
    remoteChan: b2 & 7,
    caller: (b3 & 0x10) !== 0,
    length: ((b3 & 0x0f) << 8) | b4,
  };
}

/** A whole packet: header, then data and CRC if there is data. */
export function encodePacket(h: Omit<Header, 'length'>, data: Uint8Array = EMPTY): Uint8Array {
  const out = new Uint8Array(HEADER_LEN + (data.length > 0 ? data.length + CRC_LEN : 0));
  writeHeader(out, { ...h, length: data.length });
  if (data.length > 0) {
    out.set(data, HEADER_LEN);
    const crc = crc32(data);
    const at = HEADER_LEN + data.length;
    out[at] = crc >>> 24;
    out[at + 1] = (crc >>> 16) & 0xff;
    out[at + 2] = (crc >>> 8) & 0xff;
    out[at + 3] = crc & 0xff;
  }
  return out;
}

/** A copy of a stored packet with a new ack field (and check byte): what a resend carries. */
export function withAck(packet: Uint8Array, ack: number): Uint8Array {
  const out = packet.slice();
  out[2] = ((ack & 31) << 3) | (out[2]! & 7);
  out[5] = out[1]! ^ out[2]! ^ out[3]! ^ out[4]!;
  return out;
}

export const EMPTY = new Uint8Array(0);

/** SYNC data: the packet size and window the peer should use towards us, and optionally our channel count. */
export function syncData(packetSize: number, window: number, channels?: number): Uint8Array {
  const d = [(packetSize >> 8) & 0xff, packetSize & 0xff, window & 0xff];
  if (channels !== undefined) d.push(channels & 0xff);
  return Uint8Array.from(d);
}

export interface SyncParams {
  packetSize: number;
  window: number;
  /** Present when the SYNC had a fourth byte. */
  channels?: number;
}

export function parseSync(data: Uint8Array): SyncParams | undefined {
  if (data.length < 3) return undefined;
  const p: SyncParams = { packetSize: (data[0]! << 8) | data[1]!, window: data[2]! };
  if (data.length >= 4) p.channels = data[3]!;
  return p;
}

/** SPOS data: a 32-bit file position, most significant byte first. */
export function posData(pos: number): Uint8Array {
  return Uint8Array.from([(pos >>> 24) & 0xff, (pos >>> 16) & 0xff, (pos >>> 8) & 0xff, pos & 0xff]);
}

export function parsePos(data: Uint8Array): number {
  return ((data[0]! << 24) | (data[1]! << 16) | (data[2]! << 8) | data[3]!) >>> 0;
}

export type Scanned =
  /** A packet whose header and (if any) CRC are right. `data` is a view that is never written again. */
  | { kind: 'packet'; header: Header; data: Uint8Array }
  /** A good-looking header whose data failed its CRC: one byte was skipped. */
  | { kind: 'bad-crc'; header: Header }
  /** An intro byte without a valid header (or refused by `accept`): one byte was skipped. */
  | { kind: 'bad-header' };

/**
 * Finds packets in a byte stream. After a bad header or CRC it moves on by
 * one byte and searches for the next intro byte, so a packet hidden behind
 * garbage (or inside a damaged one) is still found. `accept` lets the engine
 * refuse a header before waiting for its data (wrong direction, out of window,
 * longer than asked for).
 */
export class Scanner {
  private buf: Uint8Array = EMPTY;
  private at = 0;
  /** Stream offset of buf[0]. */
  private base = 0;

  constructor(private readonly accept: (h: Header) => boolean = () => true) {}

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const rest = this.buf.length - this.at;
    this.base += this.buf.length - rest;
    if (rest === 0) this.buf = bytes;
    else {
      const joined = new Uint8Array(rest + bytes.length);
      joined.set(this.buf.subarray(this.at));
      joined.set(bytes, rest);
      this.buf = joined;
    }
    this.at = 0;
  }

  /** Stream offset of the next byte to scan (bytes consumed so far). */
  offset(): number {
    return this.base + this.at;
  }

  /** Bytes held (an incomplete packet or nothing useful yet). */
  buffered(): number {
    return this.buf.length - this.at;
  }

  /** Everything not consumed yet (copied). */
  leftover(): Uint8Array {
    return this.buf.slice(this.at);
  }

  /** Gives up on whatever starts here: used when a packet's data never completes. */
  skipByte(): void {
    if (this.at < this.buf.length) this.at++;
  }

  /** The next finding, or undefined when more bytes are needed. */
  next(): Scanned | undefined {
    const b = this.buf;
    for (;;) {
      const intro = b.indexOf(INTRO, this.at);
      if (intro < 0) {
        this.at = b.length;
        return undefined;
      }
      this.at = intro;
      if (b.length - intro < HEADER_LEN) return undefined;
      const header = readHeader(b, intro);
      if (!header || !this.accept(header)) {
        this.at++;
        return { kind: 'bad-header' };
      }
      if (header.length === 0) {
        this.at += HEADER_LEN;
        return { kind: 'packet', header, data: EMPTY };
      }
      const end = intro + HEADER_LEN + header.length;
      if (b.length < end + CRC_LEN) return undefined;
      const data = b.subarray(intro + HEADER_LEN, end);
      const sent = ((b[end]! << 24) | (b[end + 1]! << 16) | (b[end + 2]! << 8) | b[end + 3]!) >>> 0;
      if (sent !== crc32(data)) {
        this.at++;
        return { kind: 'bad-crc', header };
      }
      this.at = end + CRC_LEN;
      return { kind: 'packet', header, data };
    }
  }
}
