// A bad serial line for tests and benchmarks: a relay between two byte
// streams (TCP sockets; with noisyPtyLine() each end is a socat pty, so a
// uucico on either side sees an ordinary tty) that can
//   - pace each direction at its own rate (bytes/s; 115200 bit/s 8N1 = 11,520),
//   - delay every byte one way,
//   - flip random bits (a bit-error rate),
//   - drop random bytes (a per-byte rate),
//   - hit error bursts: every N bytes (or every T ms) a run of bytes is
//     overwritten with random ones (or random bytes are inserted),
//   - drop the carrier after N bytes in a direction, or on demand;
// and counts what it did. Every random choice comes from a seed, one stream
// per direction and per kind of damage, drawn by byte position: the same
// bytes through the same seed are damaged the same way however the sockets
// chunk them (time-limited bursts depend on timing and do not repeat exactly).
//
//   uucico ── pty X ══ socat ── TCP ─┐                      ┌─ TCP ── socat ══ pty Y ── uucico
//                                    noisy line (up: X → Y, down: Y → X)
//   caller ── TCP ── startNoisyProxy (a listener joined to `target` per connection) ── TCP ── listener
//
// Damage is applied as bytes leave the pacer, so a dropped or overwritten byte
// used its time on the line, as on a real one; inserted garbage is extra.
// With `watch: 'g' | 'i'` the line also decodes the packets each side sends
// (before any damage) and counts data packets and resends: a data packet whose
// sequence number is not the one after the newest so far is a resend (exact
// for windows smaller than the sequence space, as g and i windows are). A
// silence — neither side sending for `quietMs` while packets were moving — is
// recorded: that is time lost to a timeout.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { seededRandom } from '../../src/util/seeded-random.js';

export interface Burst {
  /** A burst every this many bytes in the direction (the first after that many). */
  everyBytes?: number;
  /** Or a burst every this many ms (the first after that long). */
  everyMs?: number;
  /** Bytes hit by a byte-limited burst (default 64). */
  length?: number;
  /** How long a time-limited burst lasts, ms (default 10). */
  durationMs?: number;
  /** 'overwrite' (default): the bytes on the line are replaced by random ones; 'insert': random bytes are added. */
  mode?: 'overwrite' | 'insert';
}

export interface Impairments {
  /** Bytes per second; unpaced when absent or 0. */
  rate?: number;
  /** One-way delay, ms. */
  delayMs?: number;
  /** Probability that a bit is flipped. */
  bitErrorRate?: number;
  /** Probability that a byte is lost. */
  dropRate?: number;
  burst?: Burst;
  /** Drop the carrier once this many bytes went out in this direction. */
  cutAfter?: number;
  /** Carry the first this many bytes of the direction undamaged (say, the login and the handshake). */
  damageAfter?: number;
}

export interface NoisyLineOptions extends Impairments {
  /** Seed of every random choice (default 1). */
  seed?: number;
  /** Overrides for one direction: up is first end → second end (caller → answering side). */
  up?: Impairments;
  down?: Impairments;
  /** Decode g or i packets to count data packets and resends. */
  watch?: 'g' | 'i';
  /** Shortest silence recorded, ms (default 1000). */
  quietMs?: number;
}

export interface DirectionCounters {
  /** Bytes the sending side wrote into the line. */
  bytesIn: number;
  /** Bytes delivered at the other end. */
  bytesOut: number;
  bitsFlipped: number;
  /** Bytes with at least one flipped bit. */
  bytesCorrupted: number;
  bytesDropped: number;
  bursts: number;
  /** Bytes overwritten or inserted by bursts. */
  burstBytes: number;
  /** With `watch`: packets with a valid header, data packets among them, and resent data packets. */
  packets: number;
  dataPackets: number;
  resent: number;
  /** From the first data packet to the last, ms (0 without `watch`). */
  dataSpanMs: number;
}

export interface LineCounters {
  up: DirectionCounters;
  down: DirectionCounters;
  /** The carrier was dropped (cutAfter or cut()). */
  cut: boolean;
  /** Silences of at least quietMs (ms each): neither side sent anything. With `watch`, only those while data packets were moving. */
  silences: number[];
  /** Their sum, ms. */
  silentMs: number;
}

export interface NoisyLine {
  counters(): LineCounters;
  /** Drops the carrier now: both ends are closed. */
  cut(): void;
  /** Resolves when either end has closed. */
  closed: Promise<void>;
}

const TICK_MS = 2;
const HIGH_WATER = 64 * 1024;
const LOW_WATER = 16 * 1024;

const zero = (): DirectionCounters => ({
  bytesIn: 0, bytesOut: 0, bitsFlipped: 0, bytesCorrupted: 0, bytesDropped: 0, bursts: 0, burstBytes: 0, packets: 0, dataPackets: 0, resent: 0, dataSpanMs: 0,
});

/** An independent random stream for (seed, stream number). */
function stream(seed: number, n: number): () => number {
  return seededRandom((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(n + 1, 0x85ebca6b)) >>> 0);
}

/** Trials before the next success of probability p (geometric). */
function gap(rng: () => number, p: number): number {
  if (p >= 1) return 0;
  return Math.floor(Math.log(1 - rng()) / Math.log(1 - p));
}

// ---------------------------------------------------------------- packet watch

/**
 * Scans what one side sends for g or i packets (header checked, body skipped)
 * and counts data packets and resends.
 */
class PacketWatch {
  private hdr: number[] = [];
  private skip = 0;
  private newest?: number;
  firstDataAt = Infinity;
  lastDataAt = -Infinity;

  constructor(
    private readonly kind: 'g' | 'i',
    private readonly c: DirectionCounters,
  ) {}

  scan(buf: Buffer, now: number): void {
    const intro = this.kind === 'g' ? 0x10 : 0x07;
    for (let i = 0; i < buf.length; i++) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - i);
        this.skip -= n;
        i += n - 1;
        continue;
      }
      const b = buf[i]!;
      if (this.hdr.length === 0 && b !== intro) continue;
      this.hdr.push(b);
      while (this.hdr.length === 6) {
        if (this.header(this.hdr, now)) {
          this.hdr = [];
          break;
        }
        const j = this.hdr.indexOf(intro, 1);
        this.hdr = j < 0 ? [] : this.hdr.slice(j);
      }
    }
  }

  /** A valid header: counts it, sets the body to skip. */
  private header(h: number[], now: number): boolean {
    if (h[5] !== (h[1]! ^ h[2]! ^ h[3]! ^ h[4]!)) return false;
    let data: boolean;
    let sequenced: boolean;
    let seq: number;
    let mod: number;
    if (this.kind === 'g') {
      const k = h[1]!;
      if (k < 1 || k > 9) return false;
      this.skip = k === 9 ? 0 : 1 << (k + 4);
      const tt = h[4]! >> 6;
      data = k !== 9 && (tt === 2 || tt === 3);
      sequenced = data;
      seq = (h[4]! >> 3) & 7;
      mod = 8;
    } else {
      const type = h[3]! >> 5;
      if (type > 5) return false;
      const len = ((h[3]! & 0x0f) << 8) | h[4]!;
      this.skip = len > 0 ? len + 4 : 0;
      // DATA, SPOS and CLOSE share the sequence; only DATA counts as data.
      sequenced = type === 0 || type === 4 || type === 5;
      data = type === 0;
      seq = h[1]! >> 3;
      mod = 32;
    }
    this.c.packets++;
    if (!sequenced) return true;
    if (data) {
      this.c.dataPackets++;
      this.firstDataAt = Math.min(this.firstDataAt, now);
      this.lastDataAt = now;
    }
    // g sends new packets strictly in turn (a resend of the oldest of a full
    // window of 7 is 2 ahead mod 8); i may skip none either but its window is
    // at most half the sequence space, so "ahead" is 1..15.
    const ahead = (seq - (this.newest ?? seq - 1) + mod) % mod;
    if (this.kind === 'g' ? ahead === 1 : ahead >= 1 && ahead < mod / 2) this.newest = seq;
    else if (data) this.c.resent++;
    return true;
  }
}

// ---------------------------------------------------------------- one direction

class Direction {
  readonly c = zero();
  readonly watch?: PacketWatch;
  private queue: Buffer[] = [];
  private queued = 0;
  private credit = 0;
  private last = 0;
  private timer?: NodeJS.Timeout;
  private inFlight: { at: number; bytes: Buffer }[] = [];
  private blocked = false;
  private carried = 0;
  // Damage state: one random stream each, drawn by byte position.
  private readonly rBits: () => number;
  private readonly rDrop: () => number;
  private readonly rBurst: () => number;
  private bitsToError: number;
  private bytesToDrop: number;
  private bytesToBurst: number;
  private burstLeft = 0;
  private nextBurstAt = 0;
  private burstUntil = 0;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly o: Impairments,
    seed: number,
    n: number,
    private readonly line: Line,
    watch?: 'g' | 'i',
  ) {
    this.rBits = stream(seed, n * 3);
    this.rDrop = stream(seed, n * 3 + 1);
    this.rBurst = stream(seed, n * 3 + 2);
    this.bitsToError = o.bitErrorRate ? gap(this.rBits, o.bitErrorRate) : Infinity;
    this.bytesToDrop = o.dropRate ? gap(this.rDrop, o.dropRate) : Infinity;
    this.bytesToBurst = o.burst?.everyBytes ?? Infinity;
    this.nextBurstAt = o.burst?.everyMs ? performance.now() + o.burst.everyMs : Infinity;
    if (watch) this.watch = new PacketWatch(watch, this.c);
    from.on('data', (chunk: Buffer) => this.input(chunk));
  }

  private input(chunk: Buffer): void {
    if (this.line.isCut) return;
    const now = performance.now();
    this.c.bytesIn += chunk.length;
    this.line.heard(now);
    this.watch?.scan(chunk, now);
    if (!this.o.rate) {
      this.send(this.damage(chunk, now), now);
      return;
    }
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.flow();
    this.start(now);
  }

  /** Runs the clock while anything is queued or in flight. */
  private start(now: number): void {
    if (this.timer) return;
    if (this.o.rate) {
      // An idle line banks no more than one tick of credit.
      this.credit = Math.min(this.credit + ((now - this.last) / 1000) * this.o.rate, Math.max(1, (this.o.rate * TICK_MS) / 1000));
      this.last = now;
    }
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.tick();
  }

  private tick(): void {
    const now = performance.now();
    if (this.o.rate && this.queued > 0) {
      this.credit += ((now - this.last) / 1000) * this.o.rate;
      this.last = now;
      let n = Math.min(Math.floor(this.credit), this.queued);
      this.credit -= n;
      this.queued -= n;
      const parts: Buffer[] = [];
      while (n > 0) {
        const head = this.queue[0]!;
        if (head.length <= n) {
          parts.push(head);
          this.queue.shift();
          n -= head.length;
        } else {
          parts.push(head.subarray(0, n));
          this.queue[0] = head.subarray(n);
          n = 0;
        }
      }
      if (parts.length) this.send(this.damage(parts.length === 1 ? parts[0]! : Buffer.concat(parts), now), now);
      this.flow();
    } else if (this.o.rate) {
      this.last = now;
      this.credit = Math.min(this.credit, Math.max(1, (this.o.rate * TICK_MS) / 1000));
    }
    while (this.inFlight.length && this.inFlight[0]!.at <= now && !this.line.isCut) this.deliver(this.inFlight.shift()!.bytes);
    if (this.queued === 0 && this.inFlight.length === 0) this.stop();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private send(bytes: Buffer, now: number): void {
    if (!bytes.length) return;
    if (this.o.delayMs) {
      this.inFlight.push({ at: now + this.o.delayMs, bytes });
      this.start(now);
    } else this.deliver(bytes);
  }

  private deliver(bytes: Buffer): void {
    if (this.line.isCut || this.to.destroyed) return;
    const limit = this.o.cutAfter;
    if (limit !== undefined && this.c.bytesOut + bytes.length >= limit) {
      const part = bytes.subarray(0, Math.max(0, limit - this.c.bytesOut));
      this.c.bytesOut += part.length;
      if (part.length) this.to.write(part);
      this.line.cut();
      return;
    }
    this.c.bytesOut += bytes.length;
    if (!this.to.write(bytes) && !this.blocked) {
      this.blocked = true;
      this.to.once('drain', () => {
        this.blocked = false;
        this.flow();
      });
    }
    this.flow();
  }

  /** Backpressure: the sender's buffers fill, not ours. */
  private flow(): void {
    if (this.from.destroyed) return;
    if (this.blocked || this.queued > HIGH_WATER) this.from.pause();
    else if (this.queued < LOW_WATER && this.from.isPaused()) this.from.resume();
  }

  /** Bit errors, drops and bursts on bytes as they leave the pacer (after the first `damageAfter`). */
  private damage(input: Buffer, now: number): Buffer {
    const o = this.o;
    if (!o.bitErrorRate && !o.dropRate && !o.burst) return input;
    const spared = Math.min(input.length, Math.max(0, (o.damageAfter ?? 0) - this.carried));
    this.carried += input.length;
    if (spared === input.length) return input;
    if (spared === 0) return this.damageAll(input, now);
    return Buffer.concat([input.subarray(0, spared), this.damageAll(input.subarray(spared), now)]);
  }

  private damageAll(input: Buffer, now: number): Buffer {
    const o = this.o;
    const buf = Buffer.from(input);
    if (o.bitErrorRate) {
      const bits = buf.length * 8;
      let bit = 0;
      let lastByte = -1;
      while (this.bitsToError < bits - bit) {
        bit += this.bitsToError;
        const at = bit >> 3;
        buf[at] = buf[at]! ^ (1 << (bit & 7));
        this.c.bitsFlipped++;
        if (at !== lastByte) this.c.bytesCorrupted++;
        lastByte = at;
        bit++;
        this.bitsToError = gap(this.rBits, o.bitErrorRate);
      }
      this.bitsToError -= bits - bit;
    }
    let out: Buffer = buf;
    if (o.dropRate) {
      const keep: Buffer[] = [];
      let from = 0;
      while (this.bytesToDrop < buf.length - from) {
        const at = from + this.bytesToDrop;
        keep.push(buf.subarray(from, at));
        this.c.bytesDropped++;
        from = at + 1;
        this.bytesToDrop = gap(this.rDrop, o.dropRate);
      }
      this.bytesToDrop -= buf.length - from;
      keep.push(buf.subarray(from));
      out = keep.length === 1 ? keep[0]! : Buffer.concat(keep);
    }
    const b = o.burst;
    if (b?.everyBytes) out = this.byteBursts(out, b);
    if (b?.everyMs) out = this.timeBursts(out, b, now);
    return out;
  }

  private randomBytes(n: number): Buffer {
    const r = Buffer.alloc(n);
    for (let i = 0; i < n; i++) r[i] = Math.floor(this.rBurst() * 256);
    return r;
  }

  private byteBursts(buf: Buffer, b: Burst): Buffer {
    const len = b.length ?? 64;
    const parts: Buffer[] = [];
    let i = 0;
    while (i < buf.length) {
      if (this.burstLeft > 0) {
        // Overwriting a burst that started in an earlier chunk.
        const n = Math.min(this.burstLeft, buf.length - i);
        parts.push(this.randomBytes(n));
        this.c.burstBytes += n;
        this.burstLeft -= n;
        i += n;
        continue;
      }
      const n = Math.min(this.bytesToBurst, buf.length - i);
      parts.push(buf.subarray(i, i + n));
      i += n;
      this.bytesToBurst -= n;
      if (this.bytesToBurst > 0) break;
      this.bytesToBurst = b.everyBytes!;
      this.c.bursts++;
      if (b.mode === 'insert') {
        parts.push(this.randomBytes(len));
        this.c.burstBytes += len;
      } else this.burstLeft = len;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  private timeBursts(buf: Buffer, b: Burst, now: number): Buffer {
    if (now >= this.nextBurstAt) {
      this.c.bursts++;
      this.burstUntil = now + (b.durationMs ?? 10);
      while (this.nextBurstAt <= now) this.nextBurstAt += b.everyMs!;
      if (b.mode === 'insert') {
        const n = Math.max(1, Math.round(((b.durationMs ?? 10) / 1000) * (this.o.rate || 11_520)));
        this.c.burstBytes += n;
        return Buffer.concat([this.randomBytes(n), buf]);
      }
    }
    if (b.mode !== 'insert' && now < this.burstUntil && buf.length) {
      this.c.burstBytes += buf.length;
      return this.randomBytes(buf.length);
    }
    return buf;
  }
}

// ---------------------------------------------------------------- a line

class Line implements NoisyLine {
  isCut = false;
  readonly closed: Promise<void>;
  private readonly up: Direction;
  private readonly down: Direction;
  private lastHeard?: number;
  private readonly silences: { at: number; ms: number }[] = [];
  private readonly quietMs: number;

  constructor(
    private readonly a: net.Socket,
    private readonly b: net.Socket,
    o: NoisyLineOptions,
  ) {
    this.quietMs = o.quietMs ?? 1000;
    const seed = o.seed ?? 1;
    const { up, down, seed: _s, watch, quietMs: _q, ...both } = o;
    for (const s of [a, b]) {
      s.setNoDelay(true);
      s.on('error', () => undefined);
    }
    this.closed = new Promise<void>((resolve) => {
      const done = (): void => {
        this.up?.stop();
        this.down?.stop();
        a.destroy();
        b.destroy();
        resolve();
      };
      a.once('close', done);
      b.once('close', done);
    });
    this.up = new Direction(a, b, { ...both, ...up }, seed, 0, this, watch);
    this.down = new Direction(b, a, { ...both, ...down }, seed, 1, this, watch);
  }

  heard(now: number): void {
    if (this.lastHeard !== undefined && now - this.lastHeard >= this.quietMs) this.silences.push({ at: this.lastHeard, ms: now - this.lastHeard });
    this.lastHeard = now;
  }

  cut(): void {
    if (this.isCut) return;
    this.isCut = true;
    this.up.stop();
    this.down.stop();
    this.a.destroy();
    this.b.destroy();
  }

  counters(): LineCounters {
    const w = [this.up.watch, this.down.watch].filter((x) => x !== undefined);
    const from = w.length ? Math.min(...w.map((x) => x.firstDataAt)) : -Infinity;
    const to = w.length ? Math.max(...w.map((x) => x.lastDataAt)) : Infinity;
    const silences = this.silences.filter((s) => s.at >= from && s.at + s.ms <= to).map((s) => Math.round(s.ms));
    const span = (d: Direction): number => (d.watch && d.watch.lastDataAt > d.watch.firstDataAt ? Math.round(d.watch.lastDataAt - d.watch.firstDataAt) : 0);
    return {
      up: { ...this.up.c, dataSpanMs: span(this.up) },
      down: { ...this.down.c, dataSpanMs: span(this.down) },
      cut: this.isCut,
      silences,
      silentMs: silences.reduce((x, y) => x + y, 0),
    };
  }
}

/** Joins two connected sockets through a noisy line. */
export function joinNoisy(a: net.Socket, b: net.Socket, o: NoisyLineOptions): NoisyLine {
  return new Line(a, b, o);
}

// ---------------------------------------------------------------- relay, pty line, proxy

export interface NoisyRelay {
  ports: [number, number];
  /** Resolves once both ends are connected. */
  connected: Promise<NoisyLine>;
  stop(): void;
}

/** Listens on two loopback ports and joins the first connection on each through a noisy line. */
export async function startNoisyRelay(o: NoisyLineOptions): Promise<NoisyRelay> {
  const servers = [net.createServer(), net.createServer()];
  for (const s of servers) s.listen(0, '127.0.0.1');
  await Promise.all(servers.map((s) => once(s, 'listening')));
  let line: NoisyLine | undefined;
  const socks: net.Socket[] = [];
  const connected = Promise.all(servers.map((s) => once(s, 'connection').then(([c]) => c as net.Socket))).then(([a, b]) => {
    socks.push(a, b);
    for (const s of servers) s.close();
    line = joinNoisy(a, b, o);
    return line;
  });
  return {
    ports: servers.map((s) => (s.address() as net.AddressInfo).port) as [number, number],
    connected,
    stop: () => {
      line?.cut();
      for (const c of socks) c.destroy();
      for (const s of servers) s.close();
    },
  };
}

export interface NoisyPtyLine {
  /** The two ttys: root/lineX (up: what is written here reaches lineY) and root/lineY. */
  x: string;
  y: string;
  line: NoisyLine;
  stop(): Promise<void>;
}

/** A noisy line between two ptys, root/lineX and root/lineY (mode 0666). */
export async function noisyPtyLine(root: string, o: NoisyLineOptions, socat = '/usr/bin/socat'): Promise<NoisyPtyLine> {
  const relay = await startNoisyRelay(o);
  const ends = ['lineX', 'lineY'].map((n) => path.join(root, n));
  const children = ends.map((link, i) =>
    spawn(socat, [`pty,raw,echo=0,link=${link},perm=0666`, `TCP:127.0.0.1:${relay.ports[i]},nodelay`], { stdio: 'ignore' }),
  );
  for (let i = 0; i < 100 && !ends.every((e) => existsSync(e)); i++) await new Promise((r) => setTimeout(r, 50));
  const line = await relay.connected;
  return {
    x: ends[0]!,
    y: ends[1]!,
    line,
    stop: async () => {
      relay.stop();
      await Promise.all(
        children.map((c) => {
          if (c.exitCode !== null || c.signalCode !== null) return undefined;
          const gone = once(c, 'close');
          c.kill('SIGTERM');
          return gone;
        }),
      );
    },
  };
}

export interface ProxyOptions extends NoisyLineOptions {
  /** Where connections go; a function picks per connection (0, 1, …). */
  target: { host?: string; port: number } | ((n: number) => { host?: string; port: number });
}

export interface NoisyProxy {
  port: number;
  /** One line per connection so far (up: caller → target). */
  lines: NoisyLine[];
  /** Resolves with the line of the next connection. */
  nextLine(): Promise<NoisyLine>;
  /** New damage for the connections that follow (target stays); connection n uses seed + n. */
  configure(o: NoisyLineOptions): void;
  stop(): Promise<void>;
}

/** A loopback listener joining every connection to `target` through a noisy line (a TCP caller ↔ a TCP listener). */
export async function startNoisyProxy(o: ProxyOptions): Promise<NoisyProxy> {
  const { target } = o;
  let current: NoisyLineOptions = o;
  const lines: NoisyLine[] = [];
  const waiting: ((l: NoisyLine) => void)[] = [];
  const open = new Set<net.Socket>();
  let n = 0;
  const server = net.createServer((client) => {
    const i = n++;
    const opts = { ...current, seed: (current.seed ?? 1) + i };
    const to = typeof target === 'function' ? target(i) : target;
    const upstream = net.connect(to.port, to.host ?? '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        open.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    // Bytes from the caller wait (paused) until the far end answers.
    client.pause();
    upstream.once('connect', () => {
      const line = joinNoisy(client, upstream, opts);
      client.resume();
      lines.push(line);
      waiting.shift()?.(line);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    lines,
    nextLine: () => new Promise<NoisyLine>((r) => waiting.push(r)),
    configure(next) {
      current = next;
    },
    async stop() {
      for (const s of open) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
