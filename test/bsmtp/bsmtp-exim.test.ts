// BSMTP round trips with Debian's Exim, both ways:
//   Exim's use_bsmtp batches → `uugate rsmtp` → our maildirs (identical messages);
//   our bsmtp transport's rsmtp jobs → `exim4 -bS` → Exim's maildir (identical messages).
import test from 'ava';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeSite, run, maildirMessages, type Site } from '../helpers/site.js';
import { EXIM, exim, makeExim } from '../helpers/exim-bsmtp.js';

const MSGS = [
  'From: Zed <zed@far.example>\nTo: alice@leaf.example.org\nSubject: dots\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <m1@far.example>\n\n.leading dot\n..two dots\n.\nend\n',
  'From: Zed <zed@far.example>\nTo: bob@leaf.example.org\nSubject: =?iso-8859-1?q?caf=E9?=\nDate: Mon, 1 Jan 2024 00:00:01 +0000\nMessage-ID: <m2@far.example>\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\ncaf\xe9 cr\xe8me br\xfbl\xe9e\n\xff\x80 eight bit\n',
  'From: Zed <zed@far.example>\nTo: alice@leaf.example.org, bob@leaf.example.org\nSubject: two recipients\nDate: Mon, 1 Jan 2024 00:00:02 +0000\nMessage-ID: <m3@far.example>\n\nfor both\n',
];
const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

test('Exim is installed (Debian exim4)', (t) => {
  t.true(existsSync(EXIM), `${EXIM} missing: run test/install-peers.sh`);
});

async function eximBatch(): Promise<Buffer> {
  const ex = makeExim('bsmtp');
  const rcpts = [['alice@leaf.example.org'], ['bob@leaf.example.org'], ['alice@leaf.example.org', 'bob@leaf.example.org']];
  for (const [i, m] of MSGS.entries()) {
    const r = await exim(ex, ['-odi', '-oi', '-f', 'zed@far.example', ...rcpts[i]], latin1(m));
    if (r.code !== 0) throw new Error(`exim: ${r.stderr}`);
  }
  return readFileSync(ex.batch);
}

const bodyOf = (m: string): string => m.slice(m.indexOf('\n\n') + 2);

test('batches written by Exim (use_bsmtp) are read by uugate rsmtp: identical messages, every recipient', async (t) => {
  const batch = await eximBatch();
  const text = batch.toString('latin1');
  t.regex(text, /^MAIL FROM:<zed@far\.example>\nRCPT TO:<alice@leaf\.example\.org>\nDATA\n/);
  t.true(text.includes('\n..leading dot\n...two dots\n..\nend\n.\n'), 'Exim dot-stuffs');
  t.true(text.includes('RCPT TO:<alice@leaf.example.org>\nRCPT TO:<bob@leaf.example.org>\nDATA\n'), 'two recipients in one transaction');
  const site = makeSite();
  const r = await run(site, ['rsmtp'], batch);
  t.is(r.code, 0, r.stderr);
  const alice = maildirMessages(path.join(site.spool, 'mail/alice'));
  const bob = maildirMessages(path.join(site.spool, 'mail/bob'));
  t.is(alice.length, 2);
  t.is(bob.length, 2);
  const all = [...alice, ...bob];
  for (const [i, m] of MSGS.entries()) {
    const got = all.filter((x) => x.includes(`Message-ID: <m${i + 1}@far.example>`));
    t.is(got.length, i === 2 ? 2 : 1, `message ${i + 1}`);
    for (const g of got) {
      t.true(g.endsWith(m), `message ${i + 1} arrives byte for byte (headers and body)`);
      t.regex(g, /^Return-Path: <zed@far\.example>\n/);
      t.regex(g, /\nReceived: from root by exim\.test with local \(Exim/);
      t.regex(g, /Received: by leaf with BSMTP \(uugate rsmtp\)/);
    }
  }
});

test('an Exim batch with one broken message in the middle: that one is bounced to its sender, the others delivered', async (t) => {
  const batch = (await eximBatch()).toString('latin1');
  const cut = batch.indexOf('MAIL FROM:', 1);
  const broken = `MAIL FROM:<carol@leaf.example.org>\nRCPT TO:<bob@leaf.example.org>\nDATA\nSubject: broken\n\nthis line is far too long ${'x'.repeat(1200)}\n.\n`;
  const site = makeSite();
  const r = await run(site, ['rsmtp'], latin1(batch.slice(0, cut) + broken + batch.slice(cut)));
  t.is(r.code, 65, r.stderr);
  t.regex(r.stderr, /line \d+: <carol@leaf\.example\.org>: 554 5\.6\.0 line 3 is 1226 characters long \(limit 998\).*bounced as/);
  const alice = maildirMessages(path.join(site.spool, 'mail/alice'));
  const bob = maildirMessages(path.join(site.spool, 'mail/bob'));
  t.is(alice.length, 2);
  t.is(bob.length, 2, 'the broken message did not reach bob');
  t.false(bob.some((m) => m.includes('Subject: broken')));
  const bounce = readFileSync(path.join(site.spool, 'mail/carol.mbox'), 'latin1');
  t.regex(bounce, /^From MAILER-DAEMON /);
  t.regex(bounce, /Final-Recipient: rfc822; bob@leaf\.example\.org\nAction: failed\nStatus: 5\.6\.0/);
  t.regex(bounce, /Subject: broken/);
});

// ---------------------------------------------------------------- our batches, Exim -bS

function bsmtpSite(conf: Record<string, string | boolean> = {}): Site {
  const site = makeSite({ conf: { delivery_mode: 'queued', bsmtp_neighbors: 'hub', ...conf } });
  writeFileSync(path.join(site.uucp, 'sys'), 'system hub\n');
  return site;
}

/** The rsmtp jobs in our UUCP spool for hub: [X. file text, batch] pairs. */
function rsmtpJobs(site: Site): Array<{ x: string; batch: Buffer }> {
  const dir = path.join(site.spool, 'uucp/hub');
  const out: Array<{ x: string; batch: Buffer }> = [];
  const dx = path.join(dir, 'D.X');
  for (const n of existsSync(dx) ? readdirSync(dx).sort() : []) {
    const x = readFileSync(path.join(dx, n), 'latin1');
    const input = /^I (\S+)$/m.exec(x)![1];
    const seq = input.slice(-4);
    const d = readdirSync(path.join(dir, 'D.')).find((f) => f.endsWith(seq))!;
    out.push({ x, batch: readFileSync(path.join(dir, 'D.', d)) });
  }
  return out;
}

test('batches we write (bsmtp transport → rsmtp job) are accepted by exim4 -bS with identical messages', async (t) => {
  const site = bsmtpSite();
  const inputs = MSGS.map((m) => m.replace(/^To: .*$/m, 'To: somebody@far.example'));
  const rcpts = [['hub!far.example!bob'], ['hub!far.example!carol'], ['hub!far.example!bob', 'hub!far.example!dave']];
  for (const [i, m] of inputs.entries()) {
    const r = await run(site, ['sendmail', '-oi', '-f', 'alice', ...rcpts[i]], latin1(m));
    t.is(r.code, 0, r.stderr);
  }
  const q = await run(site, ['runq']);
  t.is(q.code, 0, q.stderr);
  const jobs = rsmtpJobs(site);
  t.is(jobs.length, 1, 'one batch for one queue run');
  const { x, batch } = jobs[0];
  t.regex(x, /^C rsmtp$/m);
  const text = batch.toString('latin1');
  t.regex(text, /^HELO leaf\nMAIL FROM:<leaf!alice>\nRCPT TO:<far\.example!/);
  t.is(text.match(/^MAIL FROM:<leaf!alice>$/gm)?.length, 3, 'three transactions in one batch');
  t.true(text.includes('MAIL FROM:<leaf!alice>\nRCPT TO:<far.example!carol>\nDATA\n'));
  t.true(text.endsWith('.\nQUIT\n'));
  t.true(text.includes('RCPT TO:<far.example!bob>\nRCPT TO:<far.example!dave>\nDATA\n'));
  t.true(text.includes('\n..leading dot\n...two dots\n..\nend\n.\n'));

  const ex = makeExim('maildir');
  const r = await exim(ex, ['-bS', '-odi'], batch);
  t.is(r.code, 0, `${r.stdout}${r.stderr}`);
  const got = readdirSync(path.join(ex.maildir, 'new')).map((n) => readFileSync(path.join(ex.maildir, 'new', n), 'latin1'));
  t.is(got.length, 4, 'one copy per recipient');
  for (const [i, m] of inputs.entries()) {
    const copies = got.filter((g) => g.includes(`Message-ID: <m${i + 1}@far.example>`));
    t.is(copies.length, i === 2 ? 2 : 1);
    for (const c of copies) {
      t.true(c.endsWith(bodyOf(m)), `message ${i + 1}: identical body`);
      t.regex(c, /^Return-path: <leaf!alice@exim\.test>\n/);
      t.regex(c, /Received: from root \(helo=leaf\)\n\tby exim\.test with local-bsmtp/);
      // Everything after Exim's Received: header is exactly what we sent.
      const sent = unstuffed(text, i);
      t.true(c.endsWith(sent), `message ${i + 1}: identical to the batch's copy`);
    }
  }
  t.deepEqual(got.map((g) => /^Envelope-to: (.*)$/m.exec(g)![1]).sort(), ['far.example!bob@exim.test', 'far.example!bob@exim.test', 'far.example!carol@exim.test', 'far.example!dave@exim.test']);
});

/** The i-th message of a batch, dot-unstuffed. */
function unstuffed(batch: string, i: number): string {
  const part = batch.split(/\nDATA\n/).slice(1).find((p) => p.includes(`Message-ID: <m${i + 1}@far.example>`))!;
  return part.slice(0, part.indexOf('\n.\n') + 1).replace(/^\./gm, '');
}

test('batch limits: bsmtp_batch_max splits the batches; no HELO for bsmtp_no_helo neighbours; CRLF with bsmtp_crlf', async (t) => {
  const site = bsmtpSite({ bsmtp_batch_max: '2', bsmtp_no_helo: 'hub', bsmtp_crlf: true });
  for (let i = 0; i < 5; i++) {
    const r = await run(site, ['sendmail', '-oi', '-f', 'alice', 'hub!bob'], `Subject: ${i}\n\nbody ${i}\n`);
    t.is(r.code, 0, r.stderr);
  }
  t.is((await run(site, ['runq'])).code, 0);
  const jobs = rsmtpJobs(site);
  t.deepEqual(jobs.map((j) => (j.batch.toString('latin1').match(/\r\nDATA\r\n/g) ?? []).length), [2, 2, 1]);
  for (const j of jobs) {
    const text = j.batch.toString('latin1');
    t.regex(text, /^MAIL FROM:<leaf!alice>\r\nRCPT TO:<bob>\r\n/);
    t.false(text.includes('HELO'));
    t.false(text.includes('QUIT'));
    t.false(/[^\r]\n/.test(text), 'CRLF throughout');
  }
  // Exim reads the CRLF batches too.
  const ex = makeExim('maildir');
  for (const j of jobs) t.is((await exim(ex, ['-bS', '-odi'], j.batch)).code, 0);
  t.is(readdirSync(path.join(ex.maildir, 'new')).length, 5);
});
