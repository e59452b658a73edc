// Per-file transfer progress for uucico: a bar (bytes, rate, ETA) when stderr is
// a terminal, one plain line per finished file otherwise (cron, uuxqt, daemons
// must not get terminal escapes in their logs).
import type { Writable } from 'node:stream';

export interface FileProgress {
  system: string;
  name: string;
  direction: 'send' | 'receive';
  /** Expected size in bytes, or -1 when the sender did not say. */
  size: number;
  /** Bytes moved so far (counting from a restart offset). */
  bytes: number;
  done: boolean;
  /** When the transfer started (ms). */
  started: number;
}

export type ProgressSink = (p: FileProgress) => void;

const KB = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

export function summaryLine(p: FileProgress, now: number): string {
  const secs = Math.max(0.001, (now - p.started) / 1000);
  const arrow = p.direction === 'send' ? '→' : '←';
  return `${p.system} ${arrow} ${p.name}: ${p.bytes} bytes in ${secs.toFixed(1)} s (${KB(p.bytes / secs)}/s)`;
}

/** One line per finished file. */
export function lineProgress(out: Writable, clock: () => number = Date.now): ProgressSink {
  return (p) => {
    if (p.done) out.write(`${summaryLine(p, clock())}\n`);
  };
}

/** A cli-progress bar per file on a terminal. */
export async function barProgress(out: NodeJS.WriteStream): Promise<ProgressSink> {
  const { SingleBar, Presets } = (await import('cli-progress')).default;
  let bar: InstanceType<typeof SingleBar> | undefined;
  return (p) => {
    if (!bar) {
      bar = new SingleBar(
        { stream: out, format: `${p.system} ${p.direction === 'send' ? '→' : '←'} ${p.name} [{bar}] {percentage}% {value}/{total} bytes {speed} ETA {eta}s`, hideCursor: true },
        Presets.shades_classic,
      );
      bar.start(p.size > 0 ? p.size : p.bytes || 1, 0, { speed: '' });
    }
    const secs = Math.max(0.001, (Date.now() - p.started) / 1000);
    bar.update(p.bytes, { speed: `${KB(p.bytes / secs)}/s` });
    if (p.done) {
      bar.stop();
      bar = undefined;
    }
  };
}

/** The reporter uucico uses: a bar on a terminal, plain lines elsewhere. */
export function progressFor(out: NodeJS.WriteStream): Promise<ProgressSink> | ProgressSink {
  return out.isTTY ? barProgress(out) : lineProgress(out);
}

/** A receive sink that also reports progress (when someone listens); `done()` ends the report. */
export function countedSink(report: ProgressSink | undefined, system: string, name: string, size: number, from: number, sink: (c: Uint8Array) => Promise<void> | void): { write: (c: Uint8Array) => Promise<void> | void; done: () => void } {
  if (!report) return { write: sink, done: () => undefined };
  const p = { system, name, direction: 'receive' as const, size, bytes: from, done: false, started: Date.now() };
  return {
    write: (chunk) => {
      p.bytes += chunk.length;
      report(p);
      return sink(chunk);
    },
    done: () => report({ ...p, done: true }),
  };
}

/** A send source that reports progress, and a final event once it is exhausted. */
export function countedSource(report: ProgressSink | undefined, system: string, name: string, size: number, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, from = 0): AsyncIterable<Uint8Array> | Iterable<Uint8Array> {
  if (!report) return source;
  const p = { system, name, direction: 'send' as const, size, bytes: from, done: false, started: Date.now() };
  return (async function* () {
    for await (const chunk of source) {
      p.bytes += chunk.length;
      report(p);
      yield chunk;
    }
    report({ ...p, done: true });
  })();
}
