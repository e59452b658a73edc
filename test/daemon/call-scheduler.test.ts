// The daemon's UUCP call scheduler: work queued for a neighbour makes the daemon
// call it (our uucico --listen over TCP), the mail is delivered there, SIGTERM
// ends the daemon with no stale locks; time strings and polls decide when.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { makeSite, run, flags, maildirMessages, ROOT, UUGATE, type Site } from '../helpers/site.js';

// The SMTP listener (another service of the daemon) stays off here, where it exists.
const NO_SMTP: Record<string, string> = readFileSync(path.join(ROOT, 'src/config/mail-config.ts'), 'utf8').includes('smtp_listen:') ? { smtp_listen: '' } : {};
import { loadGateway } from '../../src/runtime/gateway.js';
import { CallScheduler } from '../../src/daemon/call-scheduler.js';
import type { Daemon } from '../../src/daemon/daemon.js';
import { readStatus } from '../../src/uucp/status.js';
import { listenTcp } from '../../src/uucp/uucico.js';
import { uucicoContext } from '../../src/inject/uucico.js';
import { writeWork } from './work.js';

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(f: () => boolean | Promise<boolean>, ms = 30_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) if (await f()) return true;
  return false;
}

function hubSite(): Site {
  const hub = makeSite({ conf: { hostnames: 'hub:hub.example.org', visible_name: 'hub.example.org', uucp_name: 'hub' } });
  writeFileSync(path.join(hub.uucp, 'sys'), 'system leaf\ncalled-login Uleaf\ncommands rmail\n');
  writeFileSync(path.join(hub.uucp, 'passwd'), 'Uleaf pw\n');
  return hub;
}

function leafSite(port: number, extraSys = 'time Any\n', conf: Record<string, string> = {}): Site {
  const leaf = makeSite({ conf: { delivery_mode: 'queued', smart_path: 'hub', ...NO_SMTP, ...conf } });
  writeFileSync(path.join(leaf.uucp, 'sys'), `system hub\n${extraSys}address 127.0.0.1\nservice ${port}\ncall-login Uleaf\ncall-password pw\nchat ogin: \\L word: \\P\ncommands rmail\n`);
  return leaf;
}

const locks = (s: Site): string[] => {
  const d = path.join(s.spool, 'uucp');
  return existsSync(d) ? readdirSync(d).filter((f) => f.startsWith('LCK..')) : [];
};

test.serial('daemon: a message for the UUCP neighbour makes it call at once; delivered there; SIGTERM leaves no locks', async (t) => {
  const port = await freePort();
  const hub = hubSite();
  const leaf = leafSite(port, 'time Any\n', { call_check_interval: '1h' });
  const hubProc = spawn(process.execPath, [UUGATE, 'uucico', '--listen', `127.0.0.1:${port}`], { env: hub.env, stdio: ['ignore', 'ignore', 'pipe'] });
  const daemon = spawn(process.execPath, [UUGATE, 'daemon'], { env: leaf.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  daemon.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => daemon.on('close', (c) => r(c)));
  try {
    t.true(await until(() => /uucp calls: /.test(err)), err);
    t.regex(err, /hub: calls allowed from now \(Any\)/, 'a start-up line per system with its next call');
    const r = await run(leaf, ['rmail', 'hub!bob'], 'From alice Fri Nov 27 12:00:00 2026\nSubject: dial\n\nover the scheduler\n');
    t.is(r.code, 0, r.stderr);
    t.true(await until(() => maildirMessages(path.join(hub.spool, 'mail/bob')).length === 1), `daemon stderr:\n${err}`);
    t.true(maildirMessages(path.join(hub.spool, 'mail/bob'))[0]!.endsWith('Subject: dial\n\nover the scheduler\n'));
    t.true(await until(async () => (await readStatus(path.join(leaf.spool, 'uucp'), 'hub'))?.code === 0));
    const st = (await readStatus(path.join(leaf.spool, 'uucp'), 'hub'))!;
    t.true(st.extra.bytesSent! > 0, 'bytes of the last session recorded');
  } finally {
    daemon.kill('SIGTERM');
    hubProc.kill('SIGTERM');
  }
  t.is(await exited, 0, err);
  t.deepEqual(locks(leaf), []);
  t.false(existsSync(path.join(leaf.spool, 'daemon.pid')));
});

/** A stand-in for the Daemon the service plugs into. */
const fakeDaemon = (gw: Daemon['gw']): Daemon => ({ gw, kick: () => undefined }) as unknown as Daemon;

test.serial('scheduler: queued work waits for the time window; a poll calls without work, then waits for the next poll', async (t) => {
  const port = await freePort();
  const hub = hubSite();
  const hubGw = await loadGateway(flags(hub));
  const sessions: boolean[] = [];
  const server = await listenTcp(await uucicoContext(hubGw, { uuxqt: true }), { port, onSession: (r) => sessions.push(r.ok) });
  // Saturday noon: Wk0800-1700 does not allow a call.
  let now = new Date(2026, 10, 28, 12, 0).getTime();
  const leaf = leafSite(port, 'time Wk0800-1700\npoll 0 13 * * *\ntimegrade C Any\n');
  const gw = await loadGateway(flags(leaf));
  await writeWork(gw, 'hub', 'bob');
  const sched = new CallScheduler({ clock: () => now, debounceMs: 10 });
  try {
    const line = await sched.start(fakeDaemon(gw));
    t.regex(line, /hub: calls allowed from 2026-11-30 08:00 \(Wk0800-1700\), next poll 2026-11-28 13:00/);
    t.regex(line, /^ *warning: \S+\/sys:4: keyword "timegrade" not supported$/m, 'configuration warnings are shown where the daemon starts');
    await sched.tick();
    t.deepEqual(sched.calling, [], 'outside the window: no call');
    // Monday 09:00: inside the window, work queued.
    now = new Date(2026, 10, 30, 9, 0).getTime();
    await sched.tick();
    t.deepEqual(sched.calling, ['hub']);
    t.true(await until(() => sched.calling.length === 0 && sessions.length === 1));
    t.true(await until(() => maildirMessages(path.join(hub.spool, 'mail/bob')).length === 1));
    // 13:00 Monday: the poll is due, nothing queued: it calls anyway.
    now = new Date(2026, 10, 30, 13, 0).getTime();
    await sched.tick();
    t.deepEqual(sched.calling, ['hub'], 'poll due');
    t.true(await until(() => sched.calling.length === 0 && sessions.length === 2));
    await sched.tick();
    t.deepEqual(sched.calling, [], 'poll done, next one tomorrow');
    const st = (await readStatus(path.join(leaf.spool, 'uucp'), 'hub'))!;
    t.is(new Date(st.extra.nextPollTime!).getDate(), 1, 'next poll Tuesday 1 December');
  } finally {
    await sched.stop();
    server.close();
  }
  t.deepEqual(locks(leaf), []);
});
