// Interop with the real Taylor UUCP (Debian's uucp 1.07): a job queued by our uux
// library is listed by Taylor's uustat, and a job queued by Taylor's uux is listed
// by our uustat library (both formatted the same way). Also the status file format
// against a real failed `uucico -S`.
import test from 'ava';
import { promises as fsp, existsSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { queueExecution } from '../../src/uucp/uux.js';
import { listJobs, formatJob, killJob, queueSummary, formatSummary, systemStatuses, formatStatus } from '../../src/uucp/uustat.js';
import { readStatus, recordCall, formatStatusLine, STATUS } from '../../src/uucp/status.js';
import { listPendingWork } from '../../src/uucp/spool/work-file.js';
import { parseExecFile } from '../../src/uucp/spool/exec-file.js';

const haveTaylor = process.getuid?.() === 0 && existsSync('/usr/bin/uustat') && existsSync('/usr/bin/uux') && existsSync('/usr/sbin/uucico');
const taylorTest = haveTaylor ? test.serial : test.skip;

interface Site {
  root: string;
  spool: string;
  conf: string;
}

/** A private Taylor configuration whose spool is a temp directory readable by user uucp. */
async function site(): Promise<Site> {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'uutaylor-'));
  await fsp.chmod(root, 0o755);
  const spool = path.join(root, 'spool');
  for (const d of ['spool', 'lock', 'pub']) await fsp.mkdir(path.join(root, d));
  const conf = path.join(root, 'config');
  await fsp.writeFile(conf, [
    'nodename leaf',
    `spool ${spool}`,
    `pubdir ${root}/pub`,
    `lockdir ${root}/lock`,
    `logfile ${root}/log`,
    `statfile ${root}/stats`,
    `debugfile ${root}/debug`,
    `sysfile ${root}/sys`,
    `portfile ${root}/port`,
    `dialfile ${root}/dial`,
    `callfile ${root}/call`,
    `passwdfile ${root}/passwd`,
    'hdb-files false',
    'v2-files false',
    'run-uuxqt never',
    '',
  ].join('\n'));
  // Port 9 on loopback: nothing listens, so a call fails at once ("Dial failed").
  await fsp.writeFile(path.join(root, 'sys'), 'system hub\ntime any\nport TCP9\naddress 127.0.0.1\ncommands rmail\n');
  await fsp.writeFile(path.join(root, 'port'), 'port TCP9\ntype tcp\nservice 9\n');
  for (const f of ['dial', 'call', 'passwd']) await fsp.writeFile(path.join(root, f), '');
  return { root, spool, conf };
}

/** Taylor runs as user uucp: hand the tree over. */
function giveToUucp(s: Site): void {
  execFileSync('chown', ['-R', 'uucp', s.root]);
}

function uustat(s: Site, ...args: string[]): string {
  const r = spawnSync('/usr/bin/uustat', ['-I', s.conf, ...args], { encoding: 'latin1' });
  if (r.status !== 0) throw new Error(`uustat ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

taylorTest('a job queued by our uux library is listed by Taylor uustat', async (t) => {
  const s = await site();
  const body = Buffer.from('From alice Thu Nov 26 10:00:00 2026 remote from leaf\nSubject: interop\n\nhello\n');
  const q = await queueExecution({ spoolDir: s.spool, system: 'hub', localName: 'leaf', command: 'rmail', args: ['bob@example.org', 'hub!carol'], stdin: body, requester: 'alice' });
  giveToUucp(s);
  const out = uustat(s, '-a');
  const lines = out.trim().split('\n');
  t.is(lines.length, 1, out);
  t.regex(lines[0], /^hub\.N0002 hub alice \d\d-\d\d \d\d:\d\d Executing rmail bob@example\.org hub!carol \(sending \d+ bytes\)$/);
  // Our own uustat formats the same job identically.
  const ours = await listJobs(s.spool);
  t.is(ours.length, 1);
  t.is(ours[0].id, q.jobId);
  t.is(formatJob(ours[0]), lines[0]);
  // Taylor's uustat -k removes the job (it can parse and own our work file).
  uustat(s, '-k', q.jobId);
  t.deepEqual(await listPendingWork(s.spool, 'hub'), []);
  t.deepEqual(await fsp.readdir(path.join(s.spool, 'hub/D.')), [], 'Taylor removed our D. file');
});

taylorTest('an E job queued by our library in E form is also read by Taylor', async (t) => {
  const s = await site();
  await queueExecution({ spoolDir: s.spool, system: 'hub', localName: 'leaf', command: 'rmail', args: ['dave'], stdin: 'x\n', useE: true, grade: 'C', requester: 'root' });
  giveToUucp(s);
  const out = uustat(s, '-a').trim();
  t.regex(out, /^hub\.C0001 hub root .* Executing rmail dave \(sending 2 bytes\)$/);
  t.is(formatJob((await listJobs(s.spool))[0]), out);
});

taylorTest('a job queued by Taylor uux is listed (and killed) by our uustat library', async (t) => {
  const s = await site();
  giveToUucp(s);
  const r = spawnSync('/usr/bin/uux', ['-I', s.conf, '-r', '-', 'hub!rmail', 'bob', '(alice@x.org)'], { input: 'Subject: t\n\nbody\n' });
  t.is(r.status, 0, String(r.stderr));
  const b = spawnSync('/usr/bin/uux', ['-I', s.conf, '-r', '-b', '-a', 'me@leaf', '-', 'hub!rmail', 'carol'], { input: 'second\n' });
  t.is(b.status, 0, String(b.stderr));
  const jobs = await listJobs(s.spool);
  t.is(jobs.length, 2);
  const e = jobs.find((j) => j.commands[0].type === 'E')!;
  const sx = jobs.find((j) => j.commands[0].type === 'S')!;
  t.is(e.description, 'Executing rmail bob alice@x.org');
  t.is(e.size, 17);
  t.is(e.user, 'root');
  t.is(sx.description, 'Executing rmail carol');
  // Taylor's X. file, as our parser reads it.
  const xPath = path.join(s.spool, 'hub/D.X', sx.commands[1].from);
  const x = parseExecFile(await fsp.readFile(xPath, 'latin1'));
  t.is(x.system, 'leaf');
  t.is(x.requester, 'me@leaf');
  t.true(x.returnInput);
  t.deepEqual(x.command, ['rmail', 'carol']);
  // Same text as Taylor's own listing.
  const taylor = uustat(s, '-a').trim().split('\n').sort();
  t.deepEqual(jobs.map(formatJob).sort(), taylor);
  // Our -q summary against Taylor's.
  const tq = uustat(s, '-q').replace(/\s+$/, '');
  const oq = (await queueSummary(s.spool)).map(formatSummary).join('\n').replace(/\s+$/, '');
  // The job age may differ by a second between the two runs; the padding follows it.
  const age = (x: string): string => x.replace(/\(\d+ secs?\) +/, '(N secs) ');
  t.is(age(oq), age(tq));
  // Kill by id.
  t.true(await killJob(s.spool, e.id));
  t.false(await killJob(s.spool, e.id));
  t.false(await killJob(s.spool, 'hub.Nxx/../y'));
  t.is((await listJobs(s.spool)).length, 1);
  t.is(uustat(s, '-a').trim().split('\n').length, 1);
});

taylorTest('status file: Taylor writes what we parse, we write what Taylor shows', async (t) => {
  const s = await site();
  giveToUucp(s);
  spawnSync('/usr/sbin/uucico', ['-I', s.conf, '-S', 'hub']);
  const raw = await fsp.readFile(path.join(s.spool, '.Status/hub'), 'latin1');
  t.regex(raw, /^2 1 \d+ 600 Dial failed hub\n$/);
  const st = (await readStatus(s.spool, 'hub'))!;
  t.like(st, { code: STATUS.DIAL_FAILED, retries: 1, wait: 600, text: 'Dial failed' });
  t.is(formatStatusLine(st), raw, 'round trip byte for byte');
  const taylorM = uustat(s, '-m').trim();
  t.is(formatStatus((await systemStatuses(s.spool))[0]), taylorM);

  // Our recordCall: a second failure, then Taylor reads our file.
  const now = Date.now();
  const ours = await recordCall(s.spool, 'hub', { code: STATUS.LOGIN_FAILED, now, bytesSent: 10 });
  t.like(ours, { retries: 2, wait: 1200, code: 3, text: 'Login failed' });
  t.is(await fsp.readFile(path.join(s.spool, '.Status/hub'), 'latin1'), `3 2 ${Math.floor(now / 1000)} 1200 Login failed hub\n`);
  giveToUucp(s);
  t.regex(uustat(s, '-m'), /^hub +\d\d-\d\d \d\d:\d\d Login failed \(2 tries, next after \d\d-\d\d \d\d:\d\d\)\n$/);
  t.is(formatStatus(ours, now), uustat(s, '-m').trim());
  // Success resets, sidecar keeps the extra fields.
  const ok = await recordCall(s.spool, 'hub', { code: STATUS.COMPLETE, bytesSent: 100, bytesReceived: 50 });
  t.like(ok, { retries: 0, wait: 0 });
  const back = (await readStatus(s.spool, 'hub'))!;
  t.like(back.extra, { bytesSent: 100, bytesReceived: 50, lastResult: 'Conversation complete' });
  giveToUucp(s);
  t.regex(uustat(s, '-m'), /Conversation complete\n$/);
});

taylorTest('Taylor uucico sends our queued job to a Taylor peer, whose uuxqt runs it with our bytes', async (t) => {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'uutaylor2-'));
  await fsp.chmod(root, 0o755);
  const bin = path.join(root, 'bin');
  await fsp.mkdir(bin);
  // A stand-in rmail: records its arguments and standard input.
  await fsp.writeFile(path.join(bin, 'rmail'), `#!/bin/sh\n{ printf 'ARGS:'; for a in "$@"; do printf ' [%s]' "$a"; done; echo; /bin/cat; } > ${root}/out\n`, { mode: 0o755 });
  for (const s of ['leaf', 'hub']) {
    for (const d of ['spool', 'lock', 'pub']) await fsp.mkdir(path.join(root, s, d), { recursive: true });
    const files = ['sys', 'port', 'dial', 'call', 'passwd'];
    await fsp.writeFile(path.join(root, s, 'config'), [
      `nodename ${s}`, `spool ${root}/${s}/spool`, `pubdir ${root}/${s}/pub`, `lockdir ${root}/${s}/lock`,
      `logfile ${root}/${s}/log`, `statfile ${root}/${s}/stats`, `debugfile ${root}/${s}/debug`,
      ...files.map((f) => `${f === 'sys' ? 'sysfile' : `${f}file`} ${root}/${s}/${f}`),
      'hdb-files false', 'v2-files false', 'run-uuxqt never', '',
    ].join('\n'));
    for (const f of files) await fsp.writeFile(path.join(root, s, f), '');
  }
  await fsp.writeFile(path.join(root, 'leaf/sys'), [
    'system hub', 'time any', 'port type pipe', `port command /usr/sbin/uucico -I ${root}/hub/config -l`,
    'chat ogin: \\L word: \\P', 'call-login Uleaf', 'call-password pw', 'protocol g', '',
  ].join('\n'));
  await fsp.writeFile(path.join(root, 'hub/sys'), ['system leaf', 'called-login Uleaf', 'commands rmail', `command-path ${bin}`, 'protocol g', ''].join('\n'));
  await fsp.writeFile(path.join(root, 'hub/passwd'), 'Uleaf pw\n');

  const body = Buffer.from('From alice Thu Nov 26 10:00:00 2026 remote from leaf\nSubject: via Taylor\n\nline 1\n\x00binary\xff\n');
  await queueExecution({ spoolDir: path.join(root, 'leaf/spool'), system: 'hub', localName: 'leaf', command: 'rmail', args: ['bob@example.org', 'a!b!carol', '$HOME;x'], stdin: body, requester: 'alice' });
  execFileSync('chown', ['-R', 'uucp', root]);
  spawnSync('/usr/sbin/uucico', ['-I', path.join(root, 'leaf/config'), '-D', '-q', '-S', 'hub'], { timeout: 60_000 });
  const log = await fsp.readFile(path.join(root, 'leaf/log'), 'latin1');
  t.regex(log, /Sending D\.0001/);
  t.regex(log, /Call complete/);
  t.deepEqual(await listPendingWork(path.join(root, 'leaf/spool'), 'hub'), [], 'job done and removed by Taylor');
  spawnSync('/usr/sbin/uuxqt', ['-I', path.join(root, 'hub/config')], { timeout: 60_000 });
  const out = await fsp.readFile(path.join(root, 'out'));
  t.deepEqual(out, Buffer.concat([Buffer.from('ARGS: [bob@example.org] [a!b!carol] [$HOME;x]\n'), body]));
});
