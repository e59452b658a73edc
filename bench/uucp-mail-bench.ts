// Mail over UUCP end to end: 1,000 messages accepted at "leaf" (in-process,
// as rmail/SMTP would), routed to the smart host "hub" (smart_path=hub, the uux
// transport: one rmail job per message), carried by one call of our uucico
// over TCP loopback to our uucico answering at hub (its own process,
// bench/uucp-peer.ts), whose uuxqt runs rmail in-process after the session and
// delivers (delivery_mode=foreground) into bob's maildir. Timed phases:
//   accept    — the 1,000 messages into leaf's queue;
//   queue run — leaf's runq: messages → rmail jobs in the UUCP spool;
//   call      — login, handshake, every job's D. and X. file sent, hang-up;
//   uuxqt     — hub: X. files → rmail → queue → maildir files;
// and end to end, from the first accept to the last maildir file.
// Run: `node dist/bench/uucp-mail-bench.js`, or `npm run bench uucp-mail`
// (UUCP_MAIL_N=1000, UUCP_MAIL_G=64/7,1024/7: g packet/window, one set of rows each;
// UUCP_PEER_NODE_ARGS: node flags for hub's uucico process, e.g. --cpu-prof; TMPDIR
// decides where the two sites live: /dev/shm takes the disk out of the figures).
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { accept, loadGateway } from '../src/runtime/gateway.js';
import { openQueue } from '../src/runtime/queue-owner.js';
import { callSystem } from '../src/uucp/uucico.js';
import { uucicoContext } from '../src/inject/uucico.js';
import { flags, makeSite, type Site } from '../test/helpers/site.js';
import { formatTable, type BenchResult, type Row } from './table.js';

const PEER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'uucp-peer.js');
const now = (): number => performance.timeOrigin + performance.now();

const body = (i: number): Buffer =>
  Buffer.from(
    `From: alice@leaf.example.org\nTo: bob@hub.example.org\nSubject: mail bench ${i}\nDate: Fri, 27 Nov 2026 12:00:00 +0000\nMessage-ID: <bench${i}@leaf.example.org>\n\n${`${'m'.repeat(71)}\n`.repeat(26)}`,
  );

interface HubTimes {
  ok: boolean;
  error?: string;
  sessionEnd: number;
  uuxqtEnd: number;
  cpuUs: number;
}

function hubPeer(site: Site, port: number): { ready: Promise<void>; result: Promise<HubTimes> } {
  const args = { mode: 'site-listen', config: site.config, uucp: site.uucp, spool: site.spool, tcp: port };
  const nodeArgs = (process.env.UUCP_PEER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, PEER, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const ready = new Promise<void>((resolve) => child.once('message', () => resolve()));
  const result = new Promise<HubTimes>((resolve, reject) =>
    child.on('close', (code) => {
      try {
        resolve(JSON.parse(out) as HubTimes);
      } catch {
        reject(new Error(`uucp-peer exited ${code}: ${out}`));
      }
    }),
  );
  return { ready, result };
}

async function one(n: number, packet: number, window: number): Promise<Row[]> {
  const g = `protocol g\nprotocol-parameter g packet-size ${packet}\nprotocol-parameter g window ${window}\n`;
  const port = 20000 + Math.floor(Math.random() * 20000);
  const leaf = makeSite({ conf: { smart_path: 'hub', delivery_mode: 'queued', queue_concurrency: '8' } });
  writeFileSync(path.join(leaf.uucp, 'sys'), `system hub\ntime any\naddress 127.0.0.1\nport type tcp\nport service ${port}\ncall-login Uleaf\ncall-password pw\nchat ogin: \\L word: \\P\n${g}`);
  const hub = makeSite({
    conf: { hostnames: 'hub:hub.example.org', visible_name: 'hub.example.org', uucp_name: 'hub', delivery_mode: 'foreground', queue_concurrency: '8' },
    users: 'bob mail/bob/\n',
  });
  writeFileSync(path.join(hub.uucp, 'sys'), `system leaf\ncalled-login Uleaf\ncommands rmail\n${g}`);
  writeFileSync(path.join(hub.uucp, 'passwd'), 'Uleaf pw\n');
  const answering = hubPeer(hub, port);
  await answering.ready;

  const gw = await loadGateway(flags(leaf));
  const t0 = now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) {
        const i = next++;
        await accept(gw, { sender: 'alice', recipients: ['bob@hub.example.org'], data: body(i), origin: 'bench' });
      }
    }),
  );
  const t1 = now();
  const q = await openQueue(gw);
  const run = await q.runner.runDue();
  await q.close();
  if (run.delivered !== n) throw new Error(`queue run: ${JSON.stringify(run)}`);
  const t2 = now();
  const ctx = await uucicoContext(gw, { uuxqt: false });
  const call = await callSystem(ctx, 'hub', { force: true });
  if (!call.ok) throw new Error(`call failed: ${call.error?.message}`);
  const h = await answering.result;
  if (!h.ok) throw new Error(`hub: ${h.error}`);
  const delivered = readdirSync(path.join(hub.spool, 'mail', 'bob', 'new')).length;
  if (delivered !== n) throw new Error(`${delivered} of ${n} messages in bob's maildir`);
  const gp = `${packet}/${window}`;
  const row = (phase: string, from: number, to: number): Row => ({ 'g packet/window': gp, phase, seconds: (to - from) / 1000, 'msg/s': Math.round(n / ((to - from) / 1000)) });
  return [
      row('accept (messages → leaf queue)', t0, t1),
      row('queue run (→ rmail jobs, uux transport)', t1, t2),
      { ...row('call (uucico → uucico, TCP loopback)', t2, h.sessionEnd), 'files sent': call.stats.filesSent },
      row('uuxqt at hub (jobs → rmail → maildirs)', h.sessionEnd, h.uuxqtEnd),
    row('end to end (first accept → last maildir file)', t0, h.uuxqtEnd),
  ];
}

export async function run(): Promise<BenchResult> {
  const n = Number(process.env.UUCP_MAIL_N ?? 1000);
  const rows: Row[] = [];
  for (const pw of (process.env.UUCP_MAIL_G ?? '64/7,1024/7').split(',')) {
    const [packet, window] = pw.split('/').map(Number);
    rows.push(...(await one(n, packet!, window!)));
  }
  return {
    title: `Mail over UUCP: ${n} messages (2 KiB) from leaf to bob's maildir at hub, one call, our uucico at both ends (TCP loopback)`,
    rows,
    notes: [
      'leaf: in-process accept, then a queue run (smart_path=hub, uux transport: data + X. + C. file per message, each fsync\'d); the call in the bench process.',
      'hub: our uucico in its own process (bench/uucp-peer.js), uuxqt in-process right after the session, delivery_mode=foreground into a maildir.',
      'call ends when hub\'s session ends (uuxqt starts); every phase on a real disk (fsyncs count).',
    ],
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.stdout.write(formatTable(await run()) + '\n');
