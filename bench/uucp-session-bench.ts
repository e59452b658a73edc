// UUCP session throughput: two of our uucico sessions over a loopback TCP
// socket pair, one 10 MiB file (S command, spool copy), received file
// compared. Reference (shared/README): Taylor against itself on TCP loopback,
// g 7/64 ≈ 8.6 MB/s, 7/1024 ≈ 41.8 MB/s.
// Run directly: `node dist/bench/uucp-session-bench.js`; `npm run bench uucp` includes it.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { runCalledSession, runCallerSession } from '../src/uucp/session.js';
import { LineReader } from '../src/uucp/session-io.js';
import { writeSpoolData, writeWorkFile } from '../src/uucp/spool/work-file.js';
import { ourEnv } from '../test/helpers/taylor.js';
import { formatTable, type BenchResult } from './table.js';

const SIZE = 10 * 1024 * 1024;

async function socketPair(): Promise<[net.Socket, net.Socket, () => void]> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [[other]] = (await Promise.all([once(server, 'connection'), once(client, 'connect')])) as [[net.Socket], unknown];
  client.setNoDelay(true);
  other.setNoDelay(true);
  return [client, other, () => server.close()];
}

async function one(packetSize: number, window: number, data: Buffer): Promise<number> {
  const g = `protocol-parameter g packet-size ${packetSize}\nprotocol-parameter g window ${window}\n`;
  const leaf = await ourEnv('leaf', { sys: `system hub\ntime any\n${g}` });
  const hub = await ourEnv('hub', { sys: `system leaf\n${g}` });
  await writeSpoolData(leaf.spool, 'hub', 'D.0001', data);
  await writeWorkFile(leaf.spool, 'hub', 'N', [{ type: 'S', from: 'D.0001', to: '~/f', user: 'u', options: 'C', temp: 'D.0001', mode: 0o644, notify: '' }]);
  const [a, b, close] = await socketPair();
  const t0 = performance.now();
  const [m, s] = await Promise.all([runCallerSession(new LineReader(a), leaf.env.uucp.findSystem('hub')!, leaf.env), runCalledSession(new LineReader(b), hub.env)]);
  const ms = performance.now() - t0;
  a.destroy();
  b.destroy();
  close();
  if (!m.ok || !s.ok) throw new Error(m.error?.message ?? s.error?.message);
  if (!(await fsp.readFile(path.join(hub.pub, 'f'))).equals(data)) throw new Error('received file differs');
  return ms;
}

export async function run(): Promise<BenchResult> {
  const data = randomBytes(SIZE);
  const rows = [];
  for (const [size, window] of [[64, 7], [1024, 7], [4096, 3]] as const) {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) times.push(await one(size, window, data));
    times.sort((x, y) => x - y);
    rows.push({ 'g packet/window': `${size}/${window}`, 'median s': times[1]! / 1000, 'MB/s': SIZE / 1e6 / (times[1]! / 1000) });
  }
  return { title: 'uucico ↔ uucico, 10 MiB over TCP loopback (whole session, file compared)', rows, notes: ['Taylor ↔ Taylor on the same link: 8.6 MB/s at 64/7, 41.8 MB/s at 1024/7 (shared/README).'] };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.stdout.write(formatTable(await run()));
