// UUCP mail paths: (a) the uux transport turning a 2 KiB message into an rmail job
// (data + X. + C. files, each fsync'd); (b) uuxqt running received rmail requests
// in-process (one process for the whole run, delivery_mode=queued), compared with
// (c) what Taylor's uuxqt does, one `uugate rmail` process per message.
// Run directly: `node dist/bench/uux-bench.js`, or through the driver once
// registered there as `uux`.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { makeSite, flags, UUGATE, type Site } from '../test/helpers/site.js';
import { loadGateway } from '../src/runtime/gateway.js';
import { createUuxTransport } from '../src/deliver/uux.js';
import { runUuxqt } from '../src/inject/uuxqt.js';
import { formatExecFile } from '../src/uucp/spool/exec-file.js';
import { writeSpoolData } from '../src/uucp/spool/work-file.js';
import { formatTable, type BenchResult } from './table.js';

const BODY = `Subject: bench\n\n${`${'x'.repeat(71)}\n`.repeat(28)}`;
const MESSAGE = Buffer.from(`From alice Fri Nov 27 10:00:00 2026 remote from hub\n${BODY}`);

function site(): Site {
  const s = makeSite({ conf: { delivery_mode: 'queued' } });
  writeFileSync(path.join(s.uucp, 'sys'), 'system hub\ncommands rmail\n');
  return s;
}

async function leaveRequests(s: Site, n: number): Promise<void> {
  const spool = path.join(s.spool, 'uucp');
  for (let i = 1; i <= n; i++) {
    const seq = i.toString(36).toUpperCase().padStart(4, '0');
    const d = `D.hubN${seq}`;
    await writeSpoolData(spool, 'hub', d, MESSAGE);
    await writeSpoolData(spool, 'hub', `X.hubX${seq}`, formatExecFile({ user: 'uucp', system: 'hub', files: [{ file: d }], stdin: d, command: ['rmail', 'bob'], unknown: [] }));
  }
}

function rmailProcess(s: Site): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [UUGATE, 'rmail', 'bob'], { env: { ...s.env, UU_MACHINE: 'hub', UU_USER: 'uucp' }, stdio: ['pipe', 'ignore', 'inherit'] });
    child.stdin.end(MESSAGE);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`rmail exit ${code}`))));
  });
}

export async function run(): Promise<BenchResult> {
  const rows = [];

  const out = site();
  const gw = await loadGateway(flags(out));
  const uux = createUuxTransport(gw);
  const jobs = 500;
  const t0 = performance.now();
  for (let i = 0; i < jobs; i++) {
    await uux.deliver({
      envelope: { id: `b${i}`, sender: 'alice', recipients: ['far.example!bob'], arrival: Date.now(), origin: 'bench' },
      data: Buffer.from(BODY),
      recipients: [{ rcpt: 'far.example!bob', route: { transport: 'uux', nextHop: 'hub', address: 'far.example!bob', router: 'bench', why: [] } }],
    });
  }
  const sec = (performance.now() - t0) / 1000;
  rows.push({ path: 'uux transport: message → rmail job', messages: jobs, seconds: sec, 'msg/s': jobs / sec });

  const inbound = site();
  const n = 500;
  await leaveRequests(inbound, n);
  const g2 = await loadGateway(flags(inbound));
  const t1 = performance.now();
  const sum = await runUuxqt(g2);
  const sec1 = (performance.now() - t1) / 1000;
  if (sum.executed !== n) throw new Error(`uuxqt executed ${sum.executed} of ${n}`);
  rows.push({ path: 'uuxqt, rmail in-process', messages: n, seconds: sec1, 'msg/s': n / sec1 });

  const perProcess = site();
  const m = 60;
  const t2 = performance.now();
  for (let i = 0; i < m; i++) await rmailProcess(perProcess);
  const sec2 = (performance.now() - t2) / 1000;
  rows.push({ path: 'one rmail process per message (Taylor uuxqt style)', messages: m, seconds: sec2, 'msg/s': m / sec2 });

  return {
    title: 'UUCP mail: uux transport and uuxqt (2 KiB messages, every file fsync\'d)',
    rows,
    notes: ['uuxqt figures include reading the X. and D. files, accepting into the queue and removing them; delivery is left queued.'],
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.stdout.write(formatTable(await run()) + '\n');
