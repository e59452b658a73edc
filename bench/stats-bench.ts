// `uugate stats` over a generated log of 100 MB and 1 GB (received, delivered,
// deferred and failed lines, calls, refusals; 5,000 senders, 20,000
// recipients, 50 domains): lines a second and peak RSS of the whole process.
// Memory should stay flat from one size to the other; 1 GB should take
// under a minute.
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { formatRecord, type LogRecord } from '../src/log/logger.js';
import { makeSite, UUGATE } from '../test/helpers/site.js';
import { measurePeakRss } from '../test/helpers/peak-rss.js';
import type { BenchResult, Row } from './table.js';

const MB = 1024 * 1024;
const SIZES = [100 * MB, 1024 * MB];

function* records(): Generator<LogRecord> {
  for (let n = 0; ; n++) {
    const id = `mxb${n.toString(36).padStart(6, '0')}-abc-0001`;
    const sender = `user${n % 5000}@site${n % 50}.example`;
    const rcpt = `rcpt${(n * 7) % 20000}@dom${n % 50}.example`;
    yield { event: 'received', id, sender, rcpt, fields: { size: 1000 + (n % 5000) }, reason: n % 3 ? 'rmail' : 'smtp' };
    if (n % 20 === 0) yield { event: 'deferred', id, rcpt, router: 'smart', transport: 'uux', status: '4.4.1', fields: { time: 30 }, reason: `connection to hub${n % 3} timed out after 30 s` };
    if (n % 50 === 0) yield { event: 'failed', id, rcpt, router: 'user', transport: 'maildir', status: '5.1.1', reason: `<${rcpt}>: no such user` };
    else yield { event: 'delivered', id, rcpt, router: 'user', transport: n % 2 ? 'maildir' : 'uux', status: '2.0.0', fields: { time: n % 40 }, reason: 'delivered' };
    if (n % 10 === 0) yield { event: 'call', fields: { system: `hub${n % 3}`, dir: 'out', result: n % 40 ? 'ok' : 'busy', time: 5000, bytes_sent: 40000, bytes_received: 9000, files_sent: 8, files_received: 2, resent: 1, damaged: 0 } };
    if (n % 25 === 0) yield { event: 'refused', status: '5.7.1', fields: { reason: 'relay', client: `192.0.2.${n % 250}` }, reason: '550 5.7.1 relaying denied' };
  }
}

/** Writes about `bytes` of log lines, stamped over 30 days. */
async function writeLog(file: string, bytes: number): Promise<number> {
  const out = createWriteStream(file);
  const start = Date.UTC(2026, 10, 1);
  let written = 0;
  let lines = 0;
  const p = (x: number): string => String(x).padStart(2, '0');
  for (const rec of records()) {
    const d = new Date(start + Math.floor((lines / (bytes / 150)) * 30 * 86400_000));
    const line = `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}: ${formatRecord(rec)}\n`;
    written += line.length;
    lines++;
    if (!out.write(line)) await once(out, 'drain');
    if (written >= bytes) break;
  }
  out.end();
  await once(out, 'finish');
  return lines;
}

export async function run(): Promise<BenchResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uugate-stats-bench-'));
  const site = makeSite();
  const rows: Row[] = [];
  try {
    for (const size of SIZES) {
      const file = path.join(dir, 'logfile');
      const lines = await writeLog(file, size);
      const m = await measurePeakRss(process.execPath, [UUGATE, 'stats', file], site.env, []);
      if (m.code !== 0) throw new Error(`uugate stats exited ${m.code}: ${m.stderr}`);
      rows.push({ log: `${size / MB} MB`, lines, seconds: m.seconds, 'lines/s': Math.round(lines / m.seconds), 'MB/s': size / MB / m.seconds, 'peak RSS MiB': m.rssMiB });
      rmSync(file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { title: 'uugate stats over a generated log', rows, notes: ['one process reads the whole file; peak RSS from /usr/bin/time'] };
}
