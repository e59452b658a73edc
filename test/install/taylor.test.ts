// An installed uugate beside Taylor UUCP, gateway account uucp (the account
// Taylor's programs run as): Taylor's uuxqt runs the installed rmail wrapper as
// uucp and the mail lands in a mailbox; and a call answered by the installed
// `uugate uucico --slave --stdio --login Uhub`, the command line an SSH forced
// command runs, and by `uugate uucico -l`, what uugate-uucp@.service runs.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fsp, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, maildirMessages } from '../helpers/site.js';
import { requireTaylor, runTaylor, SOCAT, spawnTaylor, taylorLog, taylorSite, UUCICO, UUX, UUXQT, waitListening } from '../helpers/taylor.js';
import { parseWorkFile } from '../../src/uucp/spool/work-file.js';
import { spoolFilePath } from '../../src/uucp/spool/names.js';
import { packageUnreadable } from '../../src/install/access.js';
import { lookupAccount } from '../../src/install/accounts.js';
import { removeTempRoots, tempRoot, uugate } from './helpers.js';

test.after.always(removeTempRoots);
test.before(() => {
  requireTaylor();
  // The wrappers run this checkout as uucp: a clone others cannot read cannot be tested this way.
  const why = packageUnreadable(lookupAccount('uucp')!);
  if (why) throw new Error(`${why}; run the tests from a clone other users can read`);
});

/** Installed with --user uucp, delivering at once, hub allowed to run rmail. */
async function installForUucp(): Promise<string> {
  const root = await tempRoot();
  const r = await uugate(['install', '--root', root, '--user', 'uucp']);
  if (r.code !== 0) throw new Error(r.stderr);
  const conf = path.join(root, 'etc/uugate/uugate.conf');
  await fsp.writeFile(conf, readFileSync(conf, 'utf8').replace(/^delivery_mode=.*$/m, 'delivery_mode=foreground'));
  await fsp.writeFile(path.join(root, 'etc/uugate/uucp/sys'), 'system hub\ncalled-login Uhub\ncommands rmail\n');
  return root;
}

const MESSAGE = 'From carol Sun Dec  6 10:00:00 2026 remote from hub\nSubject: through Taylor\n\nfrom the hub\n';

test.serial("Taylor's uuxqt, as uucp, runs the installed rmail; the mail lands in bob's mailbox", async (t) => {
  const root = await installForUucp();
  for (const p of ['uucico', 'uuxqt', 'uux', 'uustat']) t.false(existsSync(path.join(root, 'usr/sbin', p)) || existsSync(path.join(root, 'usr/bin', p)), `${p} is Taylor's, not installed`);
  const sites = await tempRoot('uuinst-taylor-');
  const hub = await taylorSite(sites, 'hub', { sys: 'system leaf\ntime any\n' });
  // Taylor is the UUCP side of leaf: its sys lets hub run rmail, found in the installed usr/sbin.
  const leaf = await taylorSite(sites, 'leaf', { sys: `system hub\ntime any\ncommands rmail\ncommand-path ${root}/usr/sbin\n` });
  execFileSync('chown', ['-R', 'uucp', sites]);
  t.is(runTaylor(UUX, ['-I', hub.conf, '-r', '-b', '-', 'leaf!rmail', 'bob'], MESSAGE).status, 0);
  // Carried to leaf's spool as Taylor's uucico would store them.
  const cdir = path.join(hub.spool, 'leaf/C.');
  for (const c of parseWorkFile(readFileSync(path.join(cdir, readdirSync(cdir)[0]), 'latin1'))) {
    if (c.type !== 'S') throw new Error('expected S commands');
    const dest = spoolFilePath(leaf.spool, 'hub', c.to);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    await fsp.copyFile(spoolFilePath(hub.spool, 'leaf', c.from), dest);
  }
  execFileSync('chown', ['-R', 'uucp', leaf.spool]);
  const r = runTaylor(UUXQT, ['-I', leaf.conf]);
  t.is(r.status, 0, r.stderr);
  const mail = maildirMessages(path.join(root, 'var/spool/uugate/mail/bob'));
  t.is(mail.length, 1, await taylorLog(leaf));
  t.true(mail[0]!.endsWith('Subject: through Taylor\n\nfrom the hub\n'));
  t.regex(mail[0]!, /^Return-Path: <hub!carol>\n/);
  const box = path.join(root, 'var/spool/uugate/mail/bob/new');
  t.is((await fsp.stat(path.join(box, readdirSync(box)[0]))).uid, lookupAccount('uucp')!.uid, 'written as uucp');
  t.is((await uugate(['check', '--root', root])).code, 0, 'the spool still belongs to uucp alone');
});

/**
 * hub (Taylor) calls leaf over TCP; socat stands in for the program that
 * accepts the connection and starts leaf's side as uucp with its own groups:
 * sshd with a forced command, or systemd's uugate-uucp.socket.
 */
async function callOverTcp(root: string, answer: string, hubSys: string): Promise<{ code: number | null; log: string }> {
  const sites = await tempRoot('uuinst-call-');
  const port = await freePort();
  const hub = await taylorSite(sites, 'hub', { sys: `system leaf\ntime any\nport type tcp\naddress 127.0.0.1\nport service ${port}\nprotocol g\n${hubSys}` });
  execFileSync('chown', ['-R', 'uucp', sites]);
  if (runTaylor(UUX, ['-I', hub.conf, '-r', '-', 'leaf!rmail', 'bob'], MESSAGE).status !== 0) throw new Error('Taylor uux failed');
  const leaf = spawnTaylor(SOCAT, [`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`, `EXEC:runuser -u uucp -- ${root}/usr/sbin/uugate ${answer}`]);
  await waitListening(port);
  const code = await spawnTaylor(UUCICO, ['-I', hub.conf, '-D', '-q', '-S', 'leaf']).done;
  await leaf.done;
  return { code, log: await taylorLog(hub) };
}

test.serial('a call answered by the SSH forced command `uugate uucico --slave --stdio --login Uhub` delivers', async (t) => {
  const root = await installForUucp();
  const r = await callOverTcp(root, 'uucico --slave --stdio --login Uhub', 'chat ""\n');
  t.is(r.code, 0, r.log);
  const mail = maildirMessages(path.join(root, 'var/spool/uugate/mail/bob'));
  t.is(mail.length, 1, r.log);
  t.true(mail[0]!.endsWith('Subject: through Taylor\n\nfrom the hub\n'));
});

test.serial("a call answered as uugate-uucp@.service does (`uugate uucico -l`: login and password) delivers; a wrong password is refused", async (t) => {
  const root = await installForUucp();
  await fsp.writeFile(path.join(root, 'etc/uugate/uucp/passwd'), 'Uhub hubsecret\n');
  const unit = readFileSync(path.join(root, 'lib/systemd/system/uugate-uucp@.service'), 'utf8');
  const answer = /^ExecStart=\S+ (.*)$/m.exec(unit)![1];
  t.is(answer, 'uucico -l');
  const bad = await callOverTcp(root, answer, 'call-login Uhub\ncall-password wrong\nchat ogin: \\L word: \\P\n');
  t.not(bad.code, 0);
  t.deepEqual(maildirMessages(path.join(root, 'var/spool/uugate/mail/bob')), []);
  const good = await callOverTcp(root, answer, 'call-login Uhub\ncall-password hubsecret\nchat ogin: \\L word: \\P\n');
  t.is(good.code, 0, good.log);
  t.is(maildirMessages(path.join(root, 'var/spool/uugate/mail/bob')).length, 1, good.log);
});
