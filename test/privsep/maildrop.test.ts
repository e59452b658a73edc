// Privilege separation for real (docs/privileges.md), with throwaway accounts:
// a daemon started by root binds a privileged port and then runs as the gateway
// user; local users' sendmail goes through the maildrop, their identity taken
// from the file's owner, -f honoured only for trusted users; what is not a drop
// is moved aside; users cannot read the queue, mailboxes or each other's drops.
import test from 'ava';
import net from 'node:net';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { makeSite, maildirMessages, waitFor, type Site } from '../helpers/site.js';
import { addAccount, isRoot, openUp, procUids, programFor, removeAccount, runAs, runReadable, type TestAccount } from '../helpers/accounts.js';
import { dropHead, dropTrailer } from '../../src/inject/maildrop-format.js';

const skip = !isRoot();
if (skip) console.log('test/privsep: skipped, needs root to create accounts and change uids');
const maybe = skip ? test.skip : test.serial;

let gwUser: TestAccount, alice: TestAccount, bob: TestAccount, boss: TestAccount;
let site: Site;
let port: number;

/** A port below 1024 nobody listens on (root may bind it; the gateway user could not). */
async function privilegedPort(): Promise<number> {
  for (let p = 700; p < 1000; p++) {
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer().once('error', () => resolve(false)).listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return p;
  }
  throw new Error('no free port below 1024');
}

test.before(async () => {
  if (skip) return;
  gwUser = addAccount('uugw', { system: true });
  alice = addAccount('uua');
  bob = addAccount('uub');
  boss = addAccount('uut');
  port = await privilegedPort();
  site = makeSite({
    conf: { gateway_user: gwUser.name, trusted_users: boss.name, delivery_mode: 'queued', queue_interval: '1h', smtp_listen: `127.0.0.1:${port}`, smtp_greeting_delay: '0' },
    users: 'alice mail/alice/\nbob mail/bob/\n',
  });
  // Configuration is root's and readable by all, as installed; the users reach the maildrop through the spool.
  for (const d of [site.dir, site.config, site.uucp]) openUp(d);
});

test.after.always(() => {
  if (skip) return;
  for (const a of [gwUser, alice, bob, boss]) if (a) removeAccount(a);
});

// Root's commands run from a package the gateway user can read (a copy when the checkout is closed to others).
const run = (s: Site, args: string[], input?: string) => runReadable(gwUser, s, args, input);

function startDaemon(t: { teardown(fn: () => void): void }, s: Site): { child: ChildProcess; output: () => string; ready: Promise<void> } {
  const child = spawn(process.execPath, [programFor(gwUser), 'daemon'], { env: s.env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      out += d;
      if (/picking up/.test(out)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`daemon exited ${code}: ${out}`)));
  });
  return { child, output: () => out, ready };
}

async function stopDaemon(d: { child: ChildProcess }): Promise<number | null> {
  d.child.kill('SIGTERM');
  return new Promise((resolve) => d.child.once('exit', (code) => resolve(code)));
}

const sendmailAs = (a: TestAccount, args: string[], msg: string, env: NodeJS.ProcessEnv = {}) =>
  runAs(a, process.execPath, [programFor(a), 'sendmail', ...args], msg, { UUGATE_CONFIG: site.config, UUGATE_UUCP: site.uucp, UUGATE_SPOOL: site.spool, ...env });

const mailbox = (name: string): string => path.join(site.spool, 'mail', name);
const drops = (): string[] => readdirSync(path.join(site.spool, 'maildrop')).filter((n) => n !== 'pickup.pid' && !n.startsWith('.'));

maybe('root without gateway_user (a checkout\'s npm start): the daemon runs, as root, and says so', (t) => {
  const s = makeSite({ conf: { gateway_user: '', smtp_listen: '' } });
  const r = spawnSync(process.execPath, [programFor(gwUser), 'daemon'], { env: s.env, encoding: 'utf8', timeout: 8_000 });
  t.regex(r.stderr, /warning: gateway_user is not set: messages are handled as root/, r.stderr);
});

maybe('a drop written with no daemon waits, says so, is not readable by another user, and is picked up at start-up', async (t) => {
  // The daemon has never run: the spool is made here as an install would (the daemon fixes the modes).
  const first = startDaemon(t, site);
  await first.ready;
  t.is(await stopDaemon(first), 0);

  const r = await sendmailAs(alice, ['alice'], 'Subject: waiting\n\nwaited for the daemon\n');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /no uugate daemon is running to pick the message up; it waits in .*maildrop/);
  const [name] = drops();
  t.truthy(name, 'the drop is in the maildrop');
  const drop = path.join(site.spool, 'maildrop', name);
  t.is(statSync(drop).uid, alice.uid);
  const peek = await runAs(bob, 'cat', [drop]);
  t.not(peek.code, 0, 'bob cannot read alice\'s drop');
  const list = await runAs(bob, 'ls', [path.join(site.spool, 'maildrop')]);
  t.not(list.code, 0, 'nobody lists the maildrop');

  const d = startDaemon(t, site);
  await d.ready;
  t.true(await waitFor(() => drops().length === 0), 'picked up at start-up');
  t.true(await waitFor(() => maildirMessages(mailbox('alice')).length === 1), 'and delivered');
  const [msg] = maildirMessages(mailbox('alice'));
  t.regex(msg, new RegExp(`^Return-Path: <${alice.name}@leaf.example.org>`));
  t.regex(msg, /waited for the daemon/);
  t.is(await stopDaemon(d), 0);
});

maybe('a root-started daemon runs as the gateway user; -f is honoured for trusted users only; users cannot read the queue or mailboxes', async (t) => {
  const d = startDaemon(t, site);
  await d.ready;
  t.regex(d.output(), new RegExp(`running as ${gwUser.name} \\(uid ${gwUser.uid}`));
  t.deepEqual(procUids(d.child.pid!), [gwUser.uid, gwUser.uid, gwUser.uid, gwUser.uid], 'real, effective, saved and fs uid');
  // It bound the privileged port before giving root up.
  const greeting = await new Promise<string>((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('data', (b) => {
      resolve(b.toString());
      c.destroy();
    });
    c.once('error', reject);
  });
  t.regex(greeting, /^220 /);

  // An ordinary user forges -f (and USER): the sender is still their own, and the attempt is recorded.
  const forged = await sendmailAs(alice, ['-f', 'president@example.gov', 'bob'], 'Subject: forged\n\nhello\n', { USER: 'root', LOGNAME: 'root' });
  t.is(forged.code, 0, forged.stderr);
  t.is(forged.stderr, '', 'the daemon runs: nothing to say');
  // A trusted user may set the envelope sender.
  const trusted = await sendmailAs(boss, ['-f', 'list-owner@example.org', 'bob'], 'Subject: trusted\n\nhello\n');
  t.is(trusted.code, 0, trusted.stderr);
  t.true(await waitFor(() => drops().length === 0));
  t.true(await waitFor(() => maildirMessages(mailbox('bob')).length === 2), 'delivered by the daemon');
  const got = maildirMessages(mailbox('bob'));
  t.is(got.length, 2);
  const fromAlice = got.find((m) => m.includes('Subject: forged'))!;
  t.regex(fromAlice, new RegExp(`^Return-Path: <${alice.name}@leaf.example.org>`));
  t.true(fromAlice.includes(`X-Authentication-Warning: leaf: ${alice.name} set sender to president@example.gov using -f`), fromAlice);
  t.true(fromAlice.includes(`From: <${alice.name}@leaf.example.org>`));
  const fromBoss = got.find((m) => m.includes('Subject: trusted'))!;
  t.regex(fromBoss, /^Return-Path: <list-owner@example.org>/);
  t.false(fromBoss.includes('X-Authentication-Warning'));

  // Everything in the spool is the gateway user's, files 0600 and directories 0700.
  const newDir = path.join(mailbox('bob'), 'new');
  for (const f of readdirSync(newDir)) {
    const st = statSync(path.join(newDir, f));
    t.is(st.uid, gwUser.uid);
    t.is(st.mode & 0o777, 0o600);
  }
  for (const dir of ['queue', 'msglog', 'incoming', 'mail', 'mail/bob', 'db', 'uucp', 'log', 'tmp', 'maildrop-rejected']) {
    const st = statSync(path.join(site.spool, dir));
    t.is(st.uid, gwUser.uid, dir);
    t.is(st.mode & 0o777, 0o700, dir);
  }
  for (const probe of [['ls', path.join(site.spool, 'queue')], ['cat', path.join(newDir, readdirSync(newDir)[0])], ['ls', mailbox('alice')]]) {
    const r = await runAs(alice, probe[0], probe.slice(1));
    t.not(r.code, 0, `${probe.join(' ')} as an ordinary user`);
  }
  const mailq = await runAs(alice, process.execPath, [programFor(alice), 'mailq'], undefined, { UUGATE_CONFIG: site.config, UUGATE_SPOOL: site.spool });
  t.is(mailq.code, 77, mailq.stderr);
  t.regex(mailq.stderr, new RegExp(`only root and gateway_user \\(${gwUser.name}\\) may use the spool`));
  t.is(await stopDaemon(d), 0);
});

maybe('rmail through the maildrop: From_ lines name the sender only for a trusted user', async (t) => {
  const d = startDaemon(t, site);
  await d.ready;
  const before = maildirMessages(mailbox('alice')).length;
  const env = { UUGATE_CONFIG: site.config, UUGATE_UUCP: site.uucp, UUGATE_SPOOL: site.spool };
  const from = 'From president Fri Nov 27 10:00:00 2026 remote from evil\n';
  for (const [who, subject] of [[bob, 'rmail untrusted'], [boss, 'rmail trusted']] as const) {
    const r = await runAs(who, process.execPath, [programFor(who), 'rmail', 'alice'], `${from}Subject: ${subject}\n\nx\n`, env);
    t.is(r.code, 0, r.stderr);
  }
  t.true(await waitFor(() => maildirMessages(mailbox('alice')).length === before + 2));
  const got = maildirMessages(mailbox('alice'));
  const untrusted = got.find((m) => m.includes('Subject: rmail untrusted'))!;
  t.regex(untrusted, new RegExp(`^Return-Path: <${bob.name}@leaf.example.org>`));
  t.true(untrusted.includes(`X-Authentication-Warning: leaf: ${bob.name} set sender to evil!president`), untrusted);
  t.regex(got.find((m) => m.includes('Subject: rmail trusted'))!, /^Return-Path: <evil!president>/);
  t.is(await stopDaemon(d), 0);
});

maybe('a drop refused for good at pickup comes back as a bounce', async (t) => {
  const d = startDaemon(t, site);
  await d.ready;
  const r = await sendmailAs(alice, ['nosuchuser'], 'Subject: to nobody\n\nx\n');
  t.is(r.code, 0, r.stderr);
  // The bounce goes to alice's account; it has no mailbox here, so it reaches the postmaster (alice's mailbox).
  t.true(await waitFor(() => maildirMessages(mailbox('alice')).some((m) => m.includes('nosuchuser') && m.includes('Subject: to nobody'))), d.output());
  t.deepEqual(drops(), []);
  t.is(await stopDaemon(d), 0);
});

maybe('what is not a drop is moved aside and never followed or delivered', async (t) => {
  const d = startDaemon(t, site);
  await d.ready;
  const md = path.join(site.spool, 'maildrop');
  const rejected = path.join(site.spool, 'maildrop-rejected');
  const earlier = new Set(readdirSync(rejected)); // drops refused by the tests before
  const before = maildirMessages(mailbox('bob')).length;
  const head = dropHead({ command: 'sendmail', recipients: ['bob'] }).toString();
  const body = 'Subject: sneaky\n\nx\n';
  const sh = (a: TestAccount, script: string) => runAs(a, 'sh', ['-c', script], undefined, { MD: md });
  t.is((await sh(alice, 'ln -s /etc/shadow "$MD/link"')).code, 0);
  t.is((await sh(alice, 'mkfifo "$MD/fifo"')).code, 0);
  t.is((await sh(alice, 'mkdir "$MD/dir"')).code, 0);
  // A drop cut short: the header line, part of the message, no end marker.
  // (each written under a dot name, which the pickup skips, and renamed in whole)
  t.is((await sh(alice, `umask 027; printf '%s' '${head}Subject: cut' > "$MD/.cut"; mv "$MD/.cut" "$MD/cut"`)).code, 0);
  // A drop whose end marker counts more than is there.
  t.is((await sh(alice, `umask 027; printf '%s' '${head}${body}' > "$MD/.short"; printf '\\nuugate-end 999\\n' >> "$MD/.short"; mv "$MD/.short" "$MD/short"`)).code, 0);
  // A well-formed drop, but made by root: root never uses the maildrop.
  writeFileSync(path.join(md, 'rootfile'), Buffer.concat([dropHead({ command: 'sendmail', recipients: ['bob'] }), Buffer.from(body), dropTrailer(body.length)]), { mode: 0o640 });
  const asideNames = (): string[] => [...readdirSync(rejected).filter((n) => !earlier.has(n)), ...readdirSync(md).filter((n) => n.startsWith('.rejected.')).map((n) => n.slice('.rejected.'.length))].sort();
  t.true(await waitFor(() => asideNames().length === 6, 15_000), asideNames().join(' '));
  t.deepEqual(asideNames(), ['cut', 'dir', 'fifo', 'link', 'rootfile', 'short']);
  t.true(lstatSync(path.join(rejected, 'link')).isSymbolicLink(), 'the link itself was moved, not what it names');
  t.is(statSync('/etc/shadow').uid, 0);
  t.deepEqual(drops(), []);
  const log = readFileSync(path.join(site.spool, 'log', readdirSync(path.join(site.spool, 'log'))[0]), 'utf8');
  t.regex(log, /pickup: .*cut: no end marker: truncated at byte \d+; moved to/);
  t.regex(log, /pickup: .*link: a symbolic link; moved to/);
  t.regex(log, /pickup: .*short: end marker counts 999 message bytes/);
  t.is(await stopDaemon(d), 0);
  const q = await run(site, ['runq', '--force']);
  t.is(q.code, 0, q.stderr);
  t.is(maildirMessages(mailbox('bob')).length, before, 'nothing delivered');
});

maybe('root\'s own sendmail and runq become the gateway user before touching the spool', async (t) => {
  const r = await run(site, ['sendmail', 'alice'], 'Subject: from root\n\nx\n');
  t.is(r.code, 0, r.stderr);
  const q = await run(site, ['runq']);
  t.is(q.code, 0, q.stderr);
  const newDir = path.join(mailbox('alice'), 'new');
  const files = readdirSync(newDir).filter((f) => readFileSync(path.join(newDir, f), 'latin1').includes('from root'));
  t.is(files.length, 1);
  t.is(statSync(path.join(newDir, files[0])).uid, gwUser.uid);
  t.false(existsSync(path.join(site.spool, 'maildrop', 'rootfile')));
});
