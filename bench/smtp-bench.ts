// SMTP acceptance rate: 2 KiB messages over 1, 10 and 50 concurrent connections
// (each connection sends message after message, pipelining MAIL/RCPT/DATA),
// against our server (`uugate smtpd`, a separate process, queue-only) and against
// a private Exim (queue_only) in the same run. Both answer 250 only once the
// message is on disk (fsync'd): ours by design, Exim by default. Peak RSS of our
// server from /proc (VmHWM). Targets: ≥ 1.5× Exim at 50 connections, ≥ 1× at 1;
// RSS ≤ 150 MB.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { makeSite, UUGATE, freePort } from '../test/helpers/site.js';
import { startExim, eximAvailable } from '../test/helpers/exim.js';
import type { BenchResult, Row } from './table.js';

const SECONDS = Number(process.env.SMTP_BENCH_SECONDS ?? 5);
const LEVELS = [1, 10, 50];

const BODY = `${'x'.repeat(70)}\r\n`.repeat(28);
const MESSAGE = Buffer.from(`From: bench@lan.example\r\nTo: bob@leaf.example.org\r\nSubject: smtp bench\r\nMessage-ID: <bench@lan.example>\r\n\r\n${BODY}.\r\n`);
const ENVELOPE = Buffer.from('MAIL FROM:<bench@lan.example>\r\nRCPT TO:<bob@leaf.example.org>\r\nDATA\r\n');

/** One client connection: greeting, EHLO, then messages until `until`; resolves with the count. */
function client(port: number, until: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    sock.setNoDelay(true);
    let buf = '';
    let stage: 'greet' | 'ehlo' | 'env' | 'data' = 'greet';
    let envReplies = 0;
    let sent = 0;
    const fail = (why: string): void => {
      sock.destroy();
      reject(new Error(why));
    };
    const next = (): void => {
      if (performance.now() >= until) {
        sock.end('QUIT\r\n');
        return resolve(sent);
      }
      stage = 'env';
      envReplies = 0;
      sock.write(ENVELOPE);
    };
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      let nl: number;
      while ((nl = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (line[3] === '-') continue; // continuation of a multi-line reply
        const code = Number(line.slice(0, 3));
        if (stage === 'greet') {
          if (code !== 220) return fail(line);
          stage = 'ehlo';
          sock.write('EHLO bench.lan\r\n');
        } else if (stage === 'ehlo') {
          if (code !== 250) return fail(line);
          next();
        } else if (stage === 'env') {
          envReplies++;
          if (envReplies < 3 && code !== 250) return fail(line);
          if (envReplies === 3) {
            if (code !== 354) return fail(line);
            stage = 'data';
            sock.write(MESSAGE);
          }
        } else if (stage === 'data') {
          if (code !== 250) return fail(line);
          sent++;
          next();
        }
      }
    });
    sock.on('error', (e) => fail(e.message));
  });
}

async function measure(port: number, conns: number): Promise<{ rate: number; n: number }> {
  const t0 = performance.now();
  const until = t0 + SECONDS * 1000;
  const counts = await Promise.all(Array.from({ length: conns }, () => client(port, until)));
  const n = counts.reduce((a, b) => a + b, 0);
  return { n, rate: n / ((performance.now() - t0) / 1000) };
}

function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function startOurs(): Promise<{ port: number; child: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  // All load comes from 127.0.0.1; no greeting delay, which would take a second of each measurement's connections.
  const site = makeSite({ conf: { queue_only: true, smtp_max_connections: '200', smtp_max_per_client: '100', smtp_greeting_delay: '0' } });
  const child = spawn(process.execPath, [UUGATE, 'smtpd', '--listen', `127.0.0.1:${port}`], { env: site.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      err += d;
      if (/listening on/.test(err)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`uugate smtpd exited ${code}: ${err}`)));
  });
  return {
    port,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function run(): Promise<BenchResult> {
  if (!eximAvailable()) throw new Error('exim4 is not installed (test/install-peers.sh)');
  const ours = await startOurs();
  // Exim closes a connection after 1,000 messages by default; the load clients stay connected.
  const exim = await startExim({ queueOnly: true, maxConnections: 200, extraMain: ['smtp_accept_max_per_connection = 0'] });
  const rows: Row[] = [];
  const notes: string[] = [];
  const load0 = os.loadavg()[0];
  try {
    await measure(ours.port, 4).catch(() => undefined); // warm-up (JIT, page cache)
    SECONDS > 0 && (await new Promise((r) => setTimeout(r, 200)));
    for (const c of LEVELS) {
      const u = await measure(ours.port, c);
      const e = await measure(exim.port, c);
      rows.push({ connections: c, 'uugate msg/s': u.rate, 'exim msg/s': e.rate, ratio: u.rate / e.rate, 'uugate n': u.n, 'exim n': e.n });
    }
    const rss = peakRss(ours.child.pid!);
    rows.push({ connections: 'peak RSS', 'uugate msg/s': `${rss.toFixed(0)} MB` });
    const at = (c: number) => rows.find((r) => r.connections === c)!.ratio as number;
    notes.push(`${SECONDS} s per measurement; 2 KiB messages, one recipient, PIPELINING; each 250 after fsync (uugate: tmp/ → fsync → incoming/ → fsync dir; Exim: its -D/-H spool files); Exim queue_only, ${exim.queuedCount()} messages in its queue`);
    notes.push(`load average ${load0.toFixed(1)} at start, ${os.loadavg()[0].toFixed(1)} at end, ${os.cpus().length} CPUs: Exim's 50 processes get a larger share of a busy machine than our one process`);
    notes.push(`targets: ≥ 1.5× Exim at 50 connections (${at(50).toFixed(2)}×: ${at(50) >= 1.5 ? 'met' : 'NOT met'}), ≥ 1× at 1 (${at(1).toFixed(2)}×: ${at(1) >= 1 ? 'met' : 'NOT met'}), RSS ≤ 150 MB (${rss <= 150 ? 'met' : 'NOT met'})`);
  } finally {
    await ours.stop();
    await exim.stop();
  }
  return { title: 'SMTP acceptance (uugate smtpd vs Exim 4, queue-only, durable before 250)', rows, notes };
}
