// BSMTP both ways with 10,000 messages of about 2 KiB:
//   write: the bsmtp transport appending each message to its neighbour's batch
//          (fdatasync per message) and flushing rsmtp jobs (batch_max 1000);
//   read:  readBsmtp (what `uugate rsmtp` and uuxqt run) taking one 10,000-message
//          batch into the queue: every queue file fsync'd, group commits of 256
//          (one directory fsync per group), and for comparison a group size of 1.
// Run: `npm run bench bsmtp` or `node dist/bench/bsmtp-bench.js`.
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { makeSite, flags } from '../test/helpers/site.js';
import { loadGateway } from '../src/runtime/gateway.js';
import { createBsmtpTransport } from '../src/deliver/bsmtp.js';
import { readBsmtp } from '../src/inject/bsmtp-reader.js';
import { bsmtpBatch, bsmtpTransaction } from '../src/bsmtp/writer.js';
import { formatTable, type BenchResult, type Row } from './table.js';

const BODY = `Subject: bench\n\n${`${'x'.repeat(71)}\n`.repeat(28)}.dot line\n`;
const N = 10_000;

async function write(): Promise<Row> {
  const s = makeSite({ conf: { delivery_mode: 'queued', bsmtp_neighbors: 'hub', bsmtp_batch_max: '1000', bsmtp_batch_bytes: String(64 * 1024 * 1024) } });
  writeFileSync(path.join(s.uucp, 'sys'), 'system hub\n');
  const gw = await loadGateway(flags(s));
  const t = createBsmtpTransport(gw);
  const data = Buffer.from(BODY);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const [r] = await t.deliver({
      envelope: { id: `b${i}`, sender: 'alice', recipients: ['far.example!bob'], arrival: Date.now(), origin: 'bench' },
      data,
      recipients: [{ rcpt: 'far.example!bob', route: { transport: 'bsmtp', nextHop: 'hub', address: 'far.example!bob', router: 'bench', why: [] } }],
    });
    if (r.outcome !== 'ok') throw new Error(r.reason);
  }
  await t.flush();
  const sec = (performance.now() - t0) / 1000;
  const jobs = readdirSync(path.join(s.spool, 'uucp/hub/D.X')).length;
  return { path: `write: bsmtp transport → ${jobs} rsmtp jobs`, messages: N, seconds: sec, 'msg/s': N / sec };
}

async function read(n: number, groupSize: number): Promise<Row> {
  const s = makeSite({ conf: { delivery_mode: 'queued' } });
  const gw = await loadGateway(flags(s));
  const tx = bsmtpTransaction('hub!alice', ['bob'], Buffer.from(BODY));
  const batch = bsmtpBatch(Array.from({ length: n }, () => tx), { helo: 'hub' });
  const t0 = performance.now();
  const sum = await readBsmtp(gw, batch, { groupSize, receivedFrom: 'hub' });
  const sec = (performance.now() - t0) / 1000;
  if (sum.accepted.length !== n || sum.problems.length) throw new Error(`read ${sum.accepted.length} of ${n}`);
  const queued = readdirSync(gw.spool.incoming).length;
  if (queued !== n) throw new Error(`${queued} queue files`);
  return { path: `read: batch → queue, group commit ${groupSize}`, messages: n, seconds: sec, 'msg/s': n / sec };
}

export async function run(): Promise<BenchResult> {
  const rows = [await write(), await read(N, 256), await read(2000, 1)];
  return {
    title: 'BSMTP: 2 KiB messages written into batches and read into the queue (every file fsync\'d)',
    rows,
    notes: [
      'write: one fdatasync per message appended to the neighbour\'s pending batch, plus the rsmtp jobs (data + X. + C. files) at each flush.',
      'read: every queue file is written and fsync\'d before the group is renamed into incoming/ and the directory fsync\'d once; recipients are routed (unknown-user check).',
    ],
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.stdout.write(formatTable(await run()) + '\n');
