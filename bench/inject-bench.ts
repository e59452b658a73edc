// Injection: (a) a cold `rmail` process per message, Node start-up included;
// (b) the in-process accept API. 2 KiB messages, each durable (fsync'd) before
// it counts as acknowledged. Targets: cold p50 ≤ 80 ms, in-process ≥ 500 msg/s.
// (c) a local user's cold `sendmail` through the maildrop (docs/privileges.md),
// timed alternately with `node -e 0` as the same user: p50 ≤ 1.3× node's.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { makeSite, UUGATE, flags, type Site } from '../test/helpers/site.js';
import { loadGateway, accept } from '../src/runtime/gateway.js';
import { percentile, type BenchResult } from './table.js';
import { addAccount, isRoot, openUp, programFor, removeAccount, type TestAccount } from '../test/helpers/accounts.js';

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

function timed(args: string[], env: NodeJS.ProcessEnv, input: Buffer, as?: TestAccount): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'ignore', 'ignore'], ...(as ? { uid: as.uid, gid: as.gid } : {}) });
    child.stdin.end(input);
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${args.join(' ')}: exit ${code}`))));
  });
}

/** sendmail by a user who is not the gateway's (root here): it only writes a drop; no daemon needed. */
async function maildropTimes(n: number): Promise<{ drop: number[]; base: number[] }> {
  const site = makeSite({ conf: { gateway_user: 'root' } });
  const as = isRoot() ? addAccount('uubench') : undefined; // root itself would take the direct path
  try {
    openUp(site.dir);
    mkdirSync(path.join(site.spool, 'maildrop'), { mode: 0o1733 });
    chmodSync(path.join(site.spool, 'maildrop'), 0o1733);
    const args = [as ? programFor(as) : UUGATE, 'sendmail', 'bob'];
    const env = { PATH: process.env.PATH, ...(as ? { USER: as.name } : {}), UUGATE_CONFIG: site.config, UUGATE_SPOOL: site.spool };
    const drop: number[] = [];
    const base: number[] = [];
    for (let i = -3; i < n; i++) {
      const d = await timed(args, env, MESSAGE, as);
      const b = await timed(['-e', '0'], env, Buffer.alloc(0), as);
      if (i >= 0) drop.push(d), base.push(b);
    }
    return { drop: drop.sort((a, b) => a - b), base: base.sort((a, b) => a - b) };
  } finally {
    if (as) removeAccount(as);
    rmSync(site.dir, { recursive: true, force: true });
  }
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
  const md = await maildropTimes(40);
  const ratio = percentile(md.drop, 50) / percentile(md.base, 50);
  return {
    title: 'Injection (2 KiB messages, fsync before acknowledgement)',
    rows: [
      { path: 'cold rmail process', messages: coldN, 'msg/s': coldRate, 'p50 ms': percentile(cold, 50), 'p99 ms': percentile(cold, 99), target: 'p50 ≤ 80 ms' },
      { path: '  (node -e 0 alone)', messages: base.length, 'msg/s': '', 'p50 ms': percentile(base, 50), 'p99 ms': percentile(base, 99), target: '' },
      { path: `cold sendmail via the maildrop (${ratio.toFixed(2)}× node)`, messages: md.drop.length, 'msg/s': '', 'p50 ms': percentile(md.drop, 50), 'p99 ms': percentile(md.drop, 99), target: 'p50 ≤ 1.3× node -e 0' },
      { path: '  (node -e 0, same user, alternating)', messages: md.base.length, 'msg/s': '', 'p50 ms': percentile(md.base, 50), 'p99 ms': percentile(md.base, 99), target: '' },
      { path: `in-process accept (${parallel} in flight)`, messages: n, 'msg/s': rate, 'p50 ms': percentile(lat, 50), 'p99 ms': percentile(lat, 99), target: '≥ 500 msg/s' },
    ],
  };
}
