/**
 * A simulated serial line for exercising the g protocol deterministically
 * with a ManualClock: seeded faults per packet written (each engine write is
 * one packet), and deliveries split into random pieces to exercise the
 * streaming decoder.
 *
 *   packet: DLE | K | sumLo | sumHi | C | xor | data     (see packet.ts)
 *
 * Corruption model. g's 16-bit checksum is weak (it misses some bit errors),
 * so a fault here must be one the protocol is able to notice:
 * - garbage replaces a whole packet with DLE-free bytes, so it can never
 *   look like a packet and only tests resynchronisation;
 * - a header bit flip hits bytes 1..5, which the header xor always catches;
 * - a data bit flip is kept only if the checksum catches it (else the packet
 *   goes through unchanged).
 * Truncation is left out: what a cut packet merges with is unknowable here,
 * and one time in 65536 the merge would pass the checksum.
 *
 * Reordering model. g was made for lines that keep order; with 3-bit
 * sequence numbers a late RR, RJ or piggy-backed ack can alias a newer one
 * and acknowledge packets that never arrived (even one swap can, with a full
 * window of 7). So reordering here only swaps a data packet with the data
 * packet written right after it (the receiver drops the early one as out of
 * order, ignoring its ack), and a duplicate follows its original at once.
 */

import { seededRandom } from '../../src/util/seeded-random.js';
import type { ManualClock } from '../../src/uucp/protocol/clock.js';
import { DLE, HEADER_LEN, PacketDecoder } from '../../src/uucp/g/packet.js';

export { seededRandom };

export interface LinkFaults {
  /** Probability that a packet is lost. */
  drop?: number;
  /** Probability that a packet is delivered twice. */
  duplicate?: number;
  /** Probability that a packet is replaced by DLE-free garbage. */
  garbage?: number;
  /** Probability of one flipped bit in header bytes 1..5. */
  headerFlip?: number;
  /** Probability of one flipped bit in the data area (only if the checksum catches it). */
  dataFlip?: number;
  /** Probability that a data packet swaps places with the next data packet. */
  reorder?: number;
}

/** What the link must know of a protocol's packets (g by default; i passes its own). */
export interface FrameTraits {
  /** Byte that starts a packet: garbage never contains it. */
  intro: number;
  /** Packets longer than this carry data. */
  headerLen: number;
  /** Whether the receiver would take this (possibly damaged) packet as good. */
  passesChecks(packet: Uint8Array): boolean;
}

export const G_FRAMES: FrameTraits = {
  intro: DLE,
  headerLen: HEADER_LEN,
  passesChecks(packet) {
    const d = new PacketDecoder();
    d.push(packet);
    const ev = d.next();
    return ev?.kind === 'data' || ev?.kind === 'control';
  },
};

export class SimLink {
  faults: LinkFaults;
  private readonly random: () => number;
  private readonly sinks: ((bytes: Uint8Array) => void)[] = [];
  /** Per receiving side: a data packet waiting to be overtaken. */
  private readonly held: (Uint8Array | undefined)[] = [];

  constructor(
    private readonly clock: ManualClock,
    seed: number,
    faults: LinkFaults = {},
    private readonly latencyMs = 5,
    private readonly frames: FrameTraits = G_FRAMES,
  ) {
    this.random = seededRandom(seed);
    this.faults = faults;
  }

  /** Where side `side` receives. */
  attach(side: 0 | 1, receive: (bytes: Uint8Array) => void): void {
    this.sinks[side] = receive;
  }

  /** The write function for side `side`; bytes go to the other side. */
  writer(side: 0 | 1): (bytes: Uint8Array) => void {
    return (bytes) => {
      this.send(1 - side, bytes.slice());
    };
  }

  private chance(p = 0): boolean {
    return p > 0 && this.random() < p;
  }

  private int(n: number): number {
    return Math.floor(this.random() * n);
  }

  private send(to: number, packet: Uint8Array): void {
    const f = this.faults;
    const isData = packet.length > this.frames.headerLen;
    const held = this.held[to];
    this.held[to] = undefined;
    // A control packet never overtakes: release what is held first.
    if (held && !isData) this.schedule(to, held);
    if (!this.chance(f.drop)) {
      const copies = this.chance(f.duplicate) ? 2 : 1;
      if (isData && !held && this.chance(f.reorder)) return this.hold(to, this.damage(packet));
      for (let i = 0; i < copies; i++) this.schedule(to, this.damage(packet));
    }
    if (held && isData) this.schedule(to, held);
  }

  /** Keeps a packet back until the next data packet, or a latency later if none comes. */
  private hold(to: number, packet: Uint8Array): void {
    this.held[to] = packet;
    this.clock.setTimer(this.latencyMs, () => {
      if (this.held[to] !== packet) return;
      this.held[to] = undefined;
      this.schedule(to, packet);
    });
  }

  private damage(packet: Uint8Array): Uint8Array {
    const f = this.faults;
    if (this.chance(f.garbage)) return this.garbageBytes(1 + this.int(40));
    const out = packet.slice();
    const h = this.frames.headerLen;
    if (this.chance(f.headerFlip)) out[1 + this.int(h - 1)]! ^= 1 << this.int(8);
    if (out.length > h && this.chance(f.dataFlip)) {
      const flipped = out.slice();
      flipped[h + this.int(out.length - h)]! ^= 1 << this.int(8);
      if (!this.frames.passesChecks(flipped)) return flipped;
    }
    return out;
  }

  private garbageBytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => {
      const b = this.int(255);
      return b >= this.frames.intro ? b + 1 : b;
    });
  }

  private schedule(to: number, bytes: Uint8Array): void {
    const cut = this.int(bytes.length + 1);
    this.clock.setTimer(this.latencyMs, () => {
      const sink = this.sinks[to];
      if (!sink) return;
      if (cut > 0) sink(bytes.subarray(0, cut));
      if (cut < bytes.length) sink(bytes.subarray(cut));
    });
  }
}

/**
 * Lets promise chains run between timer firings until `settled` resolves.
 * Returns false if the simulation stalls (no timers left) or passes `limitMs`.
 */
export async function drive(clock: ManualClock, settled: Promise<unknown>, limitMs: number): Promise<boolean> {
  let finished = false;
  void settled.then(
    () => (finished = true),
    () => (finished = true),
  );
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  for (;;) {
    await turn();
    if (finished) return true;
    if (clock.now() > limitMs || !clock.runNext()) return false;
  }
}
