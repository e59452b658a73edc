// Queue run: N queued messages delivered to maildirs by `uugate runq` (a real
// process, so its peak RSS is its own), at 1,000 and 10,000 messages to show how
// the time grows. Targets: ≥ 500 msg/s, peak RSS ≤ 150 MB, linear growth.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { makeSite, UUGATE, flags } from '../test/helpers/site.js';
import { loadGateway, accept } from '../src/runtime/gateway.js';
import type { BenchResult, Row } from './table.js';

const MESSAGE = Buffer.from(`Subject: queue bench\n\n${`${'z'.repeat(71)}\n`.repeat(28)}`);
const USERS = Array.from({ length: 10 }, (_, i) => `user${i}`);

async function fill(n: number): Promise<ReturnType<typeof makeSite>> {
  const site = makeSite({ conf: { delivery_mode: 'queued', queue_concurrency: '8' }, users: USERS.map((u) => `${u} mail/${u}/`).join('\n') + '\n' });
  const gw = await loadGateway(flags(site));
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < n) {
      const i = next++;
      await accept(gw, { sender: 'hub!alice', recipients: [USERS[i % USERS.length]], data: MESSAGE, origin: 'bench' });
    }
  }));
  return site;
}

function runqMeasured(site: ReturnType<typeof makeSite>): Promise<{ seconds: number; rssMb: number; out: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-f', 'MAXRSS %M', process.execPath, UUGATE, 'runq'], { env: site.env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      const rss = Number(/MAXRSS (\d+)/.exec(out)?.[1] ?? NaN) / 1024;
      if (code === 0) resolve({ seconds: (performance.now() - t0) / 1000, rssMb: rss, out });
      else reject(new Error(`runq exit ${code}: ${out}`));
    });
  });
}

export async function run(): Promise<BenchResult> {
  const rows: Row[] = [];
  for (const n of [1000, 10000]) {
    const site = await fill(n);
    const r = await runqMeasured(site);
    if (!new RegExp(`${n} delivered`).test(r.out)) throw new Error(`queue run did not deliver all: ${r.out}`);
    rows.push({ messages: n, seconds: r.seconds, 'msg/s': n / r.seconds, 'peak RSS MB': r.rssMb, 'ms per msg': (r.seconds * 1000) / n });
  }
  return {
    title: 'Queue run into maildirs (uugate runq, queue_concurrency 8)',
    rows,
    notes: ['targets: ≥ 500 msg/s, peak RSS ≤ 150 MB, ms per message flat from 1,000 to 10,000 (linear time)'],
  };
}
