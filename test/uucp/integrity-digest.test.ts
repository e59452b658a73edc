// End-to-end integrity between two uugate sites: each file carries a SHA-256
// after its data (session-digest.ts). The line here damages one g data packet
// in a way g's checksum cannot see (two bytes changed so that f is the same:
// the packet decodes as good), which only the digest catches: the receiver
// answers CN5, the sender sends the file again in the same call, and what is
// stored is byte for byte the original. Without the uugate announcement the
// same damage is stored silently, which is what the digest is for.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { PacketDecoder, checksum, DLE, HEADER_LEN } from '../../src/uucp/g/packet.js';
import { runCalledSession, runCallerSession, type SessionResult } from '../../src/uucp/session.js';
import { LineReader } from '../../src/uucp/session-io.js';
import { listExecFiles, parseExecFile } from '../../src/uucp/spool/exec-file.js';
import { listPendingWork, writeSpoolData, writeWorkFile } from '../../src/uucp/spool/work-file.js';
import { queueExecution } from '../../src/uucp/uux.js';
import { chunkSizeFor, digestCommand, parseDigestCommand, digestBytes, verifiedPrefix } from '../../src/uucp/session-digest.js';
import { duplexPair, ourEnv, type OurSite } from '../helpers/taylor.js';

const MARK = Buffer.from('<<damage-here>>');

/**
 * Changes two bytes of the g data packet holding MARK so that the packet's
 * checksum f stays the same; returns whether it found such a change.
 */
function blindDamage(chunk: Buffer): boolean {
  const m = chunk.indexOf(MARK);
  if (m < 0) return false;
  for (let p = m - HEADER_LEN; p >= 0 && p >= m - HEADER_LEN - 4096; p--) {
    if (chunk[p] !== DLE) continue;
    const k = chunk[p + 1]!;
    if (k < 1 || k > 8 || (chunk[p + 1]! ^ chunk[p + 2]! ^ chunk[p + 3]! ^ chunk[p + 4]!) !== chunk[p + 5]) continue;
    const size = 1 << (k + 4);
    if (m >= p + HEADER_LEN + size || p + HEADER_LEN + size > chunk.length) continue;
    const area = chunk.subarray(p + HEADER_LEN, p + HEADER_LEN + size);
    const i = m - (p + HEADER_LEN);
    const f = checksum(area);
    const [oi] = [area[i]!];
    for (let j = i + 1; j < Math.min(size, i + 12); j++) {
      const oj = area[j]!;
      for (let v = 0; v < 256; v++) {
        if (v === oi) continue;
        area[i] = v;
        for (let w = 0; w < 256; w++) {
          area[j] = w;
          if (checksum(area) === f) {
            // g takes it as a good packet.
            const d = new PacketDecoder();
            d.push(chunk.subarray(p, p + HEADER_LEN + size).slice());
            if (d.next()?.kind !== 'data') throw new Error('the damage was meant to pass the checksum');
            return true;
          }
        }
      }
      area[i] = oi;
      area[j] = oj;
    }
  }
  return false;
}

const LEAF_SYS = 'system hub\ntime any\nprotocol g\n';
const HUB_SYS = 'system leaf\nprotocol g\n';

async function sites(): Promise<{ leaf: OurSite; hub: OurSite }> {
  return { leaf: await ourEnv('leaf', { sys: LEAF_SYS }), hub: await ourEnv('hub', { sys: HUB_SYS }) };
}

async function call(leaf: OurSite, hub: OurSite, filter: (b: Buffer) => Buffer | null): Promise<[SessionResult, SessionResult]> {
  const [a, b] = duplexPair(filter);
  const r = await Promise.all([runCallerSession(new LineReader(a), leaf.env.uucp.findSystem('hub')!, leaf.env), runCalledSession(new LineReader(b), hub.env, {})]);
  a.destroy();
  b.destroy();
  return r;
}

/** Damages the first packet holding MARK (once); optionally hides that the caller is uugate. */
function line(o: { hide?: boolean } = {}) {
  const seen = { damaged: 0, digests: 0, sLine: '' };
  const filter = (c: Buffer): Buffer => {
    let out = Buffer.from(c);
    const text = out.toString('latin1');
    if (text.includes('\x10Sleaf ')) {
      seen.sLine = text;
      if (o.hide) out = Buffer.from(text.replace(' -Yuugate', ''), 'latin1');
    }
    if (text.includes('Zsha256 ')) seen.digests++;
    if (seen.damaged === 0 && blindDamage(out)) seen.damaged++;
    return out;
  };
  return { seen, filter };
}

const mailBody = (): Buffer =>
  Buffer.concat([Buffer.from('From alice Fri Nov 27 10:00:00 2026 remote from leaf\n\n'), randomBytes(1500), MARK, randomBytes(1500)]);

async function storedStdin(hub: OurSite): Promise<Buffer> {
  const xs = await listExecFiles(hub.spool, 'leaf');
  if (xs.length !== 1) throw new Error(`${xs.length} X. files`);
  const x = parseExecFile(await fsp.readFile(xs[0]!.path, 'latin1'));
  return fsp.readFile(path.join(hub.spool, 'leaf', 'D.', x.stdin!));
}

test('digest commands: format and parsing, chunk digests, the verified prefix', (t) => {
  const d = digestBytes(Buffer.from('abc'));
  t.is(d.hex, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  t.deepEqual(d.chunks, [d.hex.slice(0, 16)], 'one short chunk');
  t.is(digestCommand(d), `Zsha256 ${d.hex} 0x3 0x4000 ${d.hex.slice(0, 16)}`);
  t.deepEqual(parseDigestCommand(digestCommand(d)), d);
  t.deepEqual(parseDigestCommand(`Zsha256 ${d.hex} 0x3`), { ...d, chunks: [] }, 'the whole-file form of earlier versions');
  t.is(parseDigestCommand('CY'), undefined);
  t.is(chunkSizeFor(256 * 16384), 16384);
  t.is(chunkSizeFor(256 * 16384 + 1), 32768, 'at most 256 chunks');
  const file = randomBytes(5 * 16384 + 100);
  const bad = Buffer.from(file);
  bad[3 * 16384 + 7]! ^= 1;
  t.is(verifiedPrefix(digestBytes(bad), digestBytes(file)), 3 * 16384, 'good up to the damaged chunk');
  t.is(verifiedPrefix(digestBytes(file.subarray(0, 16384 + 5)), digestBytes(file)), 16384, 'a short last chunk is not verified');
});

test('damage g cannot see is caught by the SHA-256: CN5, sent again in the same call, stored intact', async (t) => {
  const { leaf, hub } = await sites();
  const body = mailBody();
  await queueExecution({ spoolDir: leaf.spool, system: 'hub', localName: 'leaf', command: 'rmail', args: ['bob@example.org'], stdin: body, requester: 'alice' });
  const { seen, filter } = line();
  const [m, s] = await call(leaf, hub, filter);
  t.true(m.ok && s.ok, m.error?.message ?? s.error?.message);
  t.is(seen.damaged, 1, 'one packet was damaged past the g checksum');
  t.regex(seen.sLine, / -Yuugate\0/);
  t.is(seen.digests, 3, 'data file twice (damaged, then good) and the X. file once');
  t.true(leaf.logs.some((l) => /sending it again \(try 2\)/.test(l)), leaf.logs.join('\n'));
  t.true(hub.logs.some((l) => /damaged in transit/.test(l)), hub.logs.join('\n'));
  t.deepEqual(await storedStdin(hub), body, 'byte for byte');
  t.deepEqual(await listPendingWork(leaf.spool, 'hub'), [], 'the job is done');
});

test('an E job is checked the same way', async (t) => {
  const { leaf, hub } = await sites();
  const body = mailBody();
  await queueExecution({ spoolDir: leaf.spool, system: 'hub', localName: 'leaf', command: 'rmail', args: ['carol'], stdin: body, useE: true, requester: 'alice' });
  const { seen, filter } = line();
  const [m, s] = await call(leaf, hub, filter);
  t.true(m.ok && s.ok, m.error?.message ?? s.error?.message);
  t.is(seen.damaged, 1);
  t.is(seen.digests, 2);
  t.deepEqual(await storedStdin(hub), body);
});

test('without the uugate announcement (a Taylor-like caller) there is no digest, and the same damage is stored unnoticed', async (t) => {
  const { leaf, hub } = await sites();
  const body = mailBody();
  await queueExecution({ spoolDir: leaf.spool, system: 'hub', localName: 'leaf', command: 'rmail', args: ['bob@example.org'], stdin: body, requester: 'alice' });
  const { seen, filter } = line({ hide: true });
  const [m, s] = await call(leaf, hub, filter);
  t.true(m.ok && s.ok, m.error?.message ?? s.error?.message);
  t.is(seen.damaged, 1);
  t.is(seen.digests, 0, 'the called side did not answer -Yuugate, so no digest was sent');
  const stored = await storedStdin(hub);
  t.is(stored.length, body.length);
  t.notDeepEqual(stored, body, 'g passed the damaged packet: this is what the digest prevents');
});

test('a damaged large file is repaired: only the damaged 16 KiB chunk is sent again', async (t) => {
  const { leaf, hub } = await sites();
  // The damage lands in the tenth 16 KiB chunk.
  const data = Buffer.concat([randomBytes(150 * 1024), MARK, randomBytes(50 * 1024)]);
  await writeSpoolData(leaf.spool, 'hub', 'D.big1', data);
  await writeWorkFile(leaf.spool, 'hub', 'N', [{ type: 'S', from: 'D.big1', to: '~/big.bin', user: 'alice', options: 'C', temp: 'D.big1', mode: 0o644, notify: '' }]);
  const { seen, filter } = line();
  const [m, s] = await call(leaf, hub, filter);
  t.true(m.ok && s.ok, m.error?.message ?? s.error?.message);
  t.is(seen.damaged, 1);
  t.true(hub.logs.some((l) => /damaged in transit .*the first 147456 good/.test(l)), hub.logs.join('\n'));
  t.true(leaf.logs.some((l) => l.includes(`sending D.big1 (${data.length} bytes, from byte 147456, 16384 to repair)`)), leaf.logs.join('\n'));
  t.deepEqual(await fsp.readFile(path.join(hub.pub, 'big.bin')), data, 'byte for byte');
  t.deepEqual(await listPendingWork(leaf.spool, 'hub'), []);
});

test('a file asked for with R carries the digest too: damage draws CN5 and the file is asked for again', async (t) => {
  const { leaf, hub } = await sites();
  // MARK within one 64-byte packet.
  const data = Buffer.concat([randomBytes(46 * 64), MARK, randomBytes(3000)]);
  await fsp.writeFile(path.join(leaf.pub, 'wanted.bin'), data);
  // The hub asks once the caller (leaf) has no more work; leaf → hub is the damaged direction.
  await writeWorkFile(hub.spool, 'leaf', 'N', [{ type: 'R', from: '~/wanted.bin', to: path.join(hub.pub, 'got.bin'), user: 'bob', options: 'd' }]);
  const { seen, filter } = line();
  const [m, s] = await call(leaf, hub, filter);
  t.true(m.ok && s.ok, m.error?.message ?? s.error?.message);
  t.is(seen.damaged, 1);
  t.is(seen.digests, 2, 'the damaged copy and the good one');
  t.true(hub.logs.some((l) => /asking for it again \(try 2\)/.test(l)), hub.logs.join('\n'));
  t.deepEqual(await fsp.readFile(path.join(hub.pub, 'got.bin')), data, 'byte for byte');
  t.deepEqual(await listPendingWork(hub.spool, 'leaf'), []);
});
