// uugate install / uninstall / check into a temporary --root with a throwaway
// gateway account: the tree with its owners and modes, a second run that
// changes nothing, --dry-run, another MTA's sendmail, uninstall, the units
// through systemd-analyze verify, and the problems check reports.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, promises as fsp, readFileSync, readlinkSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../helpers/site.js';
import { accountExists, listTree, removeAccount, removeTempRoots, requireRoot, tempRoot, throwawayName, uidOf, uugate } from './helpers.js';

const accounts: string[] = [];
test.before(requireRoot);
test.after.always(async () => {
  accounts.forEach(removeAccount);
  await removeTempRoots();
});

/** A fresh root installed with a new throwaway account (created by install itself). */
async function installed(): Promise<{ root: string; user: string }> {
  const root = await tempRoot();
  const user = throwawayName();
  accounts.push(user);
  const r = await uugate(['install', '--root', root, '--user', user]);
  if (r.code !== 0) throw new Error(`install failed: ${r.stderr}`);
  // Listen where nothing else does, so that check's port test is about this site alone.
  await fsp.appendFile(path.join(root, 'etc/uugate/uugate.conf'), `smtp_listen=127.0.0.1:${await freePort()}\n`);
  return { root, user };
}

const mode = (p: string): string => (lstatSync(p).mode & 0o7777).toString(8);
const owner = (p: string): number => lstatSync(p).uid;

test('install lays out configuration, spool, wrappers and units with their owners and modes, and creates the account', async (t) => {
  const { root, user } = await installed();
  t.true(accountExists(user), 'the gateway account was created');
  const uid = uidOf(user);
  const at = (p: string): string => path.join(root, p);
  for (const d of ['etc/uugate', 'etc/uugate/uucp']) t.deepEqual([owner(at(d)), mode(at(d))], [0, '755'], d);
  t.deepEqual([owner(at('var/spool/uugate')), mode(at('var/spool/uugate'))], [uid, '711']);
  t.deepEqual([owner(at('var/spool/uugate/maildrop')), mode(at('var/spool/uugate/maildrop'))], [uid, '3733']);
  t.deepEqual([owner(at('etc/uugate/uugate.conf')), mode(at('etc/uugate/uugate.conf'))], [0, '644']);
  const passwd = statSync(at('etc/uugate/uucp/passwd'));
  t.deepEqual([passwd.uid, passwd.gid, mode(at('etc/uugate/uucp/passwd'))], [0, Number(execFileSync('id', ['-g', user], { encoding: 'utf8' })), '640'], 'passwords: root, the gateway group may read');
  t.regex(readFileSync(at('etc/uugate/uugate.conf'), 'utf8'), new RegExp(`\ngateway_user=${user}\n`));
  t.true(readFileSync(at('etc/uugate/uugate.conf'), 'utf8').startsWith(readFileSync('config/uugate.conf', 'utf8')), 'seeded from the example');
  for (const w of ['usr/sbin/sendmail', 'usr/sbin/rmail', 'usr/sbin/rsmtp', 'usr/bin/mailq', 'usr/bin/runq', 'usr/sbin/uugate']) {
    t.deepEqual([owner(at(w)), mode(at(w))], [0, '755'], w);
    t.regex(readFileSync(at(w), 'utf8'), new RegExp(`UUGATE_CONFIG=${at('etc/uugate')} UUGATE_UUCP=${at('etc/uugate/uucp')} UUGATE_SPOOL=${at('var/spool/uugate')}`));
  }
  const service = readFileSync(at('lib/systemd/system/uugate.service'), 'utf8');
  t.regex(service, new RegExp(`\nExecStart=${at('usr/sbin/uugate')} daemon\n`));
  t.regex(service, new RegExp(`\nReadWritePaths=${at('var/spool/uugate')}\n`));
  t.regex(readFileSync(at('lib/systemd/system/uugate-uucp@.service'), 'utf8'), new RegExp(`\nUser=${user}\n`));
  t.regex(readFileSync(at('lib/systemd/system/uugate-uucp.socket'), 'utf8'), /\nListenStream=540\nAccept=yes\n/);
  // The installed mailq runs against the installed spool.
  const q = spawnSync(at('usr/bin/mailq'), { encoding: 'utf8' });
  t.is(q.status, 0, q.stderr);
});

test('a second install changes nothing and says so; an administrator\'s configuration is never overwritten', async (t) => {
  const { root, user } = await installed();
  const conf = path.join(root, 'etc/uugate/users');
  await fsp.writeFile(conf, 'dave mail/dave/\n');
  const before = listTree(root);
  const r = await uugate(['install', '--root', root]);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `${root}: nothing to do\n`, 'the user comes from gateway_user; nothing differs');
  t.deepEqual(listTree(root), before);
  t.is(readFileSync(conf, 'utf8'), 'dave mail/dave/\n');
  const other = await uugate(['install', '--root', root, '--user', 'nobody']);
  t.is(other.code, 64);
  t.regex(other.stderr, new RegExp(`says gateway_user=${user}; install with --user ${user}`));
  // A changed mode is put back, and only that.
  await fsp.chmod(path.join(root, 'var/spool/uugate/maildrop'), 0o777);
  const fix = await uugate(['install', '--root', root]);
  t.is(fix.stdout, `chmod 3733 ${root}/var/spool/uugate/maildrop\n`);
  t.is(mode(path.join(root, 'var/spool/uugate/maildrop')), '3733');
});

test('--dry-run prints every action and changes nothing, not even the account', async (t) => {
  const root = await tempRoot();
  const user = throwawayName();
  accounts.push(user);
  const r = await uugate(['install', '--root', root, '--user', user, '--dry-run']);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.is(lines[0], 'dry run: nothing is changed');
  t.is(lines[1], `useradd --system --user-group --no-create-home --home-dir ${root}/var/spool/uugate --shell /usr/sbin/nologin ${user}`);
  t.true(lines.includes(`mkdir -m 3733 ${root}/var/spool/uugate/maildrop; chown ${user} (and its group)`));
  t.true(lines.includes(`write ${root}/usr/sbin/sendmail (mode 0755)`));
  t.true(lines.includes(`write ${root}/lib/systemd/system/uugate-uucp@.service (mode 0644)`));
  t.deepEqual(listTree(root), []);
  t.false(accountExists(user));
});

test('another MTA\'s sendmail is refused without --replace, set aside with it, and put back by uninstall', async (t) => {
  const root = await tempRoot();
  const user = throwawayName();
  accounts.push(user);
  await fsp.mkdir(path.join(root, 'usr/sbin'), { recursive: true });
  const sendmail = path.join(root, 'usr/sbin/sendmail');
  await fsp.symlink('exim4', sendmail);
  const refused = await uugate(['install', '--root', root, '--user', user]);
  t.is(refused.code, 73);
  t.regex(refused.stderr, new RegExp(`${sendmail} is a link to exim4: another program's; give --replace to keep it as sendmail\\.uugate-saved`));
  t.false(existsSync(path.join(root, 'etc')), 'nothing was changed');
  t.false(accountExists(user));

  const r = await uugate(['install', '--root', root, '--user', user, '--replace']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, new RegExp(`mv ${sendmail} ${sendmail}\\.uugate-saved\n`));
  t.is(readlinkSync(`${sendmail}.uugate-saved`), 'exim4');
  t.regex(readFileSync(sendmail, 'utf8'), /^#!\/bin\/sh\n# Written by uugate install/);

  const dry = await uugate(['uninstall', '--root', root, '--dry-run']);
  t.regex(dry.stdout, new RegExp(`rm ${sendmail}\nmv ${sendmail}\\.uugate-saved ${sendmail}\n`));
  t.regex(readFileSync(sendmail, 'utf8'), /^#!\/bin\/sh\n/, 'the dry run left it');
  const u = await uugate(['uninstall', '--root', root]);
  t.is(u.code, 0, u.stderr);
  t.is(readlinkSync(sendmail), 'exim4', 'the other MTA is back');
  t.false(existsSync(`${sendmail}.uugate-saved`));
  for (const f of ['usr/sbin/rmail', 'usr/bin/mailq', 'usr/sbin/uugate', 'lib/systemd/system/uugate.service']) t.false(existsSync(path.join(root, f)), f);
  t.true(existsSync(path.join(root, 'etc/uugate/uugate.conf')), 'configuration kept');
  t.true(existsSync(path.join(root, 'var/spool/uugate/maildrop')), 'spool kept');
  t.regex(u.stdout, /kept .*etc\/uugate \(configuration\)/);
  const again = await uugate(['uninstall', '--root', root]);
  t.regex(again.stdout, /nothing to do/);
  t.is(readlinkSync(sendmail), 'exim4');
});

test('the installed units pass systemd-analyze verify', async (t) => {
  const { root } = await installed();
  const units = ['uugate.service', 'uugate-uucp.socket', 'uugate-uucp@.service'].map((u) => path.join(root, 'lib/systemd/system', u));
  const r = spawnSync('systemd-analyze', ['verify', ...units], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.is(r.stderr, '', 'no warning either');
});

test('check: all is well on a clean install; a world-writable configuration file, a wrong spool owner, a foreign wrapper and a taken port are each reported with a fix', async (t) => {
  const { root, user } = await installed();
  const clean = await uugate(['check', '--root', root]);
  t.is(clean.code, 0, clean.stdout + clean.stderr);
  t.is(clean.stdout, 'uugate check: all is well\n');
  // The installed uugate wrapper checks its own root.
  t.is(spawnSync(path.join(root, 'usr/sbin/uugate'), ['check']).status, 0);

  const users = path.join(root, 'etc/uugate/users');
  const spool = path.join(root, 'var/spool/uugate');
  await fsp.chmod(users, 0o666);
  await fsp.chown(spool, 0, 0);
  await fsp.rm(path.join(root, 'usr/bin/mailq'));
  await fsp.symlink('/usr/sbin/exim4', path.join(root, 'usr/bin/mailq'));
  const r = await uugate(['check', '--root', root]);
  t.is(r.code, 78);
  t.regex(r.stdout, new RegExp(`${users}: owner/mode 0/0666 is unsafe: writable by group or others \\(chmod go-w ${users}\\)`));
  t.regex(r.stdout, new RegExp(`${spool} belongs to root, not the gateway user ${user} \\(chown ${user}: ${spool}\\)`));
  t.regex(r.stdout, new RegExp(`${root}/usr/bin/mailq is a link to /usr/sbin/exim4, not uugate's \\(uugate install --replace`));

  // Fixed as told (the port test needs a configuration that loads); then a port another program holds.
  await fsp.chmod(users, 0o644);
  await fsp.chown(spool, uidOf(user), 0);
  t.is((await uugate(['install', '--root', root, '--replace'])).code, 0);
  const taken = net.createServer();
  const port = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as net.AddressInfo).port)));
  await fsp.appendFile(path.join(root, 'etc/uugate/uugate.conf'), `smtp_listen=127.0.0.1:${port}\n`);
  try {
    const p = await uugate(['check', '--root', root]);
    t.is(p.code, 78);
    t.is(p.stdout, `uugate check: 127.0.0.1:${port} (smtp_listen) is taken by another program (ss -ltnp 'sport = :${port}' names it; stop it or change smtp_listen)\n`);
  } finally {
    await new Promise((r) => taken.close(r));
  }
  t.is((await uugate(['check', '--root', root])).code, 0, 'free again');
});

test('check warns of a status page open to the network without status_password_file, and of a password file missing or readable by all', async (t) => {
  const { root, user } = await installed();
  const conf = path.join(root, 'etc/uugate/uugate.conf');
  const pw = path.join(root, 'etc/uugate/status-passwords');
  await fsp.appendFile(conf, 'status_listen=0.0.0.0:9187\n');
  const open = await uugate(['check', '--root', root]);
  t.is(open.code, 78);
  t.regex(open.stdout, /status_listen 0\.0\.0\.0:9187 is not loopback and status_password_file is not set: the daemon will not serve the status page and metrics there/);
  await fsp.appendFile(conf, 'status_password_file=status-passwords\n');
  t.regex((await uugate(['check', '--root', root])).stdout, new RegExp(`${pw} \\(status_password_file\\) is missing`));
  await fsp.writeFile(pw, 'ops:secret\n', { mode: 0o644 });
  t.regex((await uugate(['check', '--root', root])).stdout, new RegExp(`${pw} \\(status_password_file\\) holds passwords and everyone may read it \\(chmod o-r ${pw}\\)`));
  execFileSync('chgrp', [user, pw]);
  await fsp.chmod(pw, 0o640);
  const fixed = await uugate(['check', '--root', root]);
  t.is(fixed.code, 0, fixed.stdout);
});

test('check reports configuration errors with file:line, a spool file owned by another user and a wrapper naming another root', async (t) => {
  const { root, user } = await installed();
  const conf = path.join(root, 'etc/uugate/uugate.conf');
  const lines = readFileSync(conf, 'utf8').split('\n').length;
  await fsp.appendFile(conf, 'queue_lifetime=soon\n');
  await fsp.appendFile(path.join(root, 'etc/uugate/uucp/sys'), 'system far\nbogus-keyword 1\n');
  await fsp.writeFile(path.join(root, 'var/spool/uugate/stray'), '');
  const rmail = path.join(root, 'usr/sbin/rmail');
  await fsp.writeFile(rmail, readFileSync(rmail, 'utf8').replaceAll(root, '/elsewhere'));
  const r = await uugate(['check', '--root', root]);
  t.is(r.code, 78);
  t.regex(r.stdout, new RegExp(`${conf}:${lines}: queue_lifetime: expected a duration`));
  t.regex(r.stdout, /etc\/uugate\/uucp\/sys:\d+: keyword "bogus-keyword" not supported/);
  t.regex(r.stdout, new RegExp(`${rmail} runs another uugate or names other paths than ${root} \\(uugate install --root ${root} rewrites it\\)`));
  t.regex(r.stdout, new RegExp(`1 file\\(s\\) in ${root}/var/spool/uugate belong to another user, e\\.g\\. ${root}/var/spool/uugate/stray \\(root\\).*chown ${user}:`));
});
