// Injection: (a) a cold `rmail` process per message, Node start-up included;
// (b) the in-process accept API. 2 KiB messages, each durable (fsync'd) before
// it counts as acknowledged. Targets: cold p50 ≤ 80 ms, in-process ≥ 500 msg/s.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { makeSite, UUGATE, flags, type Site } from '../test/helpers/site.js';
import { loadGateway, accept } from '../src/runtime/gateway.js';
import { percentile, type BenchResult } from './table.js';

const MESSAGE = Buffer.from(`From alice Fri Nov 27 10:00:00 2026 remote from hub\nSubject: bench\n\n${`${'x'.repeat(71)}\n`.repeat(28)}`);

function rmailOnce(site: Site): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [UUGATE, 'rmail', 'bob'], { env: site.env, stdio: ['pipe', 'ignore', 'inherit'] });
    child.stdin.end(MESSAGE);
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`rmail exit ${code}`))));
  });
}

async function nodeBaseline(n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise((r) => spawn(process.execPath, ['-e', '0']).on('exit', r));
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b);
}

export async function run(): Promise<BenchResult> {
  const site = makeSite({ conf: { delivery_mode: 'queued' } });
  const coldN = 60;
  for (let i = 0; i < 3; i++) await rmailOnce(site); // warm the page cache
  const cold: number[] = [];
  const c0 = performance.now();
  for (let i = 0; i < coldN; i++) cold.push(await rmailOnce(site));
  const coldRate = coldN / ((performance.now() - c0) / 1000);
  cold.sort((a, b) => a - b);
  const base = await nodeBaseline(20);

  const gw = await loadGateway(flags(site));
  const n = 3000;
  const parallel = 16;
  const lat: number[] = [];
  let next = 0;
  const w0 = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next++ < n) {
        const t0 = performance.now();
        await accept(gw, { sender: 'hub!alice', recipients: ['bob'], data: MESSAGE, origin: 'bench' });
        lat.push(performance.now() - t0);
      }
    }),
  );
  const rate = n / ((performance.now() - w0) / 1000);
  lat.sort((a, b) => a - b);
  return {
    title: 'Injection (2 KiB messages, fsync before acknowledgement)',
    rows: [
      { path: 'cold rmail process', messages: coldN, 'msg/s': coldRate, 'p50 ms': percentile(cold, 50), 'p99 ms': percentile(cold, 99), target: 'p50 ≤ 80 ms' },
      { path: '  (node -e 0 alone)', messages: base.length, 'msg/s': '', 'p50 ms': percentile(base, 50), 'p99 ms': percentile(base, 99), target: '' },
      { path: `in-process accept (${parallel} in flight)`, messages: n, 'msg/s': rate, 'p50 ms': percentile(lat, 50), 'p99 ms': percentile(lat, 99), target: '≥ 500 msg/s' },
    ],
  };
}
