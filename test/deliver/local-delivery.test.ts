import test from 'ava';
import { promises as fsp, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { spawn } from 'node:child_process';
import { deliverToMbox, mboxEntry } from '../../src/deliver/mbox.js';
import { deliverToMaildir } from '../../src/deliver/maildir.js';
import { makeSite, run, maildirMessages, normalise } from '../helpers/site.js';

const tmp = (): Promise<string> => fsp.mkdtemp(path.join(os.tmpdir(), 'uugate-ld-'));

test('mbox entries quote ^>*From lines and end with a blank line', (t) => {
  const when = new Date(2026, 10, 27, 9, 5, 3);
  const e = mboxEntry('hub!alice', [Buffer.from('Subject: x\n\nFrom me\n>From you\n>>From them\nFromage\n')], when);
  t.is(e.toString(), 'From hub!alice Fri Nov 27 09:05:03 2026\nSubject: x\n\n>From me\n>>From you\n>>>From them\nFromage\n\n');
  const partial = mboxEntry('', [Buffer.from('Subject: y\n\nno newline')], when);
  t.is(partial.toString(), 'From MAILER-DAEMON Fri Nov 27 09:05:03 2026\nSubject: y\n\nno newline\n\n');
});

test('mbox delivery through rmail: byte-for-byte with Return-Path, Delivered-To and quoting', async (t) => {
  const site = makeSite();
  const r = await run(site, ['rmail', 'carol'], 'From alice Fri Nov 27 10:00:00 2026 remote from hub\nSubject: m\n\nFrom the start\nend\n');
  t.is(r.code, 0, r.stderr);
  const box = await fsp.readFile(path.join(site.spool, 'mail/carol.mbox'), 'latin1');
  t.is(
    normalise(box),
    'From hub!alice ASCTIME\nReturn-Path: <hub!alice>\nDelivered-To: carol@leaf.example.org\n' +
      'Received: from hub\n\tby leaf with UUCP (uugate rmail)\n\tid ID\n\tfor <carol>; DATE\n' +
      'Subject: m\n\n>From the start\nend\n\n',
  );
  t.false(existsSync(path.join(site.spool, 'mail/carol.mbox.lock')));
});

test('mbox delivery waits for a dot-lock held by another live writer', async (t) => {
  const dir = await tmp();
  const box = path.join(dir, 'box');
  writeFileSync(box, 'From other Fri Nov 27 09:00:00 2026\nSubject: theirs\n\nx\n\n');
  // The "other mail program": a live process holding the lock for 600 ms.
  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600)']);
  writeFileSync(`${box}.lock`, `${holder.pid}\n`);
  const started = Date.now();
  const done = deliverToMbox(box, Buffer.from('From us Fri Nov 27 09:10:00 2026\nSubject: ours\n\ny\n\n'), { pollMs: 20 });
  await new Promise((r) => setTimeout(r, 300));
  t.false((await fsp.readFile(box, 'latin1')).includes('ours'), 'nothing written while locked');
  await new Promise((r) => holder.on('exit', r));
  await fsp.unlink(`${box}.lock`);
  await done;
  t.true(Date.now() - started >= 300);
  t.is(await fsp.readFile(box, 'latin1'), 'From other Fri Nov 27 09:00:00 2026\nSubject: theirs\n\nx\n\nFrom us Fri Nov 27 09:10:00 2026\nSubject: ours\n\ny\n\n');
});

test('a stale lock of a dead writer is broken and its partial append truncated away', async (t) => {
  const dir = await tmp();
  const box = path.join(dir, 'box');
  const whole = 'From a Fri Nov 27 09:00:00 2026\nSubject: whole\n\nx\n\n';
  writeFileSync(box, `${whole}From b Fri Nov 27 09:01:00 2026\nSubject: half`);
  const dead = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => dead.on('exit', r));
  writeFileSync(`${box}.lock`, `${dead.pid}\n${Buffer.byteLength(whole)}\n`);
  await deliverToMbox(box, Buffer.from('From c Fri Nov 27 09:02:00 2026\nSubject: next\n\nz\n\n'));
  t.is(await fsp.readFile(box, 'latin1'), `${whole}From c Fri Nov 27 09:02:00 2026\nSubject: next\n\nz\n\n`);
});

test('a lock that never goes away is a temporary failure, not a hang', async (t) => {
  const dir = await tmp();
  const box = path.join(dir, 'box');
  writeFileSync(`${box}.lock`, `${process.pid}\n`);
  await t.throwsAsync(deliverToMbox(box, Buffer.from('x'), { lockTimeoutMs: 200, pollMs: 20 }), { message: /is locked/ });
});

test('maildir delivery creates the maildir and leaves nothing in tmp/', async (t) => {
  const dir = path.join(await tmp(), 'Maildir');
  const file = await deliverToMaildir(dir, [Buffer.from('Subject: a\n\nb\n')]);
  t.is(path.dirname(file), path.join(dir, 'new'));
  t.deepEqual(await fsp.readdir(path.join(dir, 'tmp')), []);
  t.deepEqual(maildirMessages(dir), ['Subject: a\n\nb\n']);
  t.true(existsSync(path.join(dir, 'cur')));
});

test('a Delivered-To loop is bounced, not delivered again', async (t) => {
  const site = makeSite();
  const r = await run(site, ['rmail', 'bob'], 'From x Fri Nov 27 10:00:00 2026 remote from hub\nDelivered-To: bob@leaf.example.org\nSubject: loop\n\nx\n');
  t.is(r.code, 0);
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 0);
  const log = await fsp.readFile(path.join(site.spool, 'log/logfile'), 'utf8');
  t.regex(log, /Failed TO:<bob>.*STATUS:5\.4\.6.*mail loop/);
});
