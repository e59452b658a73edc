// UUCP g throughput: our uucico against Taylor UUCP 1.07, and Taylor against
// itself on the same link in the same run, both directions:
//   (a) a socat pty pair, unthrottled, 10 MiB;
//   (b) a paced 115200 bit/s line (11,520 B/s, bench/line-relay.ts), 256 KiB
//       (10 MiB would take 15 minutes at that rate);
//   (c) 3,600 B/s with 300 ms round trip, 32 KiB: window × packet decides;
// at g 64/7 and at the largest packet Taylor takes safely (4096 with window 3:
// its 16 KiB receive ring is overrun by 4096 × 7), and Taylor → ours once more
// with our receiver asking for window 7 at 4096 (Taylor's side still asks
// for 3; ours is correct at 4096 × 7). Transfer times come from
// the Taylor end's statfile ("sent/received N bytes in T seconds"), so
// login/handshake are left out, and each pairing is compared with
// Taylor↔Taylor timed at the same end: the receiver's time for ours → Taylor,
// the sender's (which includes the wait for CY) for Taylor → ours. Then CPU time and
// peak RSS of our uucico (its own process, bench/uucp-peer.ts) for 10 and 50
// MiB, the session bench (uucico ↔ uucico in one process, TCP loopback), and
// many small files each way over TCP against Taylor (bench/uucp-files-bench.ts).
// Needs root (Taylor drops to user uucp), Taylor's uucico and socat.
// Run: `node --expose-gc dist/bench/uucp-bench.js`, or `npm run bench uucp`.
// Environment: UUCP_BENCH=pty,line,delay,resources,session,files (sections),
// UUCP_BENCH_G=64/7,4096/3,4096/3:7 (g packet/window[:the window our receiver
// asks for]), UUCP_BENCH_REPEAT=3 (pty runs),
// UUCP_PEER_NODE_ARGS='--cpu-prof ...' (node flags for our uucico's process),
// UUCP_PEER_WRAP='strace -f -o F' (a command our uucico's process runs under).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeSpoolData, writeWorkFile } from '../src/uucp/spool/work-file.js';
import { UUCICO, UUCP, giveToUucp, ourEnv, ptyPair, runTaylor, taylorInstalled, taylorSite, tempRoot, type TaylorSite } from '../test/helpers/taylor.js';
import { ptyLine } from './line-relay.js';
import { run as filesBench } from './uucp-files-bench.js';
import { run as sessionBench } from './uucp-session-bench.js';
import { formatTable, type BenchResult, type Row } from './table.js';

const PEER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'uucp-peer.js');
const MiB = 1024 * 1024;

type Pairing = 'ours → Taylor' | 'Taylor → ours' | 'Taylor → Taylor';
interface Link {
  name: string;
  bytes: number;
  rate?: number;
  delayMs?: number;
}
interface Params {
  packet: number;
  window: number;
  /** The window our uucico asks for when it receives (Taylor's side keeps `window`): ours is safe at 4096 × 7. */
  oursReceive?: number;
}
interface PeerResult {
  ok: boolean;
  error?: string;
  ms: number;
  cpuUs: number;
  maxRssKiB: number;
}
interface Transfer {
  /** From the Taylor end's statfile: the receiver's for ours → Taylor and Taylor↔Taylor, the sender's for Taylor → ours. */
  seconds: number;
  /** Taylor↔Taylor: the sender's time too (it waits for CY: a round trip more than the receiver's). */
  senderSeconds?: number;
  ours?: PeerResult;
}

const gParams = (p: Params): string => `protocol g\nprotocol-parameter g packet-size ${p.packet}\nprotocol-parameter g window ${p.window}\n`;
const portFile = (dev: string): string => `port PTY\ntype direct\ndevice ${dev}\nspeed 115200\n`;

function runPeer(args: object): { result: Promise<PeerResult>; ready: Promise<void> } {
  const nodeArgs = (process.env.UUCP_PEER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const wrap = (process.env.UUCP_PEER_WRAP ?? '').split(' ').filter(Boolean);
  const argv = [...wrap, process.execPath, ...nodeArgs, PEER, JSON.stringify(args)];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const ready = new Promise<void>((resolve) => child.once('message', () => resolve()));
  const result = new Promise<PeerResult>((resolve, reject) =>
    child.on('close', (code) => {
      try {
        resolve(JSON.parse(out) as PeerResult);
      } catch {
        reject(new Error(`uucp-peer exited ${code}: ${out}`));
      }
    }),
  );
  return { result, ready };
}

function taylorUucico(args: string[]): Promise<void> {
  return new Promise((resolve) => execFile(UUCICO, args, () => resolve()));
}

/** "received 262144 bytes in 23.1 seconds" from a Taylor statfile. */
async function taylorSeconds(t: TaylorSite, bytes: number): Promise<number> {
  const stats = await fsp.readFile(path.join(t.root, 'stats'), 'latin1').catch(() => '');
  const m = new RegExp(`(?:sent|received) ${bytes} bytes in ([\\d.]+) seconds`).exec(stats);
  if (!m) throw new Error(`no ${bytes}-byte transfer in ${t.root}/stats:\n${stats}`);
  return Number(m[1]);
}

async function makeLink(root: string, link: Link): Promise<{ x: string; y: string; stop: () => Promise<void> }> {
  if (!link.rate) {
    const p = await ptyPair(root);
    return { x: p.a, y: p.b, stop: p.stop };
  }
  return ptyLine(root, { rate: link.rate, delayMs: link.delayMs });
}

/** One transfer of `data`: Taylor "hub" calls "leaf" (ours or Taylor's) over the link. */
async function transfer(pairing: Pairing, link: Link, p: Params, data: Buffer): Promise<Transfer> {
  const root = await tempRoot('uubench-');
  const line = await makeLink(root, link);
  try {
    const hub = await taylorSite(root, 'hub', {
      sys: `system leaf\ntime any\nport PTY\nchat "" \\r\\c ogin:-\\r\\c-ogin: \\L word: \\P\ncall-login Uhub\ncall-password pw\n${gParams(p)}`,
      port: portFile(line.x),
    });
    const leafWindow = pairing === 'Taylor → Taylor' ? p.window : (p.oursReceive ?? p.window);
    const leafSys = `system hub\ncalled-login Uhub\n${gParams({ ...p, window: leafWindow })}`;
    const file = path.join(root, 'file.bin');
    await fsp.writeFile(file, data);
    let ours: ReturnType<typeof runPeer> | undefined;
    let leafTaylor: TaylorSite | undefined;
    if (pairing === 'Taylor → Taylor') {
      leafTaylor = await taylorSite(root, 'leaf', { sys: leafSys, passwd: 'Uhub pw\n', port: portFile(line.y) });
    } else {
      const o = await ourEnv('leaf', { sys: leafSys, passwd: 'Uhub pw\n', port: portFile(line.y) });
      if (pairing === 'ours → Taylor') {
        await writeSpoolData(o.spool, 'hub', 'D.0001', data);
        await writeWorkFile(o.spool, 'hub', 'N', [{ type: 'S', from: 'D.0001', to: '~/f', user: 'u', options: 'C', temp: 'D.0001', mode: 0o644, notify: '' }]);
      }
      await fsp.rename(o.root, path.join(root, 'ours'));
      giveToUucp(root);
      ours = runPeer({ root: path.join(root, 'ours'), name: 'leaf', mode: 'answer', port: 'PTY' });
    }
    if (pairing !== 'ours → Taylor') {
      giveToUucp(root);
      const q = runTaylor(UUCP, ['-I', hub.conf, '-r', '-C', file, 'leaf!~/f']);
      if (q.status !== 0) throw new Error(`uucp: ${q.stderr}`);
    }
    giveToUucp(root);
    const answering = leafTaylor ? taylorUucico(['-I', leafTaylor.conf, '-D', '-q', '-p', 'PTY', '-l']) : ours!.result;
    // Let the answering side open its tty before Taylor calls.
    await new Promise((r) => setTimeout(r, 300));
    await taylorUucico(['-I', hub.conf, '-D', '-q', '-S', 'leaf']);
    const peer = (await answering) as PeerResult | undefined;
    if (peer && !peer.ok) throw new Error(`${pairing} ${link.name} ${p.packet}/${p.window}: ${peer.error}`);
    const received = pairing === 'ours → Taylor' ? path.join(hub.pub, 'f') : pairing === 'Taylor → ours' ? path.join(root, 'ours', 'pub', 'f') : path.join(leafTaylor!.pub, 'f');
    if (!(await fsp.readFile(received).catch(() => Buffer.alloc(0))).equals(data)) throw new Error(`${pairing} ${link.name} ${p.packet}/${p.window}: received file differs`);
    if (leafTaylor) return { seconds: await taylorSeconds(leafTaylor, data.length), senderSeconds: await taylorSeconds(hub, data.length) };
    return { seconds: await taylorSeconds(hub, data.length), ours: peer };
  } finally {
    await line.stop();
    await fsp.rm(root, { recursive: true, force: true });
  }
}

/** g framing limit with a full window: payload / (payload + 6), plus the RRs (6 bytes per packet) going the other way. */
const framing = (packet: number): number => packet / (packet + 6);

const PAIRINGS: Pairing[] = ['ours → Taylor', 'Taylor → ours', 'Taylor → Taylor'];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * One table: every pairing `reps` times (UUCP_BENCH_REPEAT, default 3 on the
 * unthrottled pty, where the shared CPU makes single runs noisy), the order of
 * the pairings reversed on every other round; medians reported.
 */
async function linkTable(link: Link, sizes: Params[], concurrent: boolean): Promise<BenchResult> {
  const data = randomBytes(link.bytes);
  const rows: Row[] = [];
  const reps = concurrent ? 1 : Math.max(1, Number(process.env.UUCP_BENCH_REPEAT ?? 3));
  for (const p of sizes) {
    // With oursReceive only our receiving differs; Taylor↔Taylor stays the reference, last.
    const pairings: Pairing[] = p.oursReceive ? ['Taylor → ours', 'Taylor → Taylor'] : PAIRINGS;
    const runs: Transfer[][] = pairings.map(() => []);
    for (let r = 0; r < reps; r++) {
      if (concurrent) {
        (await Promise.all(pairings.map((k) => transfer(k, link, p, data)))).forEach((t, i) => runs[i]!.push(t));
        continue;
      }
      const order = pairings.map((_, i) => i);
      if (r % 2) order.reverse();
      for (const i of order) runs[i]!.push(await transfer(pairings[i]!, link, p, data));
    }
    // Each pairing against Taylor↔Taylor timed at the same end (see Transfer).
    const reference = runs.at(-1)!;
    const taylorAt = (k: Pairing): number => link.bytes / median(reference.map((t) => (k === 'Taylor → ours' ? t.senderSeconds! : t.seconds)));
    pairings.forEach((k, i) => {
      const rates = runs[i]!.map((t) => link.bytes / t.seconds);
      const bps = median(rates);
      const oursAsks = p.oursReceive && k === 'Taylor → ours' ? `, ours asks ${p.oursReceive}` : '';
      const row: Row = { 'g packet/window': `${p.packet}/${p.window}${oursAsks}`, pairing: k, 'bytes/s': Math.round(bps) };
      if (reps > 1) row['range MB/s'] = `${(Math.min(...rates) / 1e6).toFixed(1)}–${(Math.max(...rates) / 1e6).toFixed(1)}`;
      if (link.rate) {
        row['% of line'] = `${((bps / link.rate) * 100).toFixed(1)}%`;
        row['g limit'] = `${(framing(p.packet) * 100).toFixed(1)}%`;
      }
      row['× Taylor↔Taylor'] = (bps / taylorAt(k)).toFixed(2);
      const ours = runs[i]!.flatMap((t) => (t.ours ? [t.ours.cpuUs] : []));
      if (ours.length) row['our CPU s'] = (median(ours) / 1e6).toFixed(2);
      rows.push(row);
    });
  }
  return {
    title: `g over ${link.name}, ${link.bytes >= MiB ? `${link.bytes / MiB} MiB` : `${link.bytes / 1024} KiB`} file (Taylor UUCP 1.07 calls; time from the Taylor end's statfile)`,
    rows,
    notes: [
      ...(reps > 1 ? [`Medians of ${reps} runs, the pairings in turn (order reversed every other round); range: slowest–fastest run.`] : []),
      ...(concurrent ? ['The three pairings ran at the same time, each on its own paced line (the CPU they need is negligible).'] : []),
      ...(link.rate ? ['g limit: payload / (payload + 6), the best a full window can do on the line.'] : []),
      "Times from the Taylor end's statfile; × Taylor↔Taylor against Taylor↔Taylor timed at the same end (its receiver for ours → Taylor, its sender, which also waits for CY, for Taylor → ours). The Taylor↔Taylor row shows its receiver's time.",
    ],
  };
}

/** Our uucico on both ends over TCP loopback, each its own process: CPU per MiB and peak RSS against file size. */
async function resources(): Promise<BenchResult> {
  const rows: Row[] = [];
  for (const p of [{ packet: 64, window: 7 }, { packet: 1024, window: 7 }]) {
    for (const size of [10 * MiB, 50 * MiB]) {
      const data = randomBytes(size);
      const port = 20000 + Math.floor(Math.random() * 20000);
      const leaf = await ourEnv('leaf', { sys: `system hub\ntime any\naddress 127.0.0.1\nport type tcp\nport service ${port}\ncall-login Uleaf\ncall-password pw\nchat ogin: \\L word: \\P\n${gParams(p)}` });
      const hub = await ourEnv('hub', { sys: `system leaf\ncalled-login Uleaf\n${gParams(p)}`, passwd: 'Uleaf pw\n' });
      await writeSpoolData(leaf.spool, 'hub', 'D.0001', data);
      await writeWorkFile(leaf.spool, 'hub', 'N', [{ type: 'S', from: 'D.0001', to: '~/f', user: 'u', options: 'C', temp: 'D.0001', mode: 0o644, notify: '' }]);
      const answer = runPeer({ root: hub.root, name: 'hub', mode: 'listen', tcp: port });
      await answer.ready;
      const call = runPeer({ root: leaf.root, name: 'leaf', mode: 'call', system: 'hub' });
      const [s, r] = await Promise.all([call.result, answer.result]);
      if (!s.ok || !r.ok) throw new Error(s.error ?? r.error);
      if (!(await fsp.readFile(path.join(hub.pub, 'f'))).equals(data)) throw new Error('received file differs');
      for (const [side, res] of [['sender', s], ['receiver', r]] as const)
        rows.push({
          'g packet/window': `${p.packet}/${p.window}`,
          file: `${size / MiB} MiB`,
          side,
          'session s': (res.ms / 1000).toFixed(2),
          'MB/s': ((size / 1e6) / (res.ms / 1000)).toFixed(1),
          'CPU s': (res.cpuUs / 1e6).toFixed(2),
          'CPU ms/MiB': Math.round(res.cpuUs / 1000 / (size / MiB)),
          'peak RSS MiB': Math.round(res.maxRssKiB / 1024),
        });
      await fsp.rm(leaf.root, { recursive: true, force: true });
      await fsp.rm(hub.root, { recursive: true, force: true });
    }
  }
  return {
    title: 'our uucico ↔ our uucico, TCP loopback, each its own process: CPU and peak RSS against file size',
    rows,
    notes: ['CPU and RSS are the whole process (Node start-up, module loading and the session included).'],
  };
}

export async function run(): Promise<BenchResult[]> {
  const missing = taylorInstalled();
  if (missing.length) throw new Error(`uucp bench: Taylor UUCP / socat missing: ${missing.join(', ')}`);
  if (process.getuid?.() !== 0) throw new Error('uucp bench: runs as root (Taylor drops to user uucp)');
  // packet/window, or packet/window:ours (the window our receiver asks for)
  const sizes = (process.env.UUCP_BENCH_G ?? '64/7,4096/3,4096/3:7').split(',').map((pw) => {
    const [packet, window, oursReceive] = pw.split(/[/:]/).map(Number);
    return { packet: packet!, window: window!, oursReceive };
  });
  const only = (process.env.UUCP_BENCH ?? 'pty,line,delay,resources,session,files').split(',');
  const out: BenchResult[] = [];
  if (only.includes('pty')) out.push(await linkTable({ name: 'a socat pty pair (unthrottled)', bytes: 10 * MiB }, sizes, false));
  if (only.includes('line')) out.push(await linkTable({ name: 'a paced 115200 bit/s line (11,520 B/s)', bytes: 256 * 1024, rate: 11_520 }, sizes, true));
  if (only.includes('delay')) out.push(await linkTable({ name: '3,600 B/s with 300 ms round trip', bytes: 32 * 1024, rate: 3_600, delayMs: 150 }, sizes, true));
  if (only.includes('resources')) out.push(await resources());
  if (only.includes('session')) out.push(await sessionBench());
  if (only.includes('files')) out.push(await filesBench());
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) for (const r of await run()) process.stdout.write(formatTable(r) + '\n');
