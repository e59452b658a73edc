// Configuration that others may write is refused (util/trusted-file.ts): commands
// exit 78 naming the file and its owner/mode, and mail that needs an unsafe file
// waits in the queue; nothing runs through the file.
import test from 'ava';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { flags, makeSite, maildirMessages, run, siteWithSys, type Site } from '../helpers/site.js';
import { loadGateway } from '../../src/runtime/gateway.js';
import { openRouter } from '../../src/runtime/routing.js';
import { formatExecFile } from '../../src/uucp/spool/exec-file.js';
import { writeSpoolData } from '../../src/uucp/spool/work-file.js';
import { trustProblem } from '../../src/util/trusted-file.js';

const FROM = 'From zed Fri Nov 27 10:00:00 2026 remote from hub\nSubject: trust\n\nhello\n';
const REG = 0o100000;
const DIR = 0o040000;

// A throwaway user, owner of files the gateway (root here) must not trust.
const USER = `uugtrust${process.pid % 10000}`;
let uid = -1;
test.before(() => {
  if (process.getuid?.() !== 0) return;
  execFileSync('useradd', ['-M', '-N', '-s', '/usr/sbin/nologin', USER]);
  uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
});
test.after.always(() => {
  if (uid >= 0) execFileSync('userdel', [USER]);
});

test('trustProblem: group/world writable, other owners, unsafe directories, non-regular files', (t) => {
  const dir = { mode: DIR | 0o755, uid: 0 };
  t.is(trustProblem('/c/aliases', { mode: REG | 0o644, uid: 0 }, dir), null);
  t.is(trustProblem('/c/aliases', { mode: REG | 0o600, uid: 0 }, { mode: DIR | 0o1755, uid: 0 }), null);
  t.is(trustProblem('/c/aliases', { mode: REG | 0o666, uid: 0 }, dir), 'owner/mode 0/0666 is unsafe: writable by group or others (chmod go-w /c/aliases)');
  t.regex(trustProblem('/c/aliases', { mode: REG | 0o664, uid: 0 }, dir)!, /0\/0664 is unsafe: writable by group/);
  t.regex(trustProblem('/c/aliases', { mode: REG | 0o644, uid: 1234 }, dir)!, /^owner\/mode 1234\/0644 is unsafe: owned by uid 1234; only root may own it \(chown root \/c\/aliases\)$/);
  t.regex(trustProblem('/c/aliases', { mode: DIR | 0o755, uid: 0 }, dir)!, /not a regular file/);
  t.is(trustProblem('/c/aliases', { mode: REG | 0o644, uid: 0 }, { mode: DIR | 0o777, uid: 0 }), 'directory /c owner/mode 0/0777 is unsafe: writable by group or others (chmod go-w /c)');
  t.regex(trustProblem('/c/aliases', { mode: REG | 0o644, uid: 0 }, { mode: DIR | 0o755, uid: 1234 })!, /^directory \/c owner\/mode 1234\/0755 is unsafe: owned by uid 1234/);
  // A user's own .forward: the owner of its directory (the maildir) may own it, but nobody else, and it stays go-w.
  const maildir = { mode: DIR | 0o700, uid: 1234 };
  t.is(trustProblem('/m/.forward', { mode: REG | 0o644, uid: 1234 }, maildir, { userFile: true }), null);
  t.regex(trustProblem('/m/.forward', { mode: REG | 0o644, uid: 999 }, maildir, { userFile: true })!, /owned by uid 999; only root or uid 1234 \(the owner of \/m\) may own it/);
  t.regex(trustProblem('/m/.forward', { mode: REG | 0o646, uid: 1234 }, maildir, { userFile: true })!, /writable by group or others/);
  t.regex(trustProblem('/m/.forward', { mode: REG | 0o644, uid: 1234 }, { mode: DIR | 0o770, uid: 1234 }, { userFile: true })!, /directory \/m .* writable/);
});

test('a world-writable uugate.conf: rmail and runq exit 78 naming the file', async (t) => {
  const site = makeSite();
  const conf = path.join(site.config, 'uugate.conf');
  chmodSync(conf, 0o666);
  for (const args of [['rmail', 'bob'], ['runq']]) {
    const r = await run(site, args, FROM);
    t.is(r.code, 78, `${args[0]}: ${r.stderr}`);
    t.true(r.stderr.includes(`${conf}: owner/mode 0/0666 is unsafe: writable by group or others (chmod go-w ${conf})`), r.stderr);
  }
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 0);
});

test('a configuration directory others may write is refused', async (t) => {
  const site = makeSite();
  chmodSync(site.config, 0o777);
  const r = await run(site, ['rmail', 'bob'], FROM);
  t.is(r.code, 78, r.stderr);
  t.regex(r.stderr, new RegExp(`uugate\\.conf: directory ${site.config} owner/mode 0/0777 is unsafe: writable by group or others`));
});

/** A site whose alias `bug` runs a program that leaves a mark; queued delivery. */
function programSite(): { site: Site; mark: string; aliases: string } {
  const site = makeSite({ conf: { delivery_mode: 'queued' } });
  const mark = path.join(site.dir, 'ran');
  const aliases = path.join(site.config, 'aliases');
  writeFileSync(aliases, `bug: "|/usr/bin/tee ${mark}"\n`);
  return { site, mark, aliases };
}

test('a group-writable aliases file with a program alias: the program never runs, the message waits', async (t) => {
  const { site, mark, aliases } = programSite();
  t.is((await run(site, ['rmail', 'bug'], FROM)).code, 0, 'accepted while aliases was safe');
  chmodSync(aliases, 0o664);
  const q = await run(site, ['runq']);
  t.is(q.code, 78, q.stderr);
  t.true(q.stderr.includes(`${aliases}: owner/mode 0/0664 is unsafe`), q.stderr);
  const refused = await run(site, ['rmail', 'bug'], FROM);
  t.is(refused.code, 78, 'a new message is not taken either');
  t.false(existsSync(mark), 'the program did not run');
  t.regex((await run(site, ['mailq'])).stdout, /1 message in queue/, 'the message is still queued');
  chmodSync(aliases, 0o644);
  t.is((await run(site, ['runq'])).code, 0);
  t.true(existsSync(mark), 'delivered once the mode is fixed');
});

test('a world-writable uucp/sys granting every command: uuxqt and uucico exit 78, nothing runs', async (t) => {
  const site = siteWithSys('system hub\ncommands ALL\ncommand-path /usr/bin /bin\n');
  const sys = path.join(site.uucp, 'sys');
  const mark = path.join(site.dir, 'owned');
  const spool = path.join(site.spool, 'uucp');
  await writeSpoolData(spool, 'hub', 'X.hubN0001', formatExecFile({ user: 'root', system: 'hub', files: [], unknown: [], command: ['touch', mark] }));
  chmodSync(sys, 0o646);
  for (const args of [['uuxqt'], ['uucico', '-S', 'hub']]) {
    const r = await run(site, args);
    t.is(r.code, 78, `${args[0]}: ${r.stderr}`);
    t.true(r.stderr.includes(`${sys}: owner/mode 0/0646 is unsafe: writable by group or others (chmod go-w ${sys})`), r.stderr);
  }
  t.false(existsSync(mark));
  chmodSync(sys, 0o644);
  t.is((await run(site, ['uuxqt'])).code, 0);
  t.true(existsSync(mark), 'the same request runs once sys is safe');
});

test('files owned by another user are refused; a user may own their own .forward', async (t) => {
  if (uid < 0) return t.pass('needs root to create a user');
  const site = makeSite({ users: 'alice mail/alice/\nbob mail/bob/\ndora mail/dora/\n' });
  // dora's maildir and .forward are hers: her forward is honoured.
  const maildir = path.join(site.spool, 'mail/dora');
  mkdirSync(maildir, { recursive: true });
  chownSync(maildir, uid, 0);
  const fwd = path.join(maildir, '.forward');
  writeFileSync(fwd, 'bob\n');
  chownSync(fwd, uid, 0);
  t.is((await run(site, ['rmail', 'dora'], FROM)).code, 0);
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 1, "dora's own .forward is followed");
  // Owned by someone else than dora (nobody), it is not: the message waits.
  chownSync(fwd, 65534, 0);
  t.is((await run(site, ['rmail', 'dora'], FROM)).code, 0);
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 1);
  t.is(maildirMessages(maildir).length, 0, 'not delivered to dora either');
  t.regex((await run(site, ['mailq'])).stdout, /dora\n +\(.*\.forward: owner\/mode 65534\/0644 is unsafe: owned by uid 65534; only root or uid \d+ \(the owner of .*mail\/dora\) may own it/);
  // A configuration file owned by the user is refused outright.
  const users = path.join(site.config, 'users');
  chownSync(users, uid, 0);
  const r = await run(site, ['rmail', 'bob'], FROM);
  t.is(r.code, 78, r.stderr);
  t.true(r.stderr.includes(`${users}: owner/mode ${uid}/0644 is unsafe: owned by uid ${uid}; only root may own it (chown root ${users})`), r.stderr);
});

test('a router that met a refused uucp/sys reads it again for the next message', async (t) => {
  const site = siteWithSys();
  const sys = path.join(site.uucp, 'sys');
  chmodSync(sys, 0o666);
  const { router, close } = await openRouter(await loadGateway(flags(site)));
  t.teardown(close);
  await t.throwsAsync(router.route({ addr: 'hub!bob' }), { message: /sys: owner\/mode 0\/0666 is unsafe/ });
  chmodSync(sys, 0o644);
  t.like(await router.route({ addr: 'hub!bob' }), { kind: 'deliver', route: { nextHop: 'hub', address: 'bob' } });
});

test('the paths database: refused at open, and when a replacement others may write appears', async (t) => {
  const site = siteWithSys();
  const paths = path.join(site.config, 'paths');
  writeFileSync(paths, 'far\thub!far!%s\n');
  chmodSync(paths, 0o666);
  const r = await run(site, ['route', 'far!bob']);
  t.is(r.code, 78, r.stderr);
  t.true(r.stderr.includes(`${paths}: owner/mode 0/0666 is unsafe`), r.stderr);
  chmodSync(paths, 0o644);
  const { router, close } = await openRouter(await loadGateway(flags(site)));
  t.teardown(close);
  t.like(await router.route({ addr: 'far!bob' }), { kind: 'deliver', route: { nextHop: 'hub', address: 'far!bob' } });
  const next = `${paths}.new`;
  writeFileSync(next, 'far\tevil!far!%s\n');
  chmodSync(next, 0o666);
  renameSync(next, paths);
  await t.throwsAsync(router.route({ addr: 'far!bob' }), { message: /paths: owner\/mode 0\/0666 is unsafe/ });
  chmodSync(paths, 0o644);
  t.like(await router.route({ addr: 'far!bob' }), { kind: 'deliver', route: { nextHop: 'evil' } });
  chmodSync(paths, 0o664); // the same file, made writable in place
  await t.throwsAsync(router.route({ addr: 'far!bob' }), { message: /paths: owner\/mode 0\/0664 is unsafe/ });
});
