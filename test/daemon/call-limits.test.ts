// The call scheduler's limits and its shutdown: `max_calls`, one call per port
// at a time (two systems sharing a port are called one after the other), and
// SIGTERM during a call in progress: no new calls, the call keeps its LCK
// files while it finishes (or until its line is cut), the job stays queued
// when it was cut, no lock remains, the daemon exits 0.
//
// The neighbours are our own TCP listeners behind a paced line
// (test/helpers/line-cutter.ts), so a call lasts a second or more.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadGateway } from '../../src/runtime/gateway.js';
import { CallScheduler } from '../../src/daemon/call-scheduler.js';
import type { Daemon } from '../../src/daemon/daemon.js';
import { listPendingWork } from '../../src/uucp/spool/work-file.js';
import { queueSend } from '../helpers/uucp-work.js';
import { readStatus } from '../../src/uucp/status.js';
import { listenTcp } from '../../src/uucp/uucico.js';
import { uucicoContext } from '../../src/inject/uucico.js';
import { makeSite, flags, freePort, maildirMessages, run, UUGATE, type Site } from '../helpers/site.js';
import { startLineCutter, type LineCutter } from '../helpers/line-cutter.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(f: () => boolean | Promise<boolean>, ms = 30_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(25)) if (await f()) return true;
  return false;
}
const fakeDaemon = (gw: Daemon['gw']): Daemon => ({ gw, kick: () => undefined }) as unknown as Daemon;
const locks = (s: Site): string[] => {
  const d = path.join(s.spool, 'uucp');
  return existsSync(d) ? readdirSync(d).filter((f) => f.startsWith('LCK..')) : [];
};
const LOGIN = 'call-login Uleaf\ncall-password pw\nchat ogin: \\L word: \\P\n';

/** A neighbour answering over TCP (`listen`: its listener's port). */
async function neighbour(name: string): Promise<{ site: Site; port: number; close: () => void; sessions: boolean[] }> {
  const site = makeSite({ conf: { hostnames: `${name}:${name}.example.org`, visible_name: `${name}.example.org`, uucp_name: name } });
  writeFileSync(path.join(site.uucp, 'sys'), 'system leaf\ncalled-login Uleaf\ncommands rmail\n');
  writeFileSync(path.join(site.uucp, 'passwd'), 'Uleaf pw\n');
  const port = await freePort();
  const sessions: boolean[] = [];
  const server = await listenTcp(await uucicoContext(await loadGateway(flags(site))), { port, onSession: (r) => sessions.push(r.ok) });
  return { site, port, sessions, close: () => server.close() };
}

/** A neighbour behind its own line paced at `rate` bytes/s. */
async function pacedNeighbour(name: string, rate: number): Promise<{ site: Site; line: LineCutter; close: () => Promise<void>; sessions: boolean[] }> {
  const n = await neighbour(name);
  const line = await startLineCutter({ target: { port: n.port }, rate });
  return { ...n, line, close: async () => { n.close(); await line.stop(); } };
}

async function queueFile(leaf: Site, sys: string, bytes: number): Promise<void> {
  const spool = path.join(leaf.spool, 'uucp');
  await queueSend(spool, sys, 'D.0001', Buffer.alloc(bytes, 0x61), '~/f.bin');
}

/** Samples which calls run together until all are done. */
async function watchCalls(sched: CallScheduler, expected: number, sessions: () => number): Promise<string[][]> {
  const seen: string[][] = [];
  await until(() => {
    const now = [...sched.calling].sort();
    const last = seen[seen.length - 1];
    if (now.length && (!last || last.join() !== now.join())) seen.push(now);
    return sessions() >= expected && now.length === 0;
  }, 40_000);
  return seen;
}

for (const maxCalls of [2, 1]) {
  test.serial(`scheduler: max_calls=${maxCalls}; hub1 and hub2 share a port and are called one after the other`, async (t) => {
    const hubs = await Promise.all(['hub1', 'hub2', 'hub3'].map((n) => neighbour(n)));
    // One line (port "shared") reaching hub1 on the first call and hub2 on the second, as a
    // modem dials two numbers; hub3 has a line of its own. Both paced: a call lasts about a second.
    const shared = await startLineCutter({ target: (n) => ({ port: hubs[n === 0 ? 0 : 1]!.port }), rate: 40_000 });
    const own = await startLineCutter({ target: { port: hubs[2]!.port }, rate: 40_000 });
    const leaf = makeSite({ conf: { delivery_mode: 'queued', max_calls: String(maxCalls), call_check_interval: '1h' } });
    writeFileSync(path.join(leaf.uucp, 'port'), `port shared\ntype tcp\nservice ${shared.port}\n`);
    writeFileSync(path.join(leaf.uucp, 'sys'), [
      `system hub1\ntime any\nport shared\naddress 127.0.0.1\n${LOGIN}`,
      `system hub2\ntime any\nport shared\naddress 127.0.0.1\n${LOGIN}`,
      `system hub3\ntime any\naddress 127.0.0.1\nport type tcp\nport service ${own.port}\n${LOGIN}`,
    ].join('\n'));
    for (const h of ['hub1', 'hub2', 'hub3']) await queueFile(leaf, h, 40_000);
    const gw = await loadGateway(flags(leaf));
    const sched = new CallScheduler({ debounceMs: 10 });
    try {
      await sched.start(fakeDaemon(gw));
      const seen = await watchCalls(sched, 3, () => hubs.reduce((n, h) => n + h.sessions.length, 0));
      t.true(seen.every((s) => s.length <= maxCalls), `never more than ${maxCalls}: ${JSON.stringify(seen)}`);
      t.false(seen.some((s) => s.includes('hub1') && s.includes('hub2')), `hub1 and hub2 never together: ${JSON.stringify(seen)}`);
      if (maxCalls === 2) t.true(seen.some((s) => s.length === 2), `two calls ran at once: ${JSON.stringify(seen)}`);
      for (const h of hubs) t.deepEqual(h.sessions, [true]);
      t.is(shared.connections.length, 2);
      for (const h of ['hub1', 'hub2', 'hub3']) t.deepEqual(await listPendingWork(path.join(leaf.spool, 'uucp'), h), [], `${h} done`);
      t.deepEqual(locks(leaf), []);
    } finally {
      await sched.stop();
      for (const h of hubs) h.close();
      await shared.stop();
      await own.stop();
    }
  });
}

test.serial('scheduler: SIGTERM during a call: the call keeps its locks in the grace period, is cut after it, the job stays queued, no new calls', async (t) => {
  const hub = await pacedNeighbour('hub', 20_000);
  const other = await pacedNeighbour('other', 20_000);
  const leaf = makeSite({ conf: { delivery_mode: 'queued', max_calls: '1', call_check_interval: '1h' } });
  writeFileSync(path.join(leaf.uucp, 'sys'), [
    `system hub\ntime any\naddress 127.0.0.1\nport type tcp\nport service ${hub.line.port}\n${LOGIN}`,
    `system other\ntime any\naddress 127.0.0.1\nport type tcp\nport service ${other.line.port}\n${LOGIN}`,
  ].join('\n'));
  await queueFile(leaf, 'hub', 400_000); // 20 s on this line: still running when the grace ends
  const gw = await loadGateway(flags(leaf));
  const sched = new CallScheduler({ debounceMs: 10, stopGraceMs: 1500 });
  try {
    await sched.start(fakeDaemon(gw));
    t.true(await until(() => sched.calling.includes('hub') && hub.line.connections.length === 1 && hub.line.connections[0]!.up > 20_000));
    t.true(locks(leaf).includes('LCK..hub'));
    // The daemon's SIGTERM: lock.ts must not pull the LCK files from under the call.
    process.kill(process.pid, 'SIGTERM');
    await sleep(200);
    const stopping = sched.stop();
    await queueFile(leaf, 'other', 1000); // work arriving during shutdown: no call
    await sleep(500);
    t.true(locks(leaf).includes('LCK..hub'), `the call in its grace period still holds its lock: ${locks(leaf).join(' ')}`);
    await stopping;
    t.deepEqual(sched.calling, []);
    t.deepEqual(locks(leaf), [], 'no LCK files left');
    t.is((await listPendingWork(path.join(leaf.spool, 'uucp'), 'hub')).length, 1, 'the cut job stays queued');
    t.regex((await readStatus(path.join(leaf.spool, 'uucp'), 'hub'))!.text, /failed|aborted/i);
    t.is(other.line.connections.length, 0, 'no call started after SIGTERM');
  } finally {
    await hub.close();
    await other.close();
  }
});

test.serial('daemon: SIGTERM during a call: the call finishes within the grace period with its locks, mail delivered, exit 0, no locks left', async (t) => {
  const hub = await pacedNeighbour('hub', 25_000);
  const leaf = makeSite({ conf: { delivery_mode: 'queued', smart_path: 'hub', call_check_interval: '1h' } });
  writeFileSync(path.join(leaf.uucp, 'sys'), `system hub\ntime any\naddress 127.0.0.1\nport type tcp\nport service ${hub.line.port}\n${LOGIN}commands rmail\n`);
  const daemon = spawn(process.execPath, [UUGATE, 'daemon'], { env: { ...leaf.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  daemon.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => daemon.on('close', (c) => r(c)));
  try {
    t.true(await until(() => /uucp calls: /.test(err)), err);
    const body = `From alice Fri Nov 27 12:00:00 2026\nSubject: long\n\n${'x'.repeat(70)}\n`.repeat(1).concat(`${'y'.repeat(79)}\n`.repeat(1000));
    t.is((await run(leaf, ['rmail', 'hub!bob'], body)).code, 0);
    t.true(await until(() => hub.line.connections.length === 1 && hub.line.connections[0]!.up > 10_000), err);
    daemon.kill('SIGTERM');
    await sleep(300);
    t.true(locks(leaf).includes('LCK..hub'), `lock kept during the grace period: ${locks(leaf).join(' ')}\n${err}`);
    t.is(await exited, 0, err);
    t.deepEqual(locks(leaf), []);
    t.true(await until(() => maildirMessages(path.join(hub.site.spool, 'mail/bob')).length === 1), 'the call finished and the mail arrived');
    t.true(await until(() => hub.sessions.length > 0), 'the hub saw the session end');
    t.deepEqual(hub.sessions, [true]);
    t.deepEqual(await listPendingWork(path.join(leaf.spool, 'uucp'), 'hub'), []);
  } finally {
    if (daemon.exitCode === null) daemon.kill('SIGKILL');
    await hub.close();
  }
});
