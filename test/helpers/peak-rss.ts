// Peak memory of a command fed a large message: the command runs under
// /usr/bin/time (its maximum resident set size, the kernel's own figure) with a
// generated message streamed to its stdin through a pipe, never held here whole.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TIME_BIN = '/usr/bin/time';

/** `head` then body lines up to `bytes` in all, in 64 KiB chunks. */
export function* messageChunks(bytes: number, head = 'Subject: big\n\n'): Generator<Buffer> {
  const line = `${'x'.repeat(76)}\n`;
  const chunk = Buffer.from(line.repeat(Math.floor(65536 / line.length)));
  yield Buffer.from(head, 'latin1');
  for (let left = bytes - head.length; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left);
}

export interface Measured {
  code: number | null;
  stderr: string;
  /** Peak resident set size, MiB. */
  rssMiB: number;
  seconds: number;
}

/** Runs cmd under /usr/bin/time with `input` written to its stdin as the pipe takes it. */
export function measurePeakRss(cmd: string, args: string[], env: NodeJS.ProcessEnv, input: Iterable<Buffer>): Promise<Measured> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uugate-rss-'));
  const out = path.join(dir, 'time');
  const t0 = process.hrtime.bigint();
  const child = spawn(TIME_BIN, ['-o', out, '-f', '%M', cmd, ...args], { env, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // A command that refuses the message stops reading: EPIPE ends the feeding.
  child.stdin!.on('error', () => undefined);
  const it = input[Symbol.iterator]();
  const feed = (): void => {
    for (let r = it.next(); !r.done; r = it.next()) if (!child.stdin!.write(r.value)) return void child.stdin!.once('drain', feed);
    child.stdin!.end();
  };
  feed();
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const kib = Number(readFileSync(out, 'utf8').trim().split('\n').pop());
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, stderr, rssMiB: kib / 1024, seconds });
    });
  });
}
