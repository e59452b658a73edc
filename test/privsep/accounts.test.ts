// System accounts' mailboxes (local_delivery=~/Maildir/ or /var/mail/%s): root's
// runq and the root-started daemon, both running as the gateway user, deliver
// through the lspawn helper, so the files belong to the account; another user
// cannot read them; root and unknown accounts are refused. Programs named in
// config/aliases run as alias_user, those in an account's ~/.forward as the account.
import test from 'ava';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { makeSite, waitFor, type Site } from '../helpers/site.js';
import { addAccount, isRoot, programFor, removeAccount, runAs, runReadable, type TestAccount } from '../helpers/accounts.js';

const skip = !isRoot();
if (skip) console.log('test/privsep/accounts: skipped, needs root to create accounts');
const maybe = skip ? test.skip : test.serial;

let gw: TestAccount, alice: TestAccount, bob: TestAccount;
test.before(() => {
  if (skip) return;
  gw = addAccount('uugw', { system: true });
  alice = addAccount('uua', { home: true });
  bob = addAccount('uub', { home: true });
});
test.after.always(() => {
  if (skip) return;
  for (const a of [gw, alice, bob]) if (a) removeAccount(a);
});

// Root's commands run from a package the accounts can read (a copy when the
// checkout is closed to them): the gateway user and the delivery children load it too.
const run = (s: Site, args: string[], input?: string) => runReadable(alice, s, args, input);

function site(localDelivery: string) {
  const s = makeSite({ conf: { gateway_user: gw.name, local_delivery: localDelivery, delivery_mode: 'queued' }, users: '' });
  chmodSync(s.dir, 0o755);
  return s;
}

maybe('~/Maildir/: runq started by root delivers as the account; another user cannot read it', async (t) => {
  const s = site('~/Maildir/');
  const r = await run(s, ['sendmail', alice.name], 'Subject: to the account\n\nhello\n');
  t.is(r.code, 0, r.stderr);
  const q = await run(s, ['runq']);
  t.is(q.code, 0, q.stderr);
  t.regex(q.stdout, /1 delivered/);
  const newDir = path.join(alice.home, 'Maildir/new');
  const [file] = readdirSync(newDir);
  const st = statSync(path.join(newDir, file));
  t.deepEqual([st.uid, st.gid, st.mode & 0o777], [alice.uid, alice.gid, 0o600]);
  t.is(statSync(path.join(alice.home, 'Maildir')).uid, alice.uid);
  t.regex(readFileSync(path.join(newDir, file), 'latin1'), new RegExp(`^Return-Path: <root@leaf.example.org>\nDelivered-To: ${alice.name}@leaf.example.org\n`));
  const peek = await runAs(bob, 'cat', [path.join(newDir, file)]);
  t.not(peek.code, 0, 'bob cannot read alice\'s mail');

  // daemon's home (/usr/sbin) is root's: nothing is written there as daemon.
  t.is((await run(s, ['sendmail', 'daemon'], 'Subject: to daemon\n\nx\n')).code, 0);
  await run(s, ['runq']);
  const log = readdirSync(path.join(s.spool, 'log')).map((f) => readFileSync(path.join(s.spool, 'log', f), 'utf8')).join('');
  t.regex(log, /daemon's home \/usr\/sbin is not daemon's alone \(owner uid 0/);
  t.false(existsSync('/usr/sbin/Maildir'));
});

maybe('/var/mail/%s from the daemon: the mbox is the account\'s; root and unknown accounts are refused', async (t) => {
  const s = site('/var/mail/%s');
  const mbox = `/var/mail/${bob.name}`;
  t.teardown(() => rmSync(mbox, { force: true }));
  const d = spawn(process.execPath, [programFor(alice), 'daemon'], { env: s.env, stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => d.kill('SIGKILL'));
  let out = '';
  d.stderr.on('data', (b) => (out += b));
  t.true(await waitFor(() => /queue run every/.test(out)), out);
  t.regex(out, new RegExp(`running as ${gw.name}`));
  const r = await run(s, ['sendmail', bob.name], 'Subject: mbox\n\nFrom here\n');
  t.is(r.code, 0, r.stderr);
  t.true(await waitFor(() => existsSync(mbox) && statSync(mbox).size > 0), out);
  const st = statSync(mbox);
  t.is(st.uid, bob.uid);
  t.regex(readFileSync(mbox, 'latin1'), /^From root@leaf.example.org .*\n[^]*\n>From here\n/);
  // root's mail is never written as root; an account that does not exist gets nothing.
  for (const who of ['root', 'nosuchaccount']) {
    const x = await run(s, ['sendmail', who], 'Subject: no\n\nx\n');
    t.is(x.code, 0, x.stderr);
  }
  const log = (): string => readdirSync(path.join(s.spool, 'log')).map((f) => readFileSync(path.join(s.spool, 'log', f), 'utf8')).join('');
  t.true(await waitFor(() => /will not deliver as root/.test(log()) && /no Unix account "nosuchaccount"/.test(log())), log());
  t.false(existsSync('/var/mail/nosuchaccount'));
});

maybe('a program in config/aliases runs as alias_user, not as the gateway user', async (t) => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'uugate-alias-'));
  chmodSync(out, 0o777);
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const s = makeSite({
    conf: { gateway_user: gw.name, alias_user: bob.name, delivery_mode: 'queued' },
    files: { aliases: `prog: "|/bin/sh -c 'id -u > ${out}/who; cat > ${out}/msg'"\n` },
  });
  chmodSync(s.dir, 0o755);
  t.is((await run(s, ['sendmail', 'prog'], 'Subject: to a program\n\nx\n')).code, 0);
  const q = await run(s, ['runq']);
  t.regex(q.stdout, /1 delivered/, q.stderr);
  t.is(readFileSync(path.join(out, 'who'), 'utf8').trim(), String(bob.uid));
  t.is(statSync(path.join(out, 'msg')).uid, bob.uid);
  t.regex(readFileSync(path.join(out, 'msg'), 'latin1'), /Subject: to a program/);
});

maybe('a system account\'s ~/.forward is obeyed as that account: its program and file run as it, addresses go on through its maildrop', async (t) => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'uugate-forward-'));
  chmodSync(out, 0o777);
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const fwd = path.join(alice.home, '.forward');
  writeFileSync(fwd, `\\${alice.name}, ${bob.name}\n"|/bin/sh -c 'id -u > ${out}/who; cat > ${out}/msg'"\n${out}/copy\n`);
  chownSync(fwd, alice.uid, alice.gid);
  t.teardown(() => rmSync(fwd, { force: true }));
  const s = site('~/Maildir/');
  const d = spawn(process.execPath, [programFor(alice), 'daemon'], { env: s.env, stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => d.kill('SIGKILL'));
  let err = '';
  d.stderr.on('data', (b) => (err += b));
  t.true(await waitFor(() => /picking up/.test(err)), err);

  const count = (a: TestAccount): number => (existsSync(path.join(a.home, 'Maildir/new')) ? readdirSync(path.join(a.home, 'Maildir/new')).length : 0);
  const [aliceBefore, bobBefore] = [count(alice), count(bob)];
  t.is((await run(s, ['sendmail', alice.name], 'Subject: forwarded\n\nx\n')).code, 0);
  t.true(await waitFor(() => count(alice) === aliceBefore + 1 && count(bob) === bobBefore + 1 && existsSync(path.join(out, 'copy'))), readdirSync(path.join(s.spool, 'log')).map((f) => readFileSync(path.join(s.spool, 'log', f), 'utf8')).join(''));
  t.is(readFileSync(path.join(out, 'who'), 'utf8').trim(), String(alice.uid));
  t.is(statSync(path.join(out, 'copy')).uid, alice.uid);
  t.regex(readFileSync(path.join(out, 'copy'), 'latin1'), /^From root@leaf.example.org /);
  const newest = (a: TestAccount): string => {
    const dir = path.join(a.home, 'Maildir/new');
    return readFileSync(path.join(dir, readdirSync(dir).sort().at(-1)!), 'latin1');
  };
  // Sent on by alice: her address is the sender; the first hop's Delivered-To stays (loop detection).
  t.regex(newest(bob), new RegExp(`^Return-Path: <${alice.name}@leaf.example.org>\\nDelivered-To: ${bob.name}@leaf.example.org\\n[^]*Delivered-To: ${alice.name}@leaf.example.org\\n[^]*Subject: forwarded`));

  // A .forward others may write is not obeyed: the mail waits.
  chmodSync(fwd, 0o666);
  t.is((await run(s, ['sendmail', alice.name], 'Subject: held\n\nx\n')).code, 0);
  const log = (): string => readdirSync(path.join(s.spool, 'log')).map((f) => readFileSync(path.join(s.spool, 'log', f), 'utf8')).join('');
  t.true(await waitFor(() => /\.forward: owner\/mode \d+\/666 is unsafe/.test(log())), log());
  t.is(count(alice), aliceBefore + 1);
});
