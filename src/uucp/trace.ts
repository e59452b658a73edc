// uucico debug tracing, in the spirit of Taylor's `-x`: a number turns on the
// first N categories of Taylor's list, or a comma list names them ("all" for
// every one). Lines go to a sink (stderr or a debug file).
//
//   abnormal chat handshake uucp-proto proto port config spooldir execute incoming outgoing
//
// `proto` decodes the g packets seen in each direction (header fields only);
// `incoming`/`outgoing` dump raw bytes; `port` notes opening and closing.
import { appendFileSync } from 'node:fs';
import { Duplex } from 'node:stream';
import { PacketDecoder } from './g/packet.js';
import { usageError } from '../util/errors.js';

export const DEBUG_CATEGORIES = [
  'abnormal', 'chat', 'handshake', 'uucp-proto', 'proto', 'port', 'config', 'spooldir', 'execute', 'incoming', 'outgoing',
] as const;
export type DebugCategory = (typeof DEBUG_CATEGORIES)[number];

/** Parses `-x` values: a number 0–11, or names separated by commas ("all"). */
export function parseDebug(spec: string): Set<DebugCategory> {
  const out = new Set<DebugCategory>();
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (/^\d+$/.test(part)) {
      for (const c of DEBUG_CATEGORIES.slice(0, Number(part))) out.add(c);
    } else if (part === 'all') {
      for (const c of DEBUG_CATEGORIES) out.add(c);
    } else if ((DEBUG_CATEGORIES as readonly string[]).includes(part)) {
      out.add(part as DebugCategory);
    } else {
      throw usageError(`unknown debug category "${part}" (use ${DEBUG_CATEGORIES.join(', ')} or a number)`);
    }
  }
  return out;
}

export class Trace {
  constructor(
    readonly categories: Set<DebugCategory> = new Set(),
    private readonly sink: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  ) {}

  static toFile(categories: Set<DebugCategory>, file: string): Trace {
    return new Trace(categories, (l) => appendFileSync(file, `${l}\n`));
  }

  on(c: DebugCategory): boolean {
    return this.categories.has(c);
  }

  log(c: DebugCategory, message: string): void {
    if (this.categories.has(c)) this.sink(`${c}: ${message}`);
  }

  /** True when the line itself must be watched (bytes or packets). */
  get wantsLine(): boolean {
    return this.on('proto') || this.on('incoming') || this.on('outgoing');
  }

  /**
   * Wraps a line so that every byte crossing it can be traced. Returns the
   * stream unchanged when no line category is on.
   */
  tap(inner: Duplex): Duplex {
    if (!this.wantsLine) return inner;
    const rx = new PacketDecoder();
    const tx = new PacketDecoder();
    const seen = (dir: 'got' | 'sent', chunk: Buffer, dec: PacketDecoder): void => {
      this.log(dir === 'got' ? 'incoming' : 'outgoing', `${chunk.length} bytes ${hex(chunk)}`);
      if (!this.on('proto')) return;
      dec.push(chunk);
      // Handshake text and the closing O's are not packets: only real ones are shown.
      for (let d = dec.next(); d; d = dec.next()) if (d.kind === 'control' || d.kind === 'data' || d.kind === 'bad-checksum') this.log('proto', `${dir} ${describe(d)}`);
    };
    const outer = new Duplex({
      read() {
        inner.resume();
      },
      write(chunk: Buffer, _enc, cb) {
        seen('sent', chunk, tx);
        inner.write(chunk, cb);
      },
      final(cb) {
        inner.end();
        cb();
      },
      destroy(err, cb) {
        inner.destroy(err ?? undefined);
        cb(err);
      },
    });
    inner.on('data', (chunk: Buffer) => {
      seen('got', chunk, rx);
      if (!outer.push(chunk)) inner.pause();
    });
    inner.on('end', () => outer.push(null));
    inner.on('close', () => outer.destroy());
    inner.on('error', (err) => outer.destroy(err));
    return outer;
  }
}

function hex(b: Buffer): string {
  const shown = b.subarray(0, 64).toString('hex').replace(/(..)/g, '$1 ').trim();
  return b.length > 64 ? `${shown} ...` : shown;
}

const CONTROL = ['?', 'CLOSE', 'RJ', 'SRJ', 'RR', 'INITC', 'INITB', 'INITA'];

function describe(d: ReturnType<PacketDecoder['next']> & object): string {
  switch (d.kind) {
    case 'control':
      return `${CONTROL[d.type]} ${d.value}`;
    case 'data':
      return `${d.short ? 'SHORTDATA' : 'DATA'} seq ${d.seq} ack ${d.ack} size ${d.size} (${d.payload.length} bytes)`;
    case 'garbage':
      return `${d.bytes} bytes outside packets`;
    case 'bad-header':
      return 'bad header';
    case 'bad-checksum':
      return `bad checksum (seq ${d.seq})`;
    case 'bad-length':
      return `bad short length (seq ${d.seq})`;
  }
}
