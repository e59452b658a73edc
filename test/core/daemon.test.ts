// The daemon as `npm start` runs it: delivers mail handed over by separate rmail
// processes as it arrives, refuses a second daemon, reloads on SIGHUP (keeping the
// old configuration when the new one is broken or unsafe) and exits 0 on SIGTERM.
import test from 'ava';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, writeFileSync, readFileSync, unlinkSync } from 'node:fs';
import { makeSite, run, maildirMessages, UUGATE, type Site, waitFor, flags } from '../helpers/site.js';
import { daemonPid, loadGateway } from '../../src/runtime/gateway.js';
import { writeFileAtomic } from '../../src/util/durable.js';

function startDaemon(site: Site): { child: ChildProcess; output: () => string; ready: Promise<void> } {
  const child = spawn(process.execPath, [UUGATE, 'daemon'], { env: site.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      out += d;
      if (/queue run every/.test(out)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`daemon exited ${code}: ${out}`)));
  });
  return { child, output: () => out, ready };
}


test('the daemon delivers hand-overs at once, refuses a twin, reloads on SIGHUP, exits 0 on SIGTERM', async (t) => {
  const site = makeSite({ conf: { delivery_mode: 'queued', queue_interval: '1h' } });
  const d = startDaemon(site);
  await d.ready;
  t.regex(d.output(), /spool .*spool\n/);
  t.true(existsSync(path.join(site.spool, 'daemon.pid')));

  const r = await run(site, ['rmail', 'bob'], 'From x Fri Nov 27 10:00:00 2026 remote from hub\nSubject: d\n\nx\n');
  t.is(r.code, 0, r.stderr);
  t.true(await waitFor(() => maildirMessages(path.join(site.spool, 'mail/bob')).length === 1), 'delivered without waiting for queue_interval');

  const twin = await run(site, ['daemon']);
  t.is(twin.code, 75);
  t.regex(twin.stderr, /a uugate daemon \(pid \d+\) already runs on spool/);

  // A broken configuration on SIGHUP is reported; the daemon keeps running on the old one.
  const conf = path.join(site.config, 'uugate.conf');
  const good = readFileSync(conf, 'utf8');
  writeFileSync(conf, `${good}bogus=1\n`);
  d.child.kill('SIGHUP');
  t.true(await waitFor(() => /reload failed, keeping the old configuration: .*uugate\.conf:\d+: unknown setting "bogus"/.test(d.output())));
  // A good one is taken: alice is added as a user with an mbox.
  writeFileSync(conf, good);
  writeFileSync(path.join(site.config, 'users'), 'alice mail/alice/\nbob mail/bob/\ncarol mail/carol.mbox\ndave mail/dave/\n');
  d.child.kill('SIGHUP');
  t.true(await waitFor(() => /configuration reloaded/.test(d.output())));
  const r2 = await run(site, ['rmail', 'dave'], 'From x Fri Nov 27 10:00:00 2026 remote from hub\nSubject: d2\n\nx\n');
  t.is(r2.code, 0, r2.stderr);
  t.true(await waitFor(() => maildirMessages(path.join(site.spool, 'mail/dave')).length === 1));

  const exit = new Promise<number | null>((resolve) => d.child.on('exit', (code) => resolve(code)));
  d.child.kill('SIGTERM');
  t.is(await exit, 0);
  t.false(existsSync(path.join(site.spool, 'daemon.pid')), 'pid file removed');
  const q = await run(site, ['runq']);
  t.is(q.code, 0, 'the queue is free again after SIGTERM');
});

test('the look for a daemon follows its pid file: a new daemon, a dead one, a removed file', async (t) => {
  const gw = await loadGateway(flags(makeSite()));
  const pidFile = gw.spool.pidFile;
  t.is(await daemonPid(gw), undefined, 'no pid file');
  await writeFileAtomic(pidFile, `${process.pid}\n`); // as the daemon writes it
  t.is(await daemonPid(gw), process.pid);
  await writeFileAtomic(pidFile, `${spawnSync('true').pid}\n`); // a process already gone
  t.is(await daemonPid(gw), undefined, 'a rewritten file is read again');
  const child = spawn('sleep', ['30']);
  await writeFileAtomic(pidFile, `${child.pid}\n`);
  t.is(await daemonPid(gw), child.pid);
  await new Promise((resolve) => child.on('exit', resolve).kill('SIGKILL'));
  t.is(await daemonPid(gw), undefined, 'a killed daemon leaves its pid file: the process is checked every time');
  await writeFileAtomic(pidFile, `${process.pid}\n`);
  t.is(await daemonPid(gw), process.pid);
  unlinkSync(pidFile);
  t.is(await daemonPid(gw), undefined, 'pid file removed');
});

test('an unsafe configuration: the daemon will not start on it, and a reload keeps the old one', async (t) => {
  const site = makeSite({ conf: { delivery_mode: 'queued', queue_interval: '1h' } });
  const conf = path.join(site.config, 'uugate.conf');
  chmodSync(conf, 0o666);
  // (a timeout, so that a daemon which did start on it is stopped)
  const refused = spawnSync(process.execPath, [UUGATE, 'daemon'], { env: site.env, encoding: 'utf8', timeout: 20_000 });
  t.is(refused.status, 78);
  t.true(refused.stderr.includes(`${conf}: owner/mode 0/0666 is unsafe`), refused.stderr);
  chmodSync(conf, 0o644);

  const d = startDaemon(site);
  await d.ready;
  // Others may now write uugate.conf, and aliases would send bob's mail to a program.
  const mark = path.join(site.dir, 'ran');
  writeFileSync(path.join(site.config, 'aliases'), `bob: "|/usr/bin/tee ${mark}"\n`);
  chmodSync(conf, 0o646);
  d.child.kill('SIGHUP');
  t.true(await waitFor(() => /reload failed, keeping the old configuration: .*uugate\.conf: owner\/mode 0\/0646 is unsafe/.test(d.output())), d.output());
  // The same for the routing tables and uucp/: the old queue and router stay in charge.
  chmodSync(conf, 0o644);
  chmodSync(path.join(site.config, 'aliases'), 0o666);
  d.child.kill('SIGHUP');
  t.true(await waitFor(() => /reload failed, keeping the old configuration: .*aliases: owner\/mode 0\/0666 is unsafe/.test(d.output())), d.output());
  chmodSync(path.join(site.config, 'aliases'), 0o644);
  chmodSync(path.join(site.uucp, 'sys'), 0o666);
  d.child.kill('SIGHUP');
  t.true(await waitFor(() => /reload failed, keeping the old configuration: .*uucp\/sys: owner\/mode 0\/0666 is unsafe/.test(d.output())), d.output());
  // Handed over through a copy of the (safe) configuration, bob's mail is delivered by the old configuration.
  const other = path.join(site.dir, 'config2');
  mkdirSync(other);
  for (const f of ['uugate.conf', 'users']) copyFileSync(path.join(site.config, f), path.join(other, f));
  const r = await run(site, ['rmail', 'bob'], 'From x Fri Nov 27 10:00:00 2026 remote from hub\nSubject: d\n\nx\n', { UUGATE_CONFIG: other });
  t.is(r.code, 0, r.stderr);
  t.true(await waitFor(() => maildirMessages(path.join(site.spool, 'mail/bob')).length === 1), 'still delivering, to the maildir');
  t.false(existsSync(mark), 'not through the new aliases');
  const exit = new Promise<number | null>((resolve) => d.child.on('exit', (code) => resolve(code)));
  d.child.kill('SIGTERM');
  t.is(await exit, 0);
});
