// The uux, uuxqt and uustat commands as a user runs them (also through links named
// after them), and a round trip without uucico: our uux transport queues a job at
// leaf, its files are moved into hub's spool as uucico would store them, and hub's
// `uugate uuxqt` delivers the message byte for byte.
import test from 'ava';
import { promises as fsp, existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync, mkdtempSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { makeSite, run, flags, maildirMessages, UUGATE, type Site, siteWithSys } from '../helpers/site.js';
import { loadGateway } from '../../src/runtime/gateway.js';
import { createUuxTransport } from '../../src/deliver/uux.js';
import { listJobs } from '../../src/uucp/uustat.js';
import { recordCall, STATUS } from '../../src/uucp/status.js';
import { parseExecFile } from '../../src/uucp/spool/exec-file.js';
import { parseWorkFile, writeSpoolData } from '../../src/uucp/spool/work-file.js';
import { spoolFilePath } from '../../src/uucp/spool/names.js';

const MSG = 'Subject: cli\nTo: bob\n\nhello\nFrom me\n';

const site = siteWithSys;

const uucpSpool = (s: Site): string => path.join(s.spool, 'uucp');

test('uux - hub!rmail queues the job; uustat -a lists it; uustat -k removes it', async (t) => {
  const s = site();
  const r = await run(s, ['uux', '-r', '-j', '-g', 'A', '-a', 'me@leaf.example.org', '-', 'hub!rmail', 'bob', '(a!b!c)'], MSG);
  t.is(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  t.is(id, 'hub.A0002');
  const x = parseExecFile(readFileSync(path.join(uucpSpool(s), 'hub/D.X/D.X0002'), 'latin1'));
  t.deepEqual(x.command, ['rmail', 'bob', 'a!b!c'], 'parentheses removed, as uux does');
  t.is(x.requester, 'me@leaf.example.org');
  t.is(x.system, 'leaf');
  t.is(readFileSync(path.join(uucpSpool(s), 'hub/D./D.0001'), 'latin1'), MSG, 'standard input byte for byte');

  const list = await run(s, ['uustat', '-a']);
  t.is(list.code, 0, list.stderr);
  t.regex(list.stdout, /^hub\.A0002 hub \S+ \d\d-\d\d \d\d:\d\d Executing rmail bob a!b!c \(sending \d+ bytes\)\n$/);
  t.is((await run(s, ['uustat', '-s', 'hub'])).stdout, list.stdout);
  t.is((await run(s, ['uustat', '-s', 'other'])).stdout, '');

  const k = await run(s, ['uustat', '-k', id]);
  t.is(k.code, 0, k.stderr);
  t.is(k.stdout, '', 'silent on success, like Taylor');
  t.deepEqual(await listJobs(uucpSpool(s)), []);
  t.deepEqual(readdirSync(path.join(uucpSpool(s), 'hub/D.')), []);
  const again = await run(s, ['uustat', '-k', id]);
  t.is(again.code, 1);
  t.is(again.stderr, `uustat: ${id}: Job not found\n`);
});

test('uux options: -n writes N, -z writes Z; an unknown system exits 68; no system is a usage error', async (t) => {
  const s = site();
  t.is((await run(s, ['uux', '-n', '-', 'hub!rmail', 'x'], MSG)).code, 0);
  t.is((await run(s, ['uux', '-z', 'hub!rnews'])).code, 0);
  const xs = readdirSync(path.join(uucpSpool(s), 'hub/D.X')).sort().map((f) => parseExecFile(readFileSync(path.join(uucpSpool(s), 'hub/D.X', f), 'latin1')));
  t.true(xs[0].noMail);
  t.true(xs[1].mailOnFail);
  t.is(xs[1].stdin, undefined, 'no input without -');
  const bad = await run(s, ['uux', '-', 'nowhere!rmail', 'x'], MSG);
  t.is(bad.code, 68);
  t.regex(bad.stderr, /nowhere: system not found/);
  t.is((await run(s, ['uux', 'rmail', 'x'])).code, 64);
});

test('uustat -q and -m, and -r rejuvenates a job', async (t) => {
  const s = site();
  t.is((await run(s, ['uux', '-', 'hub!rmail', 'bob'], MSG)).code, 0);
  await writeSpoolData(uucpSpool(s), 'hub', 'X.hubN0009', 'U root hub\nC rmail bob\n');
  const now = Date.now();
  await recordCall(uucpSpool(s), 'hub', { code: STATUS.DIAL_FAILED, now });
  const q = await run(s, ['uustat', '-q']);
  t.is(q.code, 0, q.stderr);
  t.regex(q.stdout, /^hub +1C \(\d+ secs?\) +1X \(\d+ secs?\) +\d\d-\d\d \d\d:\d\d Dial failed\n$/);
  const m = await run(s, ['uustat', '-m']);
  t.regex(m.stdout, /^hub +\d\d-\d\d \d\d:\d\d Dial failed \(1 try, next after \d\d-\d\d \d\d:\d\d\)\n$/);
  const [job] = await listJobs(uucpSpool(s));
  const old = new Date(now - 86400_000);
  await fsp.utimes(job.workFile, old, old);
  t.is((await run(s, ['uustat', '-r', job.id])).code, 0);
  t.true((await listJobs(uucpSpool(s)))[0].time > now - 60_000, 'the job counts as queued now');
  t.is((await run(s, ['uustat', '-r', 'hub.N9999'])).code, 1);
});

test('commands that read uucp/ report unsupported Taylor keywords on stderr with file:line, and go on', async (t) => {
  const s = site('system hub\ncommands rmail\ntimegrade C Any\nport type tcp\nport frobnicate 1\n');
  const want = `${path.join(s.uucp, 'sys')}:3: keyword "timegrade" not supported`;
  const uux = await run(s, ['uux', '-', 'hub!rmail', 'bob'], MSG);
  t.is(uux.code, 0, uux.stderr);
  t.true(uux.stderr.includes(`uux: ${want}\n`), uux.stderr);
  t.regex(uux.stderr, /sys:5: keyword "frobnicate" not supported/, 'an inline port keyword too');
  // No time line: -s declines the call after reading the configuration.
  const uucico = await run(s, ['uucico', '-s', 'hub']);
  t.is(uucico.code, 75);
  t.true(uucico.stderr.startsWith(`uucico: ${want}\n`), uucico.stderr);
  t.regex(uucico.stderr, /not called: wrong time to call/);
  const uuxqt = await run(s, ['uuxqt']);
  t.is(uuxqt.code, 0);
  t.true(uuxqt.stderr.includes(`uuxqt: ${want}\n`), uuxqt.stderr);
  const status = await run(s, ['status']);
  t.is(status.code, 0);
  t.true(status.stderr.includes(`status: ${want}\n`), status.stderr);
  t.regex(status.stdout, /hub/);
});

test('links named uux, uustat and uuxqt behave as those commands', async (t) => {
  const s = site();
  const bin = mkdtempSync(path.join(os.tmpdir(), 'uugate-links-'));
  for (const n of ['uux', 'uustat', 'uuxqt']) symlinkSync(UUGATE, path.join(bin, n));
  const call = (name: string, args: string[], input = ''): ReturnType<typeof spawnSync> =>
    spawnSync(path.join(bin, name), args, { input, env: s.env, encoding: 'latin1' });
  const q = call('uux', ['-r', '-j', '-', 'hub!rmail', 'bob'], MSG);
  t.is(q.status, 0, String(q.stderr));
  t.is(String(q.stdout).trim(), 'hub.N0002');
  t.regex(String(call('uustat', ['-a']).stdout), /^hub\.N0002 hub /);
  await writeSpoolData(uucpSpool(s), 'hub', 'D.hubN0001', `From alice Thu Nov 26 10:00:00 2026 remote from hub\n${MSG}`);
  await writeSpoolData(uucpSpool(s), 'hub', 'X.hubN0002', 'U root hub\nF D.hubN0001\nI D.hubN0001\nC rmail bob\n');
  const x = call('uuxqt', ['-v']);
  t.is(x.status, 0, String(x.stderr));
  t.is(String(x.stdout), '1 executed, 0 failed, 0 deferred, 0 waiting for files, 0 corrupt, 0 from unknown systems\n');
  const [msg] = maildirMessages(path.join(s.spool, 'mail/bob'));
  t.true(msg.endsWith(MSG));
});

test('round trip without uucico: leaf queues with the uux transport, hub runs uugate uuxqt, the message arrives byte for byte', async (t) => {
  const leaf = site('system hub\n');
  const hub = makeSite({ conf: { hostnames: 'hub:hub.example.org', visible_name: 'hub.example.org', uucp_name: 'hub' } });
  writeFileSync(path.join(hub.uucp, 'sys'), 'system leaf\ncommands rmail\n');
  const message = Buffer.from('Received: from x by leaf; Fri, 27 Nov 2026 15:00:00 +0000\nSubject: round trip\n\nbody \xe9 $HOME `x`\nFrom the middle\n', 'latin1');
  const gw = await loadGateway(flags(leaf));
  const uux = createUuxTransport(gw);
  const res = await uux.deliver({
    envelope: { id: 'rt-1', sender: 'alice@leaf.example.org', recipients: ['bob@hub.example.org', 'carol'], arrival: Date.now(), origin: 'test' },
    data: message,
    recipients: [
      { rcpt: 'bob@hub.example.org', route: { transport: 'uux', nextHop: 'hub', address: 'bob', router: 'test', why: [] } },
      { rcpt: 'x!alice', route: { transport: 'uux', nextHop: 'hub', address: 'hub!alice', router: 'test', why: [] } },
    ],
  });
  t.true(res.every((r) => r.outcome === 'ok'), JSON.stringify(res));
  // What uucico does: each S command's file arrives in hub's spool under the `to` name.
  const [work] = await listJobs(uucpSpool(leaf));
  for (const c of parseWorkFile(readFileSync(work.workFile, 'latin1'))) {
    if (c.type !== 'S') throw new Error('expected S commands');
    const dest = spoolFilePath(uucpSpool(hub), 'leaf', c.to);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    await fsp.rename(spoolFilePath(uucpSpool(leaf), 'hub', c.from), dest);
  }
  t.deepEqual(readdirSync(path.join(uucpSpool(hub), 'leaf/X.')), ['X.leafC0002']);
  const r = await run(hub, ['uuxqt']);
  t.is(r.code, 0, r.stderr);
  for (const who of ['bob', 'alice']) {
    const [msg] = maildirMessages(path.join(hub.spool, `mail/${who}`));
    t.truthy(msg, who);
    t.regex(msg, /^Return-Path: <leaf!alice>\nDelivered-To: \S+\nReceived: from leaf\n\tby hub with UUCP \(uugate rmail\)\n/);
    t.true(msg.endsWith(message.toString('latin1')), `${who}: byte for byte after our headers`);
  }
  t.deepEqual(readdirSync(path.join(uucpSpool(hub), 'leaf/X.')), []);
  t.deepEqual(readdirSync(path.join(uucpSpool(hub), 'leaf/D.')), []);
  t.false(existsSync(path.join(uucpSpool(hub), '.Corrupt')));
});
