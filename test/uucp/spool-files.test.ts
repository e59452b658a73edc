// Spool: sequence numbers, work/data/X. files byte for byte, pending work order,
// marking commands done, receiving, and the remote path safety checks.
import test from 'ava';
import { promises as fsp } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatExecFile, parseExecFile } from '../../src/uucp/spool/exec-file.js';
import { formatWorkLine, listPendingWork, markCommandDone, parseWorkLine, readWorkFile, writeSpoolData, writeWorkFile } from '../../src/uucp/spool/work-file.js';
import { incrementSequence, nextSequence, nextSequences, spoolFilePath } from '../../src/uucp/spool/names.js';
import { resolveRemotePath, checkRemoteName, type PathPolicy } from '../../src/uucp/spool/remote-path.js';
import { storeReceivedFile, receiveTempPath, markReceived, takeReceived } from '../../src/uucp/spool/received.js';
import { queueExecution, parseUuxArgs } from '../../src/uucp/uux.js';

const tmp = (): Promise<string> => fsp.mkdtemp(path.join(os.tmpdir(), 'uuspool-'));
const spoolJs = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/uucp/spool/names.js');

test('sequence increments like Taylor (digits, capitals, wrap)', (t) => {
  t.is(incrementSequence('0000'), '0001');
  t.is(incrementSequence('0009'), '000A');
  t.is(incrementSequence('000Z'), '0010');
  t.is(incrementSequence('00ZZ'), '0100');
  t.is(incrementSequence('ZZZZ'), '0000');
  t.is(incrementSequence('ab!'), '0001');
});

test('SEQF: starts at 0001, 4 bytes, skips numbers whose data file exists', async (t) => {
  const sp = await tmp();
  t.is(await nextSequence(sp, 'hub'), '0001');
  t.is(await fsp.readFile(path.join(sp, 'hub', 'SEQF'), 'latin1'), '0001');
  await writeSpoolData(sp, 'hub', 'D.0002', 'x');
  await writeSpoolData(sp, 'hub', 'D.X0003', 'x');
  t.is(await nextSequence(sp, 'hub'), '0004');
  await fsp.writeFile(path.join(sp, 'hub', 'SEQF'), '00ZZ');
  t.deepEqual(await nextSequences(sp, 'hub', 2), ['0100', '0101']);
});

test('sequence numbers are unique across concurrent calls and processes', async (t) => {
  const sp = await tmp();
  const script = `import { nextSequence } from ${JSON.stringify(spoolJs)};
const out = []; for (let i = 0; i < 25; i++) out.push(await nextSequence(process.argv[1], 'hub'));
console.log(out.join(' '));`;
  const child = (): Promise<string[]> =>
    new Promise((resolve, reject) => {
      const p = spawn(process.execPath, ['--input-type=module', '-e', script, sp], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.on('exit', (code) => (code === 0 ? resolve(out.trim().split(' ')) : reject(new Error(`child exit ${code}`))));
    });
  const inProc = Promise.all(Array.from({ length: 50 }, () => nextSequence(sp, 'hub')));
  const all = (await Promise.all([inProc, child(), child(), child()])).flat();
  t.is(all.length, 125);
  t.is(new Set(all).size, 125, 'no duplicates');
  t.is(await fsp.readFile(path.join(sp, 'hub', 'SEQF'), 'latin1'), '003H', '125 in base 36');
});

test('work lines in Taylor format (S trailing blank, E with "" and 0)', (t) => {
  const s = formatWorkLine({ type: 'S', from: 'D.0003', to: 'D.gatewayN0003', user: 'root', options: 'C', temp: 'D.0003', mode: 0o666, notify: '' });
  t.is(s, 'S D.0003 D.gatewayN0003 root -C D.0003 0666 ');
  const e = formatWorkLine({ type: 'E', from: 'D.0001', to: 'D.gatewayN0001', user: 'root', options: 'CZ', temp: 'D.0001', mode: 0o666, notify: '', command: ['rmail', 'bob@x.org'] });
  t.is(e, 'E D.0001 D.gatewayN0001 root -CZ D.0001 0666 "" 0 rmail bob@x.org');
  t.is(formatWorkLine({ type: 'R', from: '/etc/motd', to: '~/motd', user: 'ian', options: '' }), 'R /etc/motd ~/motd ian -');
  t.deepEqual(parseWorkLine(e), { type: 'E', from: 'D.0001', to: 'D.gatewayN0001', user: 'root', options: 'CZ', temp: 'D.0001', mode: 0o666, notify: '', command: ['rmail', 'bob@x.org'] });
  t.deepEqual(parseWorkLine('S /tmp/uut/f1 D.gatewayN0001 root -c D.0001 0666 '), {
    type: 'S', from: '/tmp/uut/f1', to: 'D.gatewayN0001', user: 'root', options: 'c', temp: 'D.0001', mode: 0o666, notify: '',
  });
  t.throws(() => formatWorkLine({ type: 'S', from: 'a b', to: 'x', user: 'u', options: 'C', temp: 'D.1', mode: 0o666, notify: '' }));
  t.throws(() => parseWorkLine('Q a b c d'));
});

test('X. file: writer and parser, all letters, unknown kept', (t) => {
  const text = formatExecFile({ user: 'root', system: 'leaf', files: [{ file: 'D.leafN0001' }], stdin: 'D.leafN0001', command: ['rmail', 'bob', 'a!b'], unknown: [] });
  t.is(text, 'U root leaf\nF D.leafN0001\nI D.leafN0001\nC rmail bob a!b\n');
  const x = parseExecFile('# comment\nF D.gatewayN0001 f1\nU root gateway\nF D.gatewayN0003\nI D.gatewayN0003\nO out sys\nN\nZ\nn\nB\ne\nE\nM stat\nQ\nR me@gateway\nW what\nC rmail bob f1\n');
  t.is(x.user, 'root');
  t.is(x.system, 'gateway');
  t.deepEqual(x.files, [{ file: 'D.gatewayN0001', name: 'f1' }, { file: 'D.gatewayN0003', name: undefined }]);
  t.is(x.stdin, 'D.gatewayN0003');
  t.deepEqual(x.stdout, { file: 'out', system: 'sys' });
  t.true(x.noMail && x.mailOnFail && x.mailOnSuccess && x.returnInput && x.useShell && x.useExec && x.quoted);
  t.is(x.statusFile, 'stat');
  t.is(x.requester, 'me@gateway');
  t.deepEqual(x.command, ['rmail', 'bob', 'f1']);
  t.deepEqual(x.unknown, ['W what']);
});

test('queueExecution: S data + S X. pair, byte-exact', async (t) => {
  const sp = await tmp();
  const msg = Buffer.from('From alice Tue Nov 27 15:49:00 2026 remote from leaf\nSubject: hi\n\nbody\n');
  const q = await queueExecution({ spoolDir: sp, system: 'hub', localName: 'leaf', command: 'rmail', args: ['bob', 'a!b!carol', 'x;rm'], stdin: msg, requester: 'uucp' });
  t.is(q.jobId, 'hub.N0002');
  t.is(await fsp.readFile(path.join(sp, 'hub/C./C.N0002'), 'latin1'),
    'S D.0001 D.leafN0001 uucp -C D.0001 0666 \nS D.X0002 X.leafN0002 uucp -C D.X0002 0666 \n');
  t.deepEqual(await fsp.readFile(path.join(sp, 'hub/D./D.0001')), msg);
  t.is(await fsp.readFile(path.join(sp, 'hub/D.X/D.X0002'), 'latin1'), 'U uucp leaf\nF D.leafN0001\nI D.leafN0001\nC rmail bob a!b!carol x;rm\n');
  // No temp files left in the C. directory.
  t.deepEqual(await fsp.readdir(path.join(sp, 'hub/C.')), ['C.N0002']);

  const q2 = await queueExecution({ spoolDir: sp, system: 'hub', localName: 'leaf', command: 'rmail', args: ['dave'], stdin: msg, grade: 'C', requester: 'root', notify: 'root@leaf', useE: true, mailOnFail: true });
  t.is(q2.jobId, 'hub.C0003');
  t.is(await fsp.readFile(path.join(sp, 'hub/C./C.C0003'), 'latin1'), 'E D.0003 D.leafC0003 root -CZR D.0003 0666 root@leaf 0 rmail dave\n');

  await t.throwsAsync(queueExecution({ spoolDir: sp, system: 'hub', localName: 'leaf', command: 'rmail', args: ['bad arg'], stdin: msg }), { message: /cannot be carried/ });
  await t.throwsAsync(queueExecution({ spoolDir: sp, system: '../etc', localName: 'leaf', command: 'rmail', args: ['x'], stdin: msg }));
});

test('stdin from a file is copied', async (t) => {
  const sp = await tmp();
  const f = path.join(sp, 'in.txt');
  await fsp.writeFile(f, 'hello\n');
  const q = await queueExecution({ spoolDir: sp, system: 'hub', localName: 'leaf', command: 'rnews', args: [], stdin: { path: f } });
  t.is(await fsp.readFile(path.join(sp, 'hub/D./D.0001'), 'latin1'), 'hello\n');
  t.is(q.workFile.commands.length, 2);
});

test('pending work in grade order; markCommandDone rewrites then removes', async (t) => {
  const sp = await tmp();
  const mk = (grade: string): Promise<unknown> => queueExecution({ spoolDir: sp, system: 'hub', localName: 'leaf', command: 'rmail', args: ['x'], stdin: 'm', grade });
  await mk('a');
  await mk('N');
  await mk('0');
  await mk('C');
  const work = await listPendingWork(sp, 'hub');
  t.deepEqual(work.map((w) => w.grade), ['0', 'C', 'N', 'a']);
  t.deepEqual((await listPendingWork(sp, 'hub', { minGrade: 'N' })).map((w) => w.grade), ['0', 'C', 'N']);

  const first = work[0];
  const dataPath = spoolFilePath(sp, 'hub', (first.commands[0] as { temp: string }).temp);
  t.is(await markCommandDone(sp, 'hub', first.name, 0), 1);
  await t.throwsAsync(fsp.stat(dataPath), { code: 'ENOENT' });
  const after = await readWorkFile(sp, 'hub', first.name);
  t.is(after.commands.length, 1);
  t.is(after.commands[0].to.slice(0, 2), 'X.');
  t.is(await markCommandDone(sp, 'hub', first.name, 0), 0);
  await t.throwsAsync(fsp.stat(first.path), { code: 'ENOENT' });
  t.is((await listPendingWork(sp, 'hub')).length, 3);
});

test('writeWorkFile never overwrites and leaves no partial file', async (t) => {
  const sp = await tmp();
  const cmd = { type: 'R' as const, from: 'a', to: 'b', user: 'u', options: '' };
  await writeWorkFile(sp, 'hub', 'N', [cmd], { seq: '0001' });
  await t.throwsAsync(writeWorkFile(sp, 'hub', 'N', [cmd], { seq: '0001' }), { code: 'EEXIST' });
  t.deepEqual(await fsp.readdir(path.join(sp, 'hub/C.')), ['C.N0001']);
});

test('received files: temp path, durable store, .Received records', async (t) => {
  const sp = await tmp();
  const tp = receiveTempPath(sp, 'hub', 'D.0007');
  t.is(tp, path.join(sp, '.Temp/hub/D.0007'));
  t.regex(receiveTempPath(sp, 'hub', '../x'), /\.Temp\/TM\./);
  await fsp.mkdir(path.dirname(tp), { recursive: true });
  await fsp.writeFile(tp, 'data');
  const dest = spoolFilePath(sp, 'hub', 'D.hubN0007');
  await storeReceivedFile(tp, dest);
  t.is(await fsp.readFile(dest, 'latin1'), 'data');
  await fsp.writeFile(tp, 'again');
  await t.throwsAsync(storeReceivedFile(tp, dest, { noReplace: true }), { code: 'EEXIST' });
  await markReceived(sp, 'hub', 'D.0007');
  t.true(await takeReceived(sp, 'hub', 'D.0007'));
  t.false(await takeReceived(sp, 'hub', 'D.0007'));
});

test('path safety: refusals', async (t) => {
  const root = await tmp();
  const pub = path.join(root, 'pub');
  const sp = path.join(root, 'spool');
  await fsp.mkdir(path.join(pub, 'sub'), { recursive: true });
  await fsp.mkdir(sp);
  await fsp.symlink('/etc', path.join(pub, 'etc-link'));
  await fsp.symlink('/etc/passwd', path.join(pub, 'passwd-link'));
  execFileSync('mknod', [path.join(pub, 'null'), 'c', '1', '3']);
  const pol: PathPolicy = { spoolDir: sp, system: 'hub', pubdir: pub };
  const no = async (name: string, purpose: 'read' | 'write', re: RegExp): Promise<void> => {
    const r = await resolveRemotePath(name, pol, purpose);
    t.false(r.ok, name);
    if (!r.ok) t.regex(r.reason, re, name);
  };
  await no('/etc/passwd', 'read', /outside/);
  await no('/etc/passwd', 'write', /outside/);
  await no('../x', 'write', /\.\./);
  await no('D.../../x', 'write', /\.\./);
  await no('D.leaf/../../x', 'write', /\.\./);
  await no(`${pub}/../spool/hub/C./C.N0001`, 'write', /\.\./);
  await no('/tmp/x', 'write', /outside/);
  await no('x', 'write', /not a spool file name/);
  await no('C.N0001', 'write', /not a spool file name/);
  await no('D.leafN0001', 'read', /not a spool file name/);
  await no('~root/.ssh/authorized_keys', 'write', /~uucp/);
  await no('~/etc-link/passwd', 'write', /outside/);
  await no('~/etc-link/newfile', 'write', /outside/);
  await no('~/passwd-link', 'read', /symbolic link/);
  await no('~/passwd-link', 'write', /symbolic link/);
  await no('~/null', 'write', /device/);
  await no('~/null', 'read', /device/);
  await no('~/sub', 'write', /directory/);
  await no('~/missing', 'read', /does not exist/);
  await no('D.a\nb', 'write', /control/);
  // Exclusions, last match wins.
  const excl: PathPolicy = { ...pol, allowed: ['~', '!~/sub'] };
  t.false((await resolveRemotePath('~/sub/f', excl, 'write')).ok);
  t.false(checkRemoteName('/dev/null', pol, 'read').ok);
});

test('path safety: accepted names', async (t) => {
  const root = await tmp();
  const pub = path.join(root, 'pub');
  await fsp.mkdir(pub);
  await fsp.writeFile(path.join(pub, 'file'), 'x');
  const sp = path.join(root, 'spool');
  const pol: PathPolicy = { spoolDir: sp, system: 'hub', pubdir: pub };
  const realPub = await fsp.realpath(pub);
  t.deepEqual(await resolveRemotePath('D.leafN0001', pol, 'write'), { ok: true, path: path.join(sp, 'hub/D./D.leafN0001'), spool: true });
  t.deepEqual(await resolveRemotePath('X.leafN0001', pol, 'write'), { ok: true, path: path.join(sp, 'hub/X./X.leafN0001'), spool: true });
  t.deepEqual(await resolveRemotePath('~/new/dir/f', pol, 'write'), { ok: true, path: path.join(realPub, 'new/dir/f'), spool: false });
  t.deepEqual(await resolveRemotePath('~uucp/file', pol, 'read'), { ok: true, path: path.join(realPub, 'file'), spool: false });
  t.deepEqual(await resolveRemotePath(`${pub}/file`, pol, 'read'), { ok: true, path: path.join(realPub, 'file'), spool: false });
});

test('uux command line parser', (t) => {
  t.like(parseUuxArgs(['-r', '-', 'hub!rmail', 'bob', '(a!b@c)']), { system: 'hub', command: 'rmail', args: ['bob', 'a!b@c'], readStdin: true, queueOnly: true, notify: 'default' });
  t.like(parseUuxArgs(['-p', '-ga', '-a', 'me@leaf', '-n', 'hub!rnews']), { grade: 'a', requester: 'me@leaf', notify: 'none', command: 'rnews', args: [] });
  t.like(parseUuxArgs(['-rzj', 'hub!rmail bob carol']), { queueOnly: true, notify: 'error', printJobId: true, args: ['bob', 'carol'] });
  t.like(parseUuxArgs(['rmail', 'x']), { system: '', command: 'rmail' });
  t.like(parseUuxArgs(['-I', '/etc/uucp/config', '-', 'hub!rmail', 'x;y', '$HOME']), { configFile: '/etc/uucp/config', args: ['x;y', '$HOME'] });
  t.throws(() => parseUuxArgs(['-r']), { message: /no command/ });
  t.throws(() => parseUuxArgs(['-q', 'hub!rmail']), { message: /unknown option/ });
  t.throws(() => parseUuxArgs(['-g', '%', 'hub!rmail']), { message: /bad grade/ });
  t.throws(() => parseUuxArgs(['hub!/bin/sh']), { message: /bad command/ });
  t.throws(() => parseUuxArgs(['../x!rmail']));
});
