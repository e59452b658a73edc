// Our uucico as a process of its own for the UUCP bench, so that its CPU
// time and peak RSS are its own: `node dist/bench/uucp-peer.js JSON` where
// JSON is { root, mode: 'answer', port } (answer one call on a port from
// root/uucp/port, with a login prompt), { root, mode: 'listen', tcp } (answer
// one TCP call) or { root, mode: 'call', system } (call a system). The site
// is what test/helpers/taylor.ts ourEnv() makes under root. Prints one JSON
// line: the session result, CPU µs, max RSS KiB. Mode 'site-listen' ({ config,
// uucp, spool, tcp }) answers one TCP call for a whole uugate site (a
// gateway: uuxqt runs in-process after the session) and reports when the
// session ended and when uuxqt was done (epoch ms).
import net from 'node:net';
import path from 'node:path';
import { loadUucpConfig } from '../src/config/uucp/load.js';
import { openPortEntry } from '../src/uucp/port/open.js';
import { socketPort } from '../src/uucp/port/tcp.js';
import { Trace } from '../src/uucp/trace.js';
import { answerCall, callSystem, type UucicoContext } from '../src/uucp/uucico.js';
import { uucicoContext } from '../src/inject/uucico.js';
import { loadGateway } from '../src/runtime/gateway.js';

interface Args {
  root: string;
  name: string;
  mode: 'answer' | 'listen' | 'call' | 'site-listen';
  config?: string;
  uucp?: string;
  spool?: string;
  port?: string;
  tcp?: number;
  system?: string;
}

const a = JSON.parse(process.argv[2] ?? '{}') as Args;
const epoch = (): number => performance.timeOrigin + performance.now();

async function acceptOne(port: number): Promise<net.Socket> {
  const server = net.createServer().listen(port, '127.0.0.1');
  process.send?.('listening');
  const [sock] = (await new Promise((r) => server.once('connection', (s) => r([s])))) as [net.Socket];
  server.close();
  return sock; // socketPort turns Nagle off
}

if (a.mode === 'site-listen') {
  const gw = await loadGateway({ config: a.config, uucp: a.uucp, spool: a.spool });
  const ctx = await uucicoContext(gw);
  let sessionEnd = 0;
  const uuxqt = ctx.runUuxqt!;
  ctx.runUuxqt = (system) => {
    sessionEnd = epoch();
    return uuxqt(system);
  };
  const result = await answerCall(ctx, socketPort(await acceptOne(a.tcp!), 'tcp'), { prompt: true });
  const uuxqtEnd = epoch();
  const cpu = process.cpuUsage();
  process.stdout.write(JSON.stringify({ ok: result.ok, error: result.error?.message, sessionEnd: sessionEnd || uuxqtEnd, uuxqtEnd, cpuUs: cpu.user + cpu.system }) + '\n');
  process.exit(0);
}
const spool = path.join(a.root, 'spool', 'uucp');
const ctx: UucicoContext = {
  uucp: await loadUucpConfig(path.join(a.root, 'uucp')),
  localName: a.name,
  spoolDir: spool,
  lockDir: spool,
  pubdir: path.join(a.root, 'pub'),
  trace: new Trace(),
  log: () => undefined,
  timeouts: { handshakeMs: 60_000, hangupMs: 3_000 },
};
const t0 = performance.now();
let result;
if (a.mode === 'call') result = await callSystem(ctx, a.system!, { force: true });
else if (a.mode === 'answer') result = await answerCall(ctx, await openPortEntry(ctx.uucp.ports.get(a.port!)!, { lockDir: spool }), { prompt: true });
else result = await answerCall(ctx, socketPort(await acceptOne(a.tcp!), 'tcp'), { prompt: true });
const ms = performance.now() - t0;
const cpu = process.cpuUsage();
process.stdout.write(
  JSON.stringify({ ok: result.ok, error: result.error?.message, ms, cpuUs: cpu.user + cpu.system, maxRssKiB: process.resourceUsage().maxRSS, stats: result.stats }) + '\n',
);
process.exit(0);
