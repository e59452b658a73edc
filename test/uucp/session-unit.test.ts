// Two of our UUCP sessions talking over in-memory streams: handshake variants
// and refusals, S/R/E/X commands, role reversal, file-name checks, damaged and
// stalled lines. No Taylor here (see test/interop/taylor-*.test.ts).
import test from 'ava';
import { spoolFilePath } from '../../src/uucp/spool/names.js';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { runCalledSession, runCallerSession, type SessionResult } from '../../src/uucp/session.js';
import { gOptionsFor } from '../../src/uucp/g/options.js';
import { LineReader, readMessage, writeMessage } from '../../src/uucp/session-io.js';
import { callerHandshake, parseCallerMessage } from '../../src/uucp/session-handshake.js';
import { FEATURE } from '../../src/uucp/features.js';
import { listPendingWork, writeSpoolData, writeWorkFile } from '../../src/uucp/spool/work-file.js';
import { listExecFiles, parseExecFile } from '../../src/uucp/spool/exec-file.js';
import { lockFileContent } from '../../src/uucp/lock.js';
import { queueExecution } from '../../src/uucp/uux.js';
import { duplexPair, ourEnv, type OurSite } from '../helpers/taylor.js';
import { checksum, TT } from '../../src/uucp/g/packet.js';
import { seededBytes } from '../helpers/noisy-cases.js';

const LEAF_SYS = 'system hub\ntime any\nprotocol g\n';
const HUB_SYS = 'system leaf\nprotocol g\n';

async function sites(leafSys = LEAF_SYS, hubSys = HUB_SYS): Promise<{ leaf: OurSite; hub: OurSite }> {
  return { leaf: await ourEnv('leaf', { sys: leafSys }), hub: await ourEnv('hub', { sys: hubSys }) };
}

/** leaf calls hub over an in-memory line; `filter` sees what leaf sends. */
async function call(
  leaf: OurSite,
  hub: OurSite,
  o: { filter?: (b: Buffer) => Buffer | null; login?: string } = {},
): Promise<[SessionResult, SessionResult]> {
  const [a, b] = duplexPair(o.filter);
  const sys = leaf.env.uucp.findSystem('hub')!;
  const r = await Promise.all([
    runCallerSession(new LineReader(a), sys, leaf.env),
    runCalledSession(new LineReader(b), hub.env, { login: o.login }),
  ]);
  a.destroy();
  b.destroy();
  return r;
}

const spoolFile = (s: OurSite, sys: string, kind: 'D.' | 'X.', name: string): string => path.join(s.spool, sys, kind, name);

// ---------------------------------------------------------------- handshake

test('an idle call: handshake with -N features, g starts, H/HY, both sides complete', async (t) => {
  const { leaf, hub } = await sites();
  const [m, s] = await call(leaf, hub);
  t.true(m.ok, m.error?.message);
  t.true(s.ok, s.error?.message);
  t.is(m.stage, 'complete');
  t.is(s.system, 'leaf');
  t.is(m.protocol, 'g');
  t.deepEqual(m.gSend, { window: 7, packetSize: 64 });
});

/** leaf's caller handshake against a scripted old-style peer: no -Yuugate, only g offered. */
async function plainPeerAnswers(leaf: OurSite, system = 'hub', shere = 'hub', rok = 'ROKN07', offer = 'Pg') {
  const [a, b] = duplexPair();
  const peer = new LineReader(b);
  const done = callerHandshake(new LineReader(a), leaf.env.uucp.findSystem(system)!, { ...leaf.env, timeoutMs: 5000 });
  writeMessage(peer, `Shere=${shere}`);
  await readMessage(peer, 5000, 'S');
  writeMessage(peer, rok);
  writeMessage(peer, offer);
  return { done, peer };
}

test('no protocol configured: i is preferred when both sides have it, g otherwise', async (t) => {
  const { leaf, hub } = await sites('system hub\ntime any\n', 'system leaf\n');
  const [m, s] = await call(leaf, hub);
  t.true(m.ok && s.ok, m.error?.message ?? s.error?.message);
  t.is(m.protocol, 'i');
  t.is(s.protocol, 'i');
  // A peer offering only g (old uucicos) still gets g.
  const { done, peer } = await plainPeerAnswers(leaf);
  t.is((await done).protocol, 'g');
  t.is(await readMessage(peer, 5000, 'U'), 'Ug');
  // A peer listing g before i (Taylor sends its own order) still gets i: its CRC-32 is what a bad line needs.
  const both = await plainPeerAnswers(leaf, 'hub', 'hub', 'ROKN07', 'PgGi');
  t.is((await both.done).protocol, 'i');
  t.is(await readMessage(both.peer, 5000, 'U'), 'Ui');
});

test('uugate peers know each other (-Yuugate); others are not told', async (t) => {
  const { leaf, hub } = await sites();
  const seen: string[] = [];
  const [m] = await call(leaf, hub, { filter: (c) => (seen.push(c.toString('latin1')), c) });
  t.true(m.ok);
  t.true(seen.some((x) => x.includes('Sleaf -R -N07 -Yuugate\0')));
  t.like(parseCallerMessage('Sleaf -R -N07 -Yuugate'), { mask: 0o7, restart: true, uugate: true });
  t.like(parseCallerMessage('Sleaf -R -N047'), { uugate: false });
  // A peer that does not answer with -Yuugate is not sent digests.
  const { done } = await plainPeerAnswers(leaf);
  t.is((await done).features, 0o7);
  // Their g asks for a lost packet alone (SRJ); other peers only ever get RJ.
  const hubSys = leaf.env.uucp.findSystem('hub')!;
  t.true(gOptionsFor(hubSys, { protocol: 'g', taylorPeer: true, features: 0o7 | FEATURE.DIGEST }).selectiveRepeat);
  t.false(gOptionsFor(hubSys, { protocol: 'g', taylorPeer: true, features: 0o7 }).selectiveRepeat);
});

test('parsing the caller message: -N masks, -R, -Q, -p, -vgrade=', (t) => {
  t.like(parseCallerMessage('Sleaf -R -N047'), { name: 'leaf', mask: 0o47, restart: true });
  t.like(parseCallerMessage('Sleaf -N'), { mask: 0o11 });
  t.like(parseCallerMessage('Sleaf -N0x7 -Q12 -pC'), { mask: 7, seq: '12', grade: 'C' });
  t.like(parseCallerMessage('Sleaf -vgrade=B -x5 -U1000'), { grade: 'B', debug: '5', ulimit: '1000' });
});

test('a peer that says bare "Shere" and plain ROK, after junk and CR terminators', async (t) => {
  const { leaf } = await sites();
  const [a, b] = duplexPair();
  const peer = new LineReader(b);
  const done = callerHandshake(new LineReader(a), leaf.env.uucp.findSystem('hub')!, { ...leaf.env, timeoutMs: 5000 });
  peer.write('noise\r\nlogin banner\x10junk\x10Shere\r');
  const s = await readMessage(peer, 5000, 'S');
  t.regex(s, /^Sleaf -R -N07 -Yuugate$/, 'the uugate announcement is an option Taylor\'s getopt skips');
  writeMessage(peer, 'ROK');
  writeMessage(peer, 'PtgG');
  const hs = await done;
  t.is(await readMessage(peer, 5000, 'U'), 'Ug');
  t.is(hs.features, 0);
  t.false(hs.taylorPeer);
  t.is(hs.protocol, 'g');
});

test('Shere=NAME cut to 7 characters matches the longer system name', async (t) => {
  const { leaf } = await sites('system hubsystem-long\ntime any\n');
  const { done } = await plainPeerAnswers(leaf, 'hubsystem-long', 'hubsyst', 'ROKN047');
  const hs = await done;
  t.is(hs.features, 0o7);
  t.true(hs.taylorPeer);
});

test('an unknown system is refused with "RYou are unknown to me"', async (t) => {
  const { leaf, hub } = await sites(LEAF_SYS, 'system other\n');
  const [m, s] = await call(leaf, hub);
  t.false(m.ok);
  t.is(m.stage, 'handshake');
  t.regex(m.error!.message, /refused: "You are unknown to me"/);
  t.regex(s.error!.message, /unknown system "leaf"/);
});

test('a login that is not the system\'s called-login is refused with RLOGIN', async (t) => {
  const { leaf, hub } = await sites(LEAF_SYS, 'system leaf\ncalled-login Uleaf\nsystem other\ncalled-login Uother\n');
  const [m] = await call(leaf, hub, { login: 'Uother' });
  t.regex(m.error!.message, /refused our login name/);
  const [ok] = await call(leaf, hub, { login: 'Uleaf' });
  t.true(ok.ok, ok.error?.message);
});

test('RLCK when a live process holds LCK..leaf on the called side', async (t) => {
  const { leaf, hub } = await sites();
  const sleeper = spawn('sleep', ['30']);
  await fsp.writeFile(path.join(hub.spool, 'LCK..leaf'), lockFileContent(sleeper.pid!));
  try {
    const [m, s] = await call(leaf, hub);
    t.regex(m.error!.message, /has us locked/);
    t.regex(s.error!.message, /locked by process/);
  } finally {
    sleeper.kill();
  }
  // A stale lock (dead owner) does not stop the call.
  await fsp.writeFile(path.join(hub.spool, 'LCK..leaf'), lockFileContent(999999));
  const [m2] = await call(leaf, hub);
  t.true(m2.ok, m2.error?.message);
});

test('no common protocol: UN and a clear error', async (t) => {
  const { leaf, hub } = await sites('system hub\ntime any\nprotocol G\n', 'system leaf\nprotocol g\n');
  const [m] = await call(leaf, hub);
  t.regex(m.error!.message, /no common protocol/);
});

// ---------------------------------------------------------------- transfers

test('a mail job (S data + S X.) arrives byte for byte; the job is removed only after CY', async (t) => {
  const { leaf, hub } = await sites();
  const body = Buffer.concat([Buffer.from('From alice Fri Nov 27 10:00:00 2026 remote from leaf\n\n'), randomBytes(3000)]);
  await queueExecution({ spoolDir: leaf.spool, system: 'hub', localName: 'leaf', command: 'rmail', args: ['bob@example.org'], stdin: body, requester: 'alice' });
  const [m, s] = await call(leaf, hub);
  t.true(m.ok && s.ok, m.error?.message ?? s.error?.message);
  t.is(m.stats.filesSent, 2);
  t.is(s.stats.execReceived, 1);
  t.deepEqual(await listPendingWork(leaf.spool, 'hub'), []);
  const xs = await listExecFiles(hub.spool, 'leaf');
  t.is(xs.length, 1);
  const x = parseExecFile(await fsp.readFile(xs[0]!.path, 'latin1'));
  t.deepEqual(x.command, ['rmail', 'bob@example.org']);
  t.deepEqual(await fsp.readFile(spoolFile(hub, 'leaf', 'D.', x.stdin!)), body);
  t.deepEqual(await fsp.readdir(path.join(hub.spool, '.Received', 'leaf')).catch(() => []), [], 'receptions forgotten after a clean end');
});

test('an E job: EY, data, CY; the called side writes the X. file itself', async (t) => {
  const { leaf, hub } = await sites();
  await queueExecution({ spoolDir: leaf.spool, system: 'hub', localName: 'leaf', command: 'rmail', args: ['carol'], stdin: 'hello\n', useE: true, requester: 'alice', mailOnFail: true });
  const [m, s] = await call(leaf, hub);
  t.true(m.ok && s.ok);
  const xs = await listExecFiles(hub.spool, 'leaf');
  t.is(xs.length, 1);
  const x = parseExecFile(await fsp.readFile(xs[0]!.path, 'latin1'));
  t.deepEqual(x.command, ['rmail', 'carol']);
  t.true(x.mailOnFail);
  t.is(x.system, 'leaf');
  t.is(await fsp.readFile(spoolFile(hub, 'leaf', 'D.', x.stdin!), 'latin1'), 'hello\n');
  t.is(xs[0]!.name, `X.${x.stdin!.slice(2)}`);
});

test('role reversal: both sides have work, one call moves all of it (S both ways, R)', async (t) => {
  const { leaf, hub } = await sites();
  await queueExecution({ spoolDir: leaf.spool, system: 'hub', localName: 'leaf', command: 'rmail', args: ['a'], stdin: 'to hub\n' });
  await queueExecution({ spoolDir: hub.spool, system: 'leaf', localName: 'hub', command: 'rmail', args: ['b'], stdin: 'to leaf\n' });
  // hub also wants a file from leaf's public directory.
  const wanted = randomBytes(100_000);
  await fsp.writeFile(path.join(leaf.pub, 'wanted.bin'), wanted);
  await writeWorkFile(hub.spool, 'leaf', 'N', [{ type: 'R', from: '~/wanted.bin', to: path.join(hub.pub, 'got.bin'), user: 'bob', options: 'd' }]);
  const done: string[] = [];
  leaf.env.progress = (p) => p.done && done.push(`leaf ${p.direction} ${p.name} ${p.bytes}/${p.size}`);
  hub.env.progress = (p) => p.done && done.push(`hub ${p.direction} ${p.name} ${p.bytes}/${p.size}`);
  const [m, s] = await call(leaf, hub);
  t.true(done.includes('leaf send ~/wanted.bin 100000/100000'), done.join('; '));
  t.true(done.includes(`hub receive ~/wanted.bin 100000/100000`), done.join('; '));
  t.true(done.filter((d) => /^hub receive [DX]./.test(d)).length >= 2, `data and X. file reported as received: ${done.join('; ')}`);
  t.true(m.ok && s.ok, m.error?.message ?? s.error?.message);
  t.deepEqual(await listPendingWork(leaf.spool, 'hub'), []);
  t.deepEqual(await listPendingWork(hub.spool, 'leaf'), []);
  t.is((await listExecFiles(hub.spool, 'leaf')).length, 1);
  t.is((await listExecFiles(leaf.spool, 'hub')).length, 1);
  t.is(m.stats.execReceived, 1, 'the caller received an execution after the roles swapped');
  t.deepEqual(await fsp.readFile(path.join(hub.pub, 'got.bin')), wanted);
});

test('file names: SN2 for /etc/passwd and ../x, RN2 for /etc/passwd and spool names; the jobs are dropped', async (t) => {
  const { leaf, hub } = await sites();
  await writeSpoolData(leaf.spool, 'hub', 'D.0001', 'evil\n');
  await writeSpoolData(leaf.spool, 'hub', 'D.0002', 'evil\n');
  await writeSpoolData(leaf.spool, 'hub', 'D.0003', 'evil\n');
  await writeWorkFile(leaf.spool, 'hub', 'N', [
    { type: 'S', from: 'D.0001', to: '/etc/passwd', user: 'x', options: 'C', temp: 'D.0001', mode: 0o666, notify: '' },
    { type: 'S', from: 'D.0002', to: '~/../x', user: 'x', options: 'C', temp: 'D.0002', mode: 0o666, notify: '' },
    { type: 'S', from: 'D.0003', to: 'C.Nevil', user: 'x', options: 'C', temp: 'D.0003', mode: 0o666, notify: '' },
    { type: 'R', from: '/etc/passwd', to: path.join(leaf.pub, 'p'), user: 'x', options: '' },
    { type: 'R', from: 'D.hubN0001', to: path.join(leaf.pub, 'q'), user: 'x', options: '' },
  ]);
  const before = await fsp.readFile('/etc/passwd', 'latin1');
  const [m, s] = await call(leaf, hub);
  t.true(m.ok && s.ok);
  t.is(await fsp.readFile('/etc/passwd', 'latin1'), before);
  await t.throwsAsync(fsp.stat(path.join(path.dirname(hub.pub), 'x')));
  await t.throwsAsync(fsp.stat(path.join(leaf.pub, 'p')));
  t.deepEqual(await listPendingWork(leaf.spool, 'hub'), [], 'refused for good: removed');
  const hubLog = hub.logs.join('\n');
  t.regex(hubLog, /refused to receive \/etc\/passwd: .*outside the permitted/);
  t.regex(hubLog, /refused to receive ~\/\.\.\/x: "\.\." in file name/);
  t.regex(hubLog, /refused to receive C\.Nevil/);
  t.regex(hubLog, /refused to send \/etc\/passwd/);
  t.regex(hubLog, /refused to send D\.hubN0001: spool files may not be requested/);
  t.regex(leaf.logs.join('\n'), /S D\.0001 refused: permission denied; job removed/);
});

test('a file for a directory in the public area takes the sender\'s base name', async (t) => {
  const { leaf, hub } = await sites();
  await fsp.mkdir(path.join(hub.pub, 'in'));
  await fsp.writeFile(path.join(leaf.root, 'report.txt'), 'report\n');
  await writeWorkFile(leaf.spool, 'hub', 'N', [
    { type: 'S', from: path.join(leaf.root, 'report.txt'), to: '~/in/', user: 'x', options: 'c', temp: 'D.0', mode: 0o644, notify: '' },
  ]);
  const [m] = await call(leaf, hub);
  t.true(m.ok);
  t.is(await fsp.readFile(path.join(hub.pub, 'in', 'report.txt'), 'latin1'), 'report\n');
});

// ---------------------------------------------------------------- bad lines

test('garbage before the handshake and inside g packets: the transfer still arrives intact', async (t) => {
  const { leaf, hub } = await sites();
  hub.env.gOverrides = { timeoutMs: 500 };
  leaf.env.gOverrides = { timeoutMs: 500 };
  const body = randomBytes(40_000);
  await queueExecution({ spoolDir: leaf.spool, system: 'hub', localName: 'leaf', command: 'rmail', args: ['x'], stdin: body });
  let n = 0;
  let started = false;
  const filter = (c: Buffer): Buffer => {
    n++;
    if (!started) {
      started = true;
      return Buffer.concat([Buffer.from('garbage\r\n\x7f\x10\x10'), c]);
    }
    if (n % 29 === 0) return Buffer.concat([Buffer.from([0x10, 0x02, 0x55, 0x99]), c]); // bogus header
    if (n % 41 === 0 && c.length > 20) {
      const d = Buffer.from(c);
      d[d.length - 3] ^= 0x5a; // damage a data byte: bad checksum
      return d;
    }
    return c;
  };
  const [m, s] = await call(leaf, hub, { filter });
  t.true(m.ok && s.ok, m.error?.message ?? s.error?.message);
  const x = parseExecFile(await fsp.readFile((await listExecFiles(hub.spool, 'leaf'))[0]!.path, 'latin1'));
  t.deepEqual(await fsp.readFile(spoolFile(hub, 'leaf', 'D.', x.stdin!)), body);
});

test('a peer that stops answering mid-file: the call fails, the job stays, the next call restarts the file', async (t) => {
  const { leaf, hub } = await sites();
  const fast = { timeoutMs: 300, retries: 3 };
  leaf.env.gOverrides = fast;
  hub.env.gOverrides = fast;
  const big = randomBytes(200_000);
  await writeSpoolData(leaf.spool, 'hub', 'D.0007', big);
  await writeWorkFile(leaf.spool, 'hub', 'N', [{ type: 'S', from: 'D.0007', to: '~/big.bin', user: 'x', options: 'C', temp: 'D.0007', mode: 0o644, notify: '' }]);
  let carried = 0;
  const [m, s] = await call(leaf, hub, {
    filter: (c) => {
      carried += c.length;
      return carried > 60_000 ? null : c;
    },
  });
  t.false(m.ok);
  t.false(s.ok);
  t.is(m.stage, 'transfer');
  t.regex(m.error!.message, /timed out|closed/);
  t.is((await listPendingWork(leaf.spool, 'hub')).length, 1, 'still queued');
  await t.throwsAsync(fsp.stat(path.join(hub.pub, 'big.bin')));
  const partial = (await fsp.stat(path.join(hub.spool, '.Temp', 'leaf', 'D.0007'))).size;
  t.true(partial > 0 && partial < big.length);

  const [m2, s2] = await call(leaf, hub);
  t.true(m2.ok && s2.ok, m2.error?.message ?? s2.error?.message);
  t.regex(leaf.logs.join('\n'), new RegExp(`from byte ${partial}`));
  t.is(s2.stats.bytesReceived, big.length - partial);
  t.deepEqual(await fsp.readFile(path.join(hub.pub, 'big.bin')), big);
  t.deepEqual(await listPendingWork(leaf.spool, 'hub'), []);
});

test('an E job (mail) cut mid-file restarts at the offset on the next call, and runs once', async (t) => {
  const { leaf, hub } = await sites();
  const fast = { timeoutMs: 300, retries: 3 };
  leaf.env.gOverrides = fast;
  hub.env.gOverrides = fast;
  const mail = Buffer.from(`Subject: big\n\n${'x'.repeat(70)}\n`.repeat(3000));
  await writeSpoolData(leaf.spool, 'hub', 'D.0009', mail);
  await writeWorkFile(leaf.spool, 'hub', 'N', [{ type: 'E', from: 'D.0009', to: 'D.leafN0009', user: 'x', options: 'C', temp: 'D.0009', mode: 0o666, notify: '', command: ['rmail', 'bob'] }]);
  let carried = 0;
  const [m] = await call(leaf, hub, { filter: (c) => ((carried += c.length) > 60_000 ? null : c) });
  t.false(m.ok);
  const partial = (await fsp.stat(path.join(hub.spool, '.Temp', 'leaf', 'D.0009'))).size;
  t.true(partial > 0 && partial < mail.length);
  const [m2, s2] = await call(leaf, hub);
  t.true(m2.ok && s2.ok, m2.error?.message ?? s2.error?.message);
  t.regex(leaf.logs.join('\n'), new RegExp(`from byte ${partial}`));
  t.is(s2.stats.bytesReceived, mail.length - partial);
  t.is((await listExecFiles(hub.spool, 'leaf')).length, 1, 'one execute file for the mail');
  t.deepEqual(await fsp.readFile(spoolFilePath(hub.spool, 'leaf', 'D.leafN0009')), mail);
});

test('a lost CY: the resent file is answered SN8 and the job is done without a duplicate', async (t) => {
  const { leaf, hub } = await sites();
  hub.env.gOverrides = { timeoutMs: 300, retries: 2 };
  leaf.env.gOverrides = { timeoutMs: 300, retries: 2 };
  await queueExecution({ spoolDir: leaf.spool, system: 'hub', localName: 'leaf', command: 'rmail', args: ['x'], stdin: 'once\n' });
  // Cut hub → leaf at the CY for the X. file: hub has stored it, leaf never learns so.
  const [a, b] = duplexPair();
  const sys = leaf.env.uucp.findSystem('hub')!;
  const hubLine = new LineReader(b);
  const origWrite = b.write.bind(b);
  let cys = 0;
  (b as unknown as { write: typeof b.write }).write = ((chunk: Buffer, ...rest: never[]) => {
    if (cys >= 2) return true;
    if (Buffer.from(chunk).includes(Buffer.from('CY')) && ++cys === 2) return true; // the X. file's CY
    return origWrite(chunk, ...rest);
  }) as typeof b.write;
  const [m] = await Promise.all([runCallerSession(new LineReader(a), sys, leaf.env), runCalledSession(hubLine, hub.env)]);
  t.false(m.ok);
  t.is((await listPendingWork(leaf.spool, 'hub')).length, 1);
  const [m2, s2] = await call(leaf, hub);
  t.true(m2.ok && s2.ok, m2.error?.message);
  t.regex(hub.logs.join('\n'), /already received/);
  t.deepEqual(await listPendingWork(leaf.spool, 'hub'), []);
  t.is((await listExecFiles(hub.spool, 'leaf')).length, 1, 'one X. file, no duplicate');
});

/**
 * Leaf's side of a call to a peer without the file digest (its S line loses
 * `-Yuugate`, unless `digest`), damaging two of the file's 64-byte g packets once each: the
 * `hidden`-th with a bit flip g's checksum does not see, the `caught`-th
 * with one it does.
 */
function plainPeerDamage(body: Buffer, hidden: number, caught: number, digest = false): (c: Buffer) => Buffer {
  let seen = 0;
  let hiddenDone = hidden === 0;
  return (c) => {
    const s = c.toString('latin1');
    if (!digest && s.includes(' -Yuugate\0')) return Buffer.from(s.replace(' -Yuugate\0', '\0'), 'latin1');
    const d = Buffer.from(c);
    for (let i = 0; i + 6 + 64 <= d.length; i++) {
      // A full data packet (K 2, tt 2) whose area is a piece of the file.
      if (d[i] !== 0x10 || d[i + 1] !== 2 || d[i + 4]! >> 6 !== TT.DATA || (d[i + 1]! ^ d[i + 2]! ^ d[i + 3]! ^ d[i + 4]!) !== d[i + 5]) continue;
      const area = d.subarray(i + 6, i + 6 + 64);
      if (body.indexOf(area) < 0) continue;
      i += 6 + 63;
      seen++;
      // Not every packet has a bit whose flip g misses: the first from `hidden` on that has one.
      const hide = !hiddenDone && seen >= hidden;
      if (!hide && seen !== caught) continue;
      const sum = checksum(area);
      for (let bit = 0; bit < 512; bit++) {
        area[bit >> 3]! ^= 1 << (bit & 7);
        if ((checksum(area) === sum) === hide) {
          if (hide) hiddenDone = true;
          break;
        }
        area[bit >> 3]! ^= 1 << (bit & 7);
      }
    }
    return d;
  };
}

test('from a peer without a digest, a file g saw damaged in is refused by closing the call: the sender keeps it, a clean call delivers', async (t) => {
  const { leaf, hub } = await sites();
  const body = seededBytes(9, 20_000);
  await writeSpoolData(leaf.spool, 'hub', 'D.0009', body);
  await writeWorkFile(leaf.spool, 'hub', 'N', [{ type: 'S', from: 'D.0009', to: '~/f.bin', user: 'x', options: 'C', temp: 'D.0009', mode: 0o644, notify: '' }]);
  // Packet 40 goes bad unseen, packet 100 is caught and resent: with g alone the file would arrive with a wrong bit.
  const [m, s] = await call(leaf, hub, { filter: plainPeerDamage(body, 40, 100) });
  t.false(s.ok);
  t.regex(s.error!.message, /f\.bin refused: 1 damaged packet on the way/);
  t.false(m.ok, 'no CY: the sender saw the call end');
  t.regex(m.error!.message, /closed by the peer/);
  await t.throwsAsync(fsp.stat(path.join(hub.pub, 'f.bin')), undefined, 'nothing delivered');
  await t.throwsAsync(fsp.stat(path.join(hub.spool, '.Temp', 'leaf', 'D.0009')), undefined, 'no suspect prefix kept for a restart');
  t.is((await listPendingWork(leaf.spool, 'hub')).length, 1, 'still queued at the sender');

  const [m2, s2] = await call(leaf, hub, { filter: plainPeerDamage(body, 0, 0) });
  t.true(m2.ok && s2.ok, m2.error?.message ?? s2.error?.message);
  t.deepEqual(await fsp.readFile(path.join(hub.pub, 'f.bin')), body);
  t.deepEqual(await listPendingWork(leaf.spool, 'hub'), []);
});

test('between uugate sites the digest guards the file: the damage g missed is repaired, the damage it caught refuses nothing', async (t) => {
  const { leaf, hub } = await sites();
  const body = seededBytes(10, 20_000);
  await writeSpoolData(leaf.spool, 'hub', 'D.0010', body);
  await writeWorkFile(leaf.spool, 'hub', 'N', [{ type: 'S', from: 'D.0010', to: '~/g.bin', user: 'x', options: 'C', temp: 'D.0010', mode: 0o644, notify: '' }]);
  const [m, s] = await call(leaf, hub, { filter: plainPeerDamage(body, 40, 100, true) });
  t.true(m.ok && s.ok, m.error?.message ?? s.error?.message);
  t.regex(hub.logs.join('\n'), /g\.bin was damaged in transit \(SHA-256 differs/);
  t.deepEqual(await fsp.readFile(path.join(hub.pub, 'g.bin')), body);
});
