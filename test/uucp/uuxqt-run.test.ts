// uuxqt against requests as uucico leaves them: written with the spool helpers, and
// one queued by the real Taylor uux. Checks delivery byte for byte, the commands
// list, error mail (content, address, N/n), waiting for files, .Corrupt, temporary
// failures, programs run without a shell, and the lock.
import test from 'ava';
import { promises as fsp, existsSync, readdirSync, readFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { maildirMessages, flags, type Site, siteWithSys } from '../helpers/site.js';
import { loadGateway } from '../../src/runtime/gateway.js';
import { runUuxqt } from '../../src/inject/uuxqt.js';
import { notifyAddress, unquote, UUXQT_LOCK } from '../../src/uucp/uuxqt.js';
import { formatExecFile, type ExecFile } from '../../src/uucp/spool/exec-file.js';
import { parseWorkFile, writeSpoolData } from '../../src/uucp/spool/work-file.js';
import { spoolFilePath } from '../../src/uucp/spool/names.js';
import { acquireLock } from '../../src/uucp/lock.js';
import { readQueueFile } from '../../src/queue/spool.js';
import { listJobs } from '../../src/uucp/uustat.js';

const FROM = 'From alice Thu Nov 26 10:00:00 2026 remote from hub\n';
const BODY = 'Subject: over uucp\nTo: bob@leaf.example.org\n\nline one\nFrom here on\n\ttabbed\n';

const site = siteWithSys;

const uucpSpool = (s: Site): string => path.join(s.spool, 'uucp');

/** Leaves a request as uucico would: data file(s) first, then the X. file. */
async function leaveRequest(s: Site, x: Partial<ExecFile> & { command: string[] }, input?: string | Buffer, seq = '0001', from = 'hub'): Promise<{ data: string; xfile: string }> {
  const dname = `D.${from}N${seq}`;
  const xname = `X.${from}N${seq.replace(/.$/, (c) => String(Number(c) + 1))}`;
  const spool = uucpSpool(s);
  let data = '';
  if (input !== undefined) data = await writeSpoolData(spool, from, dname, input);
  const full: ExecFile = { user: 'root', system: from, files: input !== undefined ? [{ file: dname }] : [], stdin: input !== undefined ? dname : undefined, unknown: [], ...x };
  const xfile = await writeSpoolData(spool, from, xname, formatExecFile(full));
  return { data, xfile };
}

/** Messages accepted but not delivered (delivery_mode=queued). */
async function incoming(s: Site): Promise<{ sender: string; recipients: string[]; text: string }[]> {
  const dir = path.join(s.spool, 'incoming');
  const out = [];
  for (const n of readdirSync(dir).sort()) {
    const q = await readQueueFile(path.join(dir, n));
    out.push({ sender: q.envelope.sender, recipients: q.envelope.recipients, text: q.data.toString('latin1') });
  }
  return out;
}

const logfile = (s: Site): string => readFileSync(path.join(s.spool, 'log/logfile'), 'latin1');

test('an rmail request is delivered byte for byte; its X. and D. files are removed', async (t) => {
  const s = site();
  const { data, xfile } = await leaveRequest(s, { command: ['rmail', 'bob', 'alice@leaf.example.org'] }, FROM + BODY);
  const gw = await loadGateway(flags(s));
  const sum = await runUuxqt(gw);
  t.like(sum, { busy: false, executed: 1, failed: 0, deferred: 0, waiting: 0, corrupt: 0 });
  t.is(sum.accepted.length, 1);
  for (const who of ['bob', 'alice']) {
    const [msg] = maildirMessages(path.join(s.spool, `mail/${who}`));
    t.truthy(msg, who);
    t.regex(msg, /^Return-Path: <hub!alice>\nDelivered-To: \S+\nReceived: from hub\n\tby leaf with UUCP \(uugate rmail\)\n\tid \S+; [^\n]+\n/);
    t.true(msg.endsWith(BODY), 'the message after the From_ line, unchanged');
    t.false(msg.includes('remote from'));
  }
  t.false(existsSync(xfile));
  t.false(existsSync(data));
  t.regex(logfile(s), /uuxqt: X\.hubN0002 from hub \(rmail bob alice@leaf\.example\.org\): accepted as /);
});

test('a request queued by the real Taylor uux (S + X. form) runs here byte for byte', async (t) => {
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/uux')) return t.pass('Taylor UUCP not available');
  // A private Taylor site named hub, with leaf as its neighbour.
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'uutaylor-x-'));
  await fsp.chmod(root, 0o755);
  for (const d of ['spool', 'lock', 'pub']) await fsp.mkdir(path.join(root, d));
  const files = ['sys', 'port', 'dial', 'call', 'passwd'];
  await fsp.writeFile(path.join(root, 'config'), [
    'nodename hub', `spool ${root}/spool`, `pubdir ${root}/pub`, `lockdir ${root}/lock`, `logfile ${root}/log`,
    `statfile ${root}/stats`, `debugfile ${root}/debug`, ...files.map((f) => `${f === 'sys' ? 'sysfile' : `${f}file`} ${root}/${f}`),
    'hdb-files false', 'v2-files false', 'run-uuxqt never', '',
  ].join('\n'));
  for (const f of files) await fsp.writeFile(path.join(root, f), f === 'sys' ? 'system leaf\ntime any\n' : '');
  execFileSync('chown', ['-R', 'uucp', root]);
  const message = Buffer.from(`${FROM}${BODY}8-bit: \xe9\xff\n`, 'latin1');
  // -b makes Taylor write the classic S data + S X. pair (plain uux writes an E command).
  const r = spawnSync('/usr/bin/uux', ['-I', path.join(root, 'config'), '-r', '-b', '-', 'leaf!rmail', 'bob', '(carol)'], { input: message });
  t.is(r.status, 0, String(r.stderr));
  // Carry the files over as our uucico would store them: under the names the S commands give.
  const s = site();
  const cdir = path.join(root, 'spool/leaf/C.');
  const [cname] = readdirSync(cdir);
  const cmds = parseWorkFile(readFileSync(path.join(cdir, cname), 'latin1'));
  t.is(cmds.length, 2);
  for (const c of cmds) {
    if (c.type !== 'S') throw new Error('expected S commands');
    const dest = spoolFilePath(uucpSpool(s), 'hub', c.to);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    await fsp.copyFile(spoolFilePath(path.join(root, 'spool'), 'leaf', c.from), dest);
  }
  t.true(existsSync(path.join(uucpSpool(s), 'hub/X.', cmds[1].to)), 'the X. file is in hub/X./');
  const sum = await runUuxqt(await loadGateway(flags(s)));
  t.like(sum, { executed: 1, failed: 0, waiting: 0 });
  const [bob] = maildirMessages(path.join(s.spool, 'mail/bob'));
  const carol = readFileSync(path.join(s.spool, 'mail/carol.mbox'), 'latin1');
  const after = message.subarray(FROM.length).toString('latin1');
  t.regex(bob, /^Return-Path: <hub!alice>\n/);
  t.true(bob.endsWith(after), 'bytes after the From_ line arrive unchanged, 8-bit included');
  t.true(carol.includes('Subject: over uucp\nTo: bob@leaf.example.org\n\nline one\n'), 'the parenthesised recipient arrived as carol');
  t.deepEqual(readdirSync(path.join(uucpSpool(s), 'hub/X.')), []);
  t.deepEqual(readdirSync(path.join(uucpSpool(s), 'hub/D.')), []);
});

test('a command not in the commands list is refused: error mail with the message, files removed', async (t) => {
  const s = site('system hub\ncommands rnews\n', { delivery_mode: 'queued' });
  const { xfile, data } = await leaveRequest(s, { command: ['rmail', 'bob'] }, FROM + BODY);
  const sum = await runUuxqt(await loadGateway(flags(s)));
  t.like(sum, { executed: 0, failed: 1, deferred: 0 });
  const mails = await incoming(s);
  t.is(mails.length, 1);
  const [m] = mails;
  t.is(m.sender, '', 'from the null sender');
  t.deepEqual(m.recipients, ['hub!root'], 'to the U user, relative to hub');
  t.regex(m.text, /^From: UUCP execution daemon <MAILER-DAEMON@leaf\.example\.org>\nTo: hub!root\nSubject: Execution failed\n/);
  t.regex(m.text, /\n {2}Command: {3}rmail bob\n/);
  t.regex(m.text, /Reason: +command "rmail" is not permitted for system hub \(commands: rnews\)/);
  t.true(m.text.endsWith(`----- The input of the request follows -----\n${FROM}${BODY}`), 'the original message is returned whole');
  t.false(existsSync(xfile));
  t.false(existsSync(data));
  t.deepEqual(maildirMessages(path.join(s.spool, 'mail/bob')), []);
});

test('unknown local user (rmail exit 67) → error mail to the R address; N suppresses mail and keeps the files', async (t) => {
  const s = site('system hub\ncommands rmail\n', { delivery_mode: 'queued' });
  await leaveRequest(s, { command: ['rmail', 'nosuchuser'], requester: 'me@hub.example' }, FROM + BODY, '0001');
  const quiet = await leaveRequest(s, { command: ['rmail', 'ghost'], noMail: true }, FROM + BODY, '0003');
  const sum = await runUuxqt(await loadGateway(flags(s)));
  t.like(sum, { executed: 0, failed: 2 });
  const mails = await incoming(s);
  t.is(mails.length, 1, 'no mail for the N request');
  t.deepEqual(mails[0].recipients, ['me@hub.example'], 'an R address with @ is used as it is');
  t.regex(mails[0].text, /Reason: +rmail: unknown local user "nosuchuser" \(exit 67\)/);
  t.true(mails[0].text.includes(BODY));
  // The N request told nobody: its files are kept in .Failed, not lost.
  t.false(existsSync(quiet.xfile));
  const failed = readdirSync(path.join(uucpSpool(s), '.Failed')).sort();
  t.deepEqual(failed, ['D.hubN0003', 'X.hubN0004']);
  t.is(readFileSync(path.join(uucpSpool(s), '.Failed/D.hubN0003'), 'latin1'), FROM + BODY);
});

test('mail about a request: R relative to the requesting system, U user otherwise; Z beats N', (t) => {
  t.is(notifyAddress('hub', { requester: 'me@x.org', user: 'root' }), 'me@x.org');
  t.is(notifyAddress('hub', { requester: 'a!me', user: 'root' }), 'hub!a!me');
  t.is(notifyAddress('hub', { user: 'root' }), 'hub!root');
  t.is(notifyAddress('hub', { user: 'root@hub.example' }), 'root@hub.example');
  t.is(notifyAddress('hub', {}), undefined);
  t.is(unquote('a\\040b\\\\c'), 'a b\\c');
  t.throws(() => unquote('bad\\q'));
});

test('a missing data file makes the request wait; it runs once the file arrives', async (t) => {
  const s = site();
  const spool = uucpSpool(s);
  const x: ExecFile = { user: 'root', system: 'hub', files: [{ file: 'D.hubN0001' }], stdin: 'D.hubN0001', command: ['rmail', 'bob'], unknown: [] };
  const xfile = await writeSpoolData(spool, 'hub', 'X.hubN0002', formatExecFile(x));
  const gw = await loadGateway(flags(s));
  t.like(await runUuxqt(gw), { waiting: 1, executed: 0 });
  t.true(existsSync(xfile));
  await writeSpoolData(spool, 'hub', 'D.hubN0001', FROM + BODY);
  t.like(await runUuxqt(gw), { waiting: 0, executed: 1 });
  t.false(existsSync(xfile));
  t.is(maildirMessages(path.join(s.spool, 'mail/bob')).length, 1);
});

test('a corrupt X. file goes to .Corrupt with a log line', async (t) => {
  const s = site();
  const spool = uucpSpool(s);
  await writeSpoolData(spool, 'hub', 'X.hubN0002', 'U root hub\nI D.hubN0001\n'); // no C line
  await writeSpoolData(spool, 'hub', 'X.hubN0004', 'U root hub\nF\nC rmail bob\n'); // F without a file
  const sum = await runUuxqt(await loadGateway(flags(s)));
  t.is(sum.corrupt, 2);
  t.deepEqual(readdirSync(path.join(spool, '.Corrupt')).sort(), ['X.hubN0002', 'X.hubN0004']);
  t.deepEqual(readdirSync(path.join(spool, 'hub/X.')), []);
  t.regex(logfile(s), /uuxqt: hub\/X\.\/X\.hubN0002 is corrupt \(no C line \(no command\)\); moved to /);
});

test('a temporary failure (queue not writable) leaves the request for the next run', async (t) => {
  const s = site();
  const { xfile, data } = await leaveRequest(s, { command: ['rmail', 'bob'] }, FROM + BODY);
  const gw = await loadGateway(flags(s));
  const tmp = path.join(s.spool, 'tmp');
  await fsp.rm(tmp, { recursive: true });
  await fsp.writeFile(tmp, 'not a directory');
  t.like(await runUuxqt(gw), { deferred: 1, executed: 0, failed: 0 });
  t.true(existsSync(xfile) && existsSync(data), 'nothing removed');
  t.regex(logfile(s), /Deferred .*uuxqt: X\.hubN0002 from hub \(rmail bob\): rmail: cannot queue message .*left for the next run/);
  await fsp.rm(tmp);
  await fsp.mkdir(tmp);
  t.like(await runUuxqt(gw), { executed: 1 });
  t.is(maildirMessages(path.join(s.spool, 'mail/bob')).length, 1);
});

test('other commands run as programs: no shell, literal argv, stdin, env, work directory; failures mailed with stderr', async (t) => {
  const bin = await fsp.mkdtemp(path.join(os.tmpdir(), 'uuxqt-bin-'));
  const out = path.join(bin, 'out');
  await fsp.writeFile(path.join(bin, 'record'), `#!/bin/sh\n{ for a in "$@"; do printf '[%s]' "$a"; done; echo; echo "PATH=$PATH M=$UU_MACHINE U=$UU_USER HOME=\${HOME-unset}"; pwd; cat; cat named; } > ${out}\n`, { mode: 0o755 });
  await fsp.writeFile(path.join(bin, 'fail'), '#!/bin/sh\necho "it went wrong" >&2\nexit 3\n', { mode: 0o755 });
  await fsp.writeFile(path.join(bin, 'later'), '#!/bin/sh\nexit 75\n', { mode: 0o755 });
  const s = site(`system hub\ncommands rmail record fail later\ncommand-path ${bin} /bin /usr/bin\n`, { delivery_mode: 'queued' });
  const spool = uucpSpool(s);
  await writeSpoolData(spool, 'hub', 'D.hubN0009', 'extra file\n');
  await leaveRequest(s, { command: ['record', '$HOME;x', 'a!b', '`id`'], files: [{ file: 'D.hubN0001' }, { file: 'D.hubN0009', name: 'named' }], mailOnSuccess: true, user: 'fred' }, 'the input\n', '0001');
  await leaveRequest(s, { command: ['fail', 'x'] }, 'in\n', '0003');
  const later = await leaveRequest(s, { command: ['later'] }, 'in\n', '0005');
  const sum = await runUuxqt(await loadGateway(flags(s)));
  t.like(sum, { executed: 1, failed: 1, deferred: 1 });
  const lines = readFileSync(out, 'latin1').split('\n');
  t.is(lines[0], '[$HOME;x][a!b][`id`]');
  t.is(lines[1], `PATH=${bin}:/bin:/usr/bin M=hub U=fred HOME=unset`, 'PATH is the command path; nothing else inherited');
  t.true(lines[2].startsWith(path.join(spool, '.Xqtdir') + '/'), lines[2]);
  t.is(lines[3], 'the input');
  t.is(lines[4], 'extra file');
  t.deepEqual(readdirSync(path.join(spool, '.Xqtdir')), [], 'work directories removed');
  const mails = await incoming(s);
  const ok = mails.find((m) => /Subject: Execution succeeded/.test(m.text))!;
  t.deepEqual(ok.recipients, ['hub!fred'], 'n: mail on success');
  const bad = mails.find((m) => /Subject: Execution failed/.test(m.text))!;
  t.regex(bad.text, /exited 3\n\nStandard error output was:\n {2}it went wrong\n$/);
  t.false(bad.text.includes('----- The input'), 'input returned only for rmail or with B');
  t.true(existsSync(later.xfile), 'exit 75 leaves the request');
});

test('the error mail goes back to the requester over UUCP (smart_path=hub, uux transport)', async (t) => {
  const s = site('system hub\ncommands rnews\n', { smart_path: 'hub' });
  await leaveRequest(s, { command: ['rmail', 'bob'] }, FROM + BODY);
  const gw = await loadGateway(flags(s));
  t.like(await runUuxqt(gw), { failed: 1 });
  const jobs = await listJobs(uucpSpool(s));
  t.is(jobs.length, 1);
  t.is(jobs[0].description, 'Executing rmail root', 'hub!root, relative to hub');
  const d = readFileSync(path.join(uucpSpool(s), 'hub/D./D.0001'), 'latin1');
  t.regex(d, /^From MAILER-DAEMON \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} remote from leaf\nFrom: UUCP execution daemon/);
});

test('only one uuxqt at a time', async (t) => {
  const s = site();
  const { xfile } = await leaveRequest(s, { command: ['rmail', 'bob'] }, FROM + BODY);
  const spool = uucpSpool(s);
  await fsp.mkdir(spool, { recursive: true });
  const held = await acquireLock(spool, UUXQT_LOCK);
  t.true(held.ok);
  try {
    t.like(await runUuxqt(await loadGateway(flags(s))), { busy: true, executed: 0 });
    t.true(existsSync(xfile));
  } finally {
    if (held.ok) await held.lock.release();
  }
  t.like(await runUuxqt(await loadGateway(flags(s))), { busy: false, executed: 1 });
});

test('requests from a system not in uucp/sys are left alone', async (t) => {
  const s = site();
  const { xfile } = await leaveRequest(s, { command: ['rmail', 'bob'] }, FROM + BODY, '0001', 'stranger');
  t.like(await runUuxqt(await loadGateway(flags(s))), { skipped: 1, executed: 0 });
  t.true(existsSync(xfile));
});
