// The uux transport: rmail jobs in the UUCP spool, byte for byte (C., D., X.), the
// From_ line, grouping and splitting of recipients, failures (unknown neighbour,
// bad address, unwritable spool), Taylor's uustat reading the jobs, and the
// transport reached through the gateway's configuration (smart_path, rmail).
import test from 'ava';
import { promises as fsp, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { makeSite, flags, run, UUGATE, type Site } from '../helpers/site.js';
import { loadGateway, type Gateway } from '../../src/runtime/gateway.js';
import { createUuxTransport, fromLinePath, UUX_MAX_RECIPIENTS } from '../../src/deliver/uux.js';
import type { DeliveryJob } from '../../src/deliver/transport.js';
import { asctime } from '../../src/message/date.js';
import { listJobs, formatJob } from '../../src/uucp/uustat.js';
import { parseExecFile } from '../../src/uucp/spool/exec-file.js';

const MSG = 'Received: from x by leaf; Fri, 27 Nov 2026 15:00:00 +0000\nSubject: out\n\nbody $HOME `x`\nFrom the start\n';
const WHEN = Date.UTC(2026, 10, 27, 15, 46, 7);

function site(conf: Record<string, string | boolean> = {}): Site {
  const s = makeSite({ conf });
  writeFileSync(path.join(s.uucp, 'sys'), 'system hub\ncommands rmail\nalias hubby\n');
  return s;
}

const uucpSpool = (s: Site): string => path.join(s.spool, 'uucp');

function job(sender: string, rcpts: { rcpt: string; address: string; nextHop?: string }[]): DeliveryJob {
  return {
    envelope: { id: 'test-1', sender, recipients: rcpts.map((r) => r.rcpt), arrival: WHEN, origin: 'test' },
    data: Buffer.from(MSG, 'latin1'),
    recipients: rcpts.map((r) => ({ rcpt: r.rcpt, route: { transport: 'uux', nextHop: r.nextHop ?? 'hub', address: r.address, router: 'test', why: [] } })),
  };
}

async function transportFor(s: Site, max?: number): Promise<{ gw: Gateway; t: ReturnType<typeof createUuxTransport> }> {
  const gw = await loadGateway(flags(s), () => WHEN);
  return { gw, t: createUuxTransport(gw, { maxRecipients: max }) };
}

const read = (s: Site, rel: string): string => readFileSync(path.join(uucpSpool(s), rel), 'latin1');

test('one message for hub becomes one rmail job: C., D. and X. files byte for byte', async (t) => {
  const s = site();
  const { t: uux } = await transportFor(s);
  const res = await uux.deliver(job('alice@leaf.example.org', [
    { rcpt: 'zed@far.example', address: 'far.example!zed' },
    { rcpt: 'a!b!c', address: 'a!b!c' },
    { rcpt: 'odd', address: '$HOME;x|(y)' },
  ]));
  t.deepEqual(res.map((r) => [r.outcome, r.status]), [['ok', '2.0.0'], ['ok', '2.0.0'], ['ok', '2.0.0']]);
  t.regex(res[0].reason, /^queued for hub as UUCP job hub\.C0002 \(rmail far\.example!zed\)$/);
  t.deepEqual(readdirSync(path.join(uucpSpool(s), 'hub/C.')), ['C.C0002']);
  t.is(read(s, 'hub/C./C.C0002'), 'S D.0001 D.leafC0001 uucp -C D.0001 0666 \nS D.X0002 X.leafC0002 uucp -C D.X0002 0666 \n');
  t.is(read(s, 'hub/D.X/D.X0002'), 'U uucp leaf\nF D.leafC0001\nI D.leafC0001\nC rmail far.example!zed a!b!c $HOME;x|(y)\n');
  t.is(read(s, 'hub/D./D.0001'), `From alice ${asctime(new Date(WHEN))} remote from leaf\n${MSG}`);
});

test('the From_ line sender: a bang path relative to us; null sender is MAILER-DAEMON', async (t) => {
  const { cfg } = await loadGateway(flags(site()));
  t.is(fromLinePath('', cfg), 'MAILER-DAEMON');
  t.is(fromLinePath('<>', cfg), 'MAILER-DAEMON');
  t.is(fromLinePath('bob', cfg), 'bob');
  t.is(fromLinePath('bob@leaf.example.org', cfg), 'bob');
  t.is(fromLinePath('bob@LEAF', cfg), 'bob');
  t.is(fromLinePath('leaf!bob', cfg), 'bob');
  t.is(fromLinePath('user@far.example', cfg), 'far.example!user');
  t.is(fromLinePath('hub!x!user', cfg), 'hub!x!user');
  t.is(fromLinePath('@a.example,@b.example:u@c.example', cfg), 'a.example!b.example!c.example!u');
});

test(`recipients are grouped per job: at most ${UUX_MAX_RECIPIENTS} by default, split above`, async (t) => {
  const s = site();
  const { t: uux } = await transportFor(s);
  const many = Array.from({ length: 45 }, (_, i) => ({ rcpt: `u${i}@far.example`, address: `far.example!u${i}` }));
  const res = await uux.deliver(job('bob', many));
  t.true(res.every((r) => r.outcome === 'ok'));
  const jobs = (await listJobs(uucpSpool(s))).sort((a, b) => a.id.localeCompare(b.id));
  t.deepEqual(jobs.map((j) => j.description.split(' ').length - 2), [20, 20, 5]);
  t.deepEqual(jobs.flatMap((j) => j.description.split(' ').slice(2)), many.map((m) => m.address), 'every address once, in order');
  // Each job carries its own copy of the message.
  for (const f of readdirSync(path.join(uucpSpool(s), 'hub/D.'))) t.true(read(s, `hub/D./${f}`).endsWith(MSG));

  const s2 = site();
  const { t: two } = await transportFor(s2, 2);
  await two.deliver(job('bob', many.slice(0, 5)));
  t.is((await listJobs(uucpSpool(s2))).length, 3, 'maxRecipients 2: 2 + 2 + 1');
});

test('recipients for different neighbours (and aliases) go to separate spool directories', async (t) => {
  const s = site();
  writeFileSync(path.join(s.uucp, 'sys'), 'system hub\nalias hubby\n\nsystem other\n');
  const { t: uux } = await transportFor(s);
  const res = await uux.deliver(job('bob', [
    { rcpt: 'a', address: 'x!a', nextHop: 'hub' },
    { rcpt: 'b', address: 'x!b', nextHop: 'other' },
    { rcpt: 'c', address: 'x!c', nextHop: 'hubby' },
  ]));
  t.true(res.every((r) => r.outcome === 'ok'), JSON.stringify(res));
  const jobs = await listJobs(uucpSpool(s));
  t.deepEqual(jobs.map((j) => `${j.system} ${j.description}`).sort(), ['hub Executing rmail x!a', 'hub Executing rmail x!c', 'other Executing rmail x!b']);
});

test('an unknown neighbour is a permanent failure; a bad address fails alone; an unwritable spool is temporary', async (t) => {
  const s = site();
  const { t: uux } = await transportFor(s);
  const [unknown] = await uux.deliver(job('bob', [{ rcpt: 'x@y', address: 'y!x', nextHop: 'nowhere' }]));
  t.like(unknown, { outcome: 'perm', status: '5.4.4' });
  t.regex(unknown.reason, /unknown UUCP neighbour "nowhere" \(not in .*\/sys\)/);
  t.false(existsSync(path.join(uucpSpool(s), 'nowhere')));

  const res = await uux.deliver(job('bob', [
    { rcpt: 'good', address: 'x!good' },
    { rcpt: 'blank', address: 'x!a b' },
    { rcpt: 'dash', address: '-oQ/tmp' },
  ]));
  t.deepEqual(res.map((r) => `${r.rcpt} ${r.outcome}`).sort(), ['blank perm', 'dash perm', 'good ok']);
  t.is((await listJobs(uucpSpool(s)))[0].description, 'Executing rmail x!good');

  const s2 = site();
  await fsp.writeFile(uucpSpool(s2), 'in the way');
  const { t: broken } = await transportFor(s2);
  const [r] = await broken.deliver(job('bob', [{ rcpt: 'x', address: 'x!y' }]));
  t.is(r.outcome, 'temp');
  t.regex(r.reason, /cannot queue UUCP job for hub/);
});

test('Taylor uustat lists (and kills) the jobs the transport queued, as our uustat does', async (t) => {
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/uustat')) return t.pass('Taylor UUCP not available');
  const s = site();
  const { t: uux } = await transportFor(s);
  await uux.deliver(job('alice', [{ rcpt: 'a', address: 'far.example!a' }, { rcpt: 'b', address: 'x!y!b' }]));
  await uux.deliver(job('', [{ rcpt: 'c', address: 'c' }]));
  const conf = path.join(s.dir, 'taylor.conf');
  writeFileSync(conf, [
    'nodename leaf', `spool ${uucpSpool(s)}`, `pubdir ${s.dir}/pub`, `lockdir ${s.dir}/lock`, `logfile ${s.dir}/tlog`,
    `statfile ${s.dir}/tstats`, `debugfile ${s.dir}/tdebug`, `sysfile ${s.uucp}/sys`,
    ...['port', 'dial', 'call', 'passwd'].map((f) => `${f}file ${s.dir}/t${f}`), 'hdb-files false', 'v2-files false', '',
  ].join('\n'));
  await fsp.mkdir(path.join(s.dir, 'lock'));
  for (const f of ['port', 'dial', 'call', 'passwd']) writeFileSync(path.join(s.dir, `t${f}`), '');
  await fsp.chmod(s.dir, 0o755);
  execFileSync('chown', ['-R', 'uucp', s.dir]);
  const taylor = (...args: string[]): string => {
    const r = spawnSync('/usr/bin/uustat', ['-I', conf, ...args], { encoding: 'latin1' });
    if (r.status !== 0) throw new Error(`uustat ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const lines = taylor('-a').trim().split('\n').sort();
  t.is(lines.length, 2);
  t.regex(lines[0], /^hub\.C0002 hub uucp \d\d-\d\d \d\d:\d\d Executing rmail far\.example!a x!y!b \(sending \d+ bytes\)$/);
  t.regex(lines[1], /^hub\.C0004 hub uucp .* Executing rmail c /);
  t.deepEqual((await listJobs(uucpSpool(s))).map(formatJob).sort(), lines, 'our uustat library prints the same lines');
  const ours = await run(s, ['uustat', '-a']);
  t.deepEqual(ours.stdout.trim().split('\n').sort(), lines, 'and so does `uugate uustat -a`');
  taylor('-k', 'hub.C0004');
  t.is((await listJobs(uucpSpool(s))).length, 1, 'Taylor can kill our job');
});

test('through the gateway: smart_path=hub routes rmail input to the uux transport (flags only, no environment)', async (t) => {
  const s = site({ smart_path: 'hub', smart_transport: 'uux' });
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  const r = spawnSync(process.execPath, [UUGATE, 'rmail', '--config', s.config, '--uucp', s.uucp, `--spool=${s.spool}`, 'zed@far.example'], {
    input: `From carol Thu Nov 26 10:00:00 2026 remote from hub\n${MSG}`,
    env,
    encoding: 'latin1',
  });
  t.is(r.status, 0, r.stderr);
  const jobs = await listJobs(uucpSpool(s));
  t.is(jobs.length, 1);
  t.is(jobs[0].description, 'Executing rmail far.example!zed');
  const x = parseExecFile(read(s, `hub/D.X/${jobs[0].commands[1].from}`));
  const data = read(s, `hub/D./${x.stdin!.replace(/^D\.leafC/, 'D.')}`);
  t.regex(data, /^From hub!carol \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} remote from leaf\nReceived: from hub\n/);
  t.true(data.endsWith(MSG));
  t.is(data.match(/^From /gm)?.length, 2, 'exactly one From_ line (plus the body line "From the start")');
});
