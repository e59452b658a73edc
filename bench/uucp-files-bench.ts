// Many small files over TCP loopback, as mail traffic is (a D. and an X. file
// per message): 40 files of 0–3 KiB queued each way, one call moves them all
// (role reversal), compared with Taylor ↔ Taylor on the same link. Over TCP
// each file is a few short exchanges, so what counts is how soon each packet
// leaves: a socket with Nagle on holds a packet behind an unacked one until the
// peer's delayed ACK (40 ms). Taylor answers a call through socat (its `uucico
// -l` on a socket pair), as the interop tests run it; a Taylor caller uses its
// own tcp port. Timed: the calling side's whole call (Taylor's: its process).
// Needs root (Taylor drops to user uucp), Taylor's uucico and socat.
// Run: `node dist/bench/uucp-files-bench.js`, or `npm run bench uucp` (section files).
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { callSystem, listenTcp } from '../src/uucp/uucico.js';
import { queueSend } from '../test/helpers/uucp-work.js';
import { freePort } from '../test/helpers/site.js';
import { UUCICO, UUCP, giveToUucp, ourUucico, runTaylor, spawnTaylor, taylorListens, taylorSite, tempRoot, uucpSpool, type TaylorSite } from '../test/helpers/taylor.js';
import type { BenchResult, Row } from './table.js';

const FILES = 40;
type Pairing = 'Taylor calls ours' | 'ours calls Taylor' | 'Taylor calls Taylor';

const PAIRINGS: Pairing[] = ['Taylor calls Taylor', 'Taylor calls ours', 'ours calls Taylor'];
const LOGIN = 'chat ogin: \\L word: \\P\n';

/** Taylor's hub: it calls leaf on its tcp port, or answers leaf (login Uleaf). */
const hubFiles = (calls: boolean, port: number, proto: string): { sys: string; port?: string; passwd?: string } =>
  calls
    ? { sys: `system leaf\ntime any\nport TCPLEAF\naddress 127.0.0.1\ncall-login Uhub\ncall-password pw\n${LOGIN}${proto}`, port: `port TCPLEAF\ntype tcp\nservice ${port}\n` }
    : { sys: `system leaf\ncalled-login Uleaf\n${proto}`, passwd: 'Uleaf secret\n' };

/** FILES random files of 0–3 KiB written under `dir`; their paths. */
async function someFiles(dir: string, tag: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < FILES; i++) {
    const f = path.join(dir, `${tag}${i}`);
    await fsp.writeFile(f, randomBytes((i * 761) % 3072));
    out.push(f);
  }
  return out;
}

/** Taylor's `uucp` queues each file for `to` on site `t`. */
function taylorQueues(t: TaylorSite, files: string[], to: string): void {
  for (const f of files) {
    const q = runTaylor(UUCP, ['-I', t.conf, '-r', '-C', f, `${to}!~/${path.basename(f)}`]);
    if (q.status !== 0) throw new Error(`uucp: ${q.stderr}`);
  }
}

async function countIn(dir: string): Promise<number> {
  return (await fsp.readdir(dir)).length;
}

/** One call moving FILES files each way; seconds of the calling side. */
async function oneCall(pairing: Pairing, proto: string): Promise<number> {
  const root = await tempRoot('uufiles-');
  const port = await freePort();
  const src = path.join(root, 'src');
  await fsp.mkdir(src);
  const toLeaf = await someFiles(src, 'a');
  const toHub = await someFiles(src, 'b');
  const hub = await taylorSite(root, 'hub', hubFiles(pairing !== 'ours calls Taylor', port, proto));
  let seconds: number;
  let leafPub: string;
  if (pairing === 'Taylor calls Taylor') {
    const leaf = await taylorSite(root, 'leaf', { sys: `system hub\ncalled-login Uhub\n${proto}`, passwd: 'Uhub pw\n' });
    giveToUucp(root);
    taylorQueues(hub, toLeaf, 'leaf');
    taylorQueues(leaf, toHub, 'hub');
    const answering = await taylorListens(leaf, port);
    const t0 = performance.now();
    if ((await spawnTaylor(UUCICO, ['-I', hub.conf, '-D', '-q', '-S', 'leaf']).done) !== 0) throw new Error('Taylor → Taylor: the call failed');
    seconds = (performance.now() - t0) / 1000;
    await answering.done;
    leafPub = leaf.pub;
  } else {
    const taylorCalls = pairing === 'Taylor calls ours';
    const sys = taylorCalls
      ? `system hub\ncalled-login Uhub\n${proto}`
      : `system hub\ntime any\naddress 127.0.0.1\nport type tcp\nport service ${port}\ncall-login Uleaf\ncall-password secret\n${LOGIN}${proto}`;
    const { site, ctx } = await ourUucico(sys, { passwd: 'Uhub pw\n' });
    for (const [i, f] of toHub.entries()) await queueSend(uucpSpool(site), 'hub', `D.${String(i).padStart(4, '0')}`, await fsp.readFile(f), `~/${path.basename(f)}`);
    giveToUucp(root);
    taylorQueues(hub, toLeaf, 'leaf');
    const t0 = performance.now();
    if (taylorCalls) {
      const server = await listenTcp(ctx, { port });
      const code = await spawnTaylor(UUCICO, ['-I', hub.conf, '-D', '-q', '-S', 'leaf']).done;
      seconds = (performance.now() - t0) / 1000;
      server.close();
      if (code !== 0) throw new Error('Taylor → ours: the call failed');
    } else {
      const answering = await taylorListens(hub, port);
      const t1 = performance.now();
      const r = await callSystem(ctx, 'hub');
      seconds = (performance.now() - t1) / 1000;
      await answering.done;
      if (!r.ok) throw new Error(`ours → Taylor: ${r.error?.message}`);
    }
    leafPub = path.join(site.spool, 'uucppublic');
  }
  const [got, sent] = [await countIn(leafPub), await countIn(hub.pub)];
  if (got !== FILES || sent !== FILES) throw new Error(`${pairing}: ${got} and ${sent} of ${FILES} files arrived`);
  await fsp.rm(root, { recursive: true, force: true });
  return seconds;
}

export async function run(): Promise<BenchResult> {
  const rows: Row[] = [];
  for (const [name, proto] of [['g 64/7', 'protocol g\n'], ['i 1024/16', 'protocol i\n']] as const) {
    const median: Partial<Record<Pairing, number>> = {};
    for (const pairing of PAIRINGS) {
      const times = [await oneCall(pairing, proto), await oneCall(pairing, proto), await oneCall(pairing, proto)].sort((a, b) => a - b);
      median[pairing] = times[1]!;
    }
    const ref = median['Taylor calls Taylor']!;
    for (const pairing of PAIRINGS) {
      const s = median[pairing]!;
      rows.push({ protocol: name, pairing, 'median s': s, 'files/s': (2 * FILES) / s, 'vs Taylor↔Taylor': ref / s });
    }
  }
  return {
    title: `${FILES} small files each way in one call over TCP loopback (medians of 3)`,
    rows,
    notes: ['Higher is better in "vs Taylor↔Taylor" (Taylor↔Taylor\'s time over ours).'],
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.stdout.write((await import('./table.js')).formatTable(await run()));
