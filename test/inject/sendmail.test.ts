import test from 'ava';
import path from 'node:path';
import { makeSite, run, maildirMessages } from '../helpers/site.js';

test('sendmail -t takes recipients from To/Cc/Bcc, removes Bcc and adds Date, Message-ID, From', async (t) => {
  const site = makeSite();
  const msg = 'To: Alice <alice@leaf.example.org>\nCc: bob\nBcc: carol@leaf\nSubject: t\n\nhello\n';
  const r = await run(site, ['sendmail', '-t', '-oi'], msg, { USER: 'dave' });
  t.is(r.code, 0, r.stderr);
  const [a] = maildirMessages(path.join(site.spool, 'mail/alice'));
  const [b] = maildirMessages(path.join(site.spool, 'mail/bob'));
  t.truthy(a);
  t.is(a, b.replace('Delivered-To: bob@', 'Delivered-To: alice@'));
  t.false(a.includes('Bcc:'));
  t.regex(a, /^Return-Path: <dave@leaf\.example\.org>\n/);
  t.regex(a, /\nFrom: <dave@leaf\.example\.org>\n/);
  t.regex(a, /\nDate: \w{3}, \d+ \w{3} \d{4} /);
  t.regex(a, /\nMessage-ID: <[^>]+@leaf\.example\.org>\n/);
  t.true(a.endsWith('\n\nhello\n'));
});

test('sendmail -f sets the envelope sender, -F the full name; existing headers are kept', async (t) => {
  const site = makeSite();
  const r = await run(site, ['sendmail', '-f', 'owner@x.org', '-F', 'Dave Q', 'bob'], 'Subject: s\n\nbody\n', { USER: 'dave' });
  t.is(r.code, 0, r.stderr);
  const [m] = maildirMessages(path.join(site.spool, 'mail/bob'));
  t.regex(m, /^Return-Path: <owner@x\.org>\n/);
  t.regex(m, /\nFrom: Dave Q <dave@leaf\.example\.org>\n/);
});

test('sendmail bob bob BOB bob@leaf.example.org leaf!bob delivers one copy: recipients that reach the same mailbox collapse', async (t) => {
  const site = makeSite();
  const r = await run(site, ['sendmail', 'bob', 'bob', 'BOB', 'bob@leaf.example.org', 'leaf!bob', 'alice'], 'Subject: dup\n\nx\n');
  t.is(r.code, 0, r.stderr);
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 1);
  t.is(maildirMessages(path.join(site.spool, 'mail/alice')).length, 1);
});

test('sendmail without -i ends the message at a lone dot', async (t) => {
  const site = makeSite();
  const r = await run(site, ['sendmail', 'bob'], 'Subject: s\n\nkeep\n.\ndropped\n');
  t.is(r.code, 0, r.stderr);
  const [m] = maildirMessages(path.join(site.spool, 'mail/bob'));
  t.true(m.endsWith('\nkeep\n'));
});

test('sendmail -bs speaks SMTP on stdin/stdout and queues the message before 250', async (t) => {
  const site = makeSite();
  const dialogue = [
    'EHLO client.example',
    'MAIL FROM:<zed@far.example>',
    'RCPT TO:<bob@leaf.example.org>',
    'RCPT TO:<nobody-here>',
    'DATA',
    'Subject: via -bs',
    '',
    '..leading dot',
    'x',
    '.',
    'QUIT',
    '',
  ].join('\r\n');
  const r = await run(site, ['sendmail', '-bs'], dialogue);
  t.is(r.code, 0, r.stderr);
  const replies = r.stdout.split('\r\n').filter(Boolean);
  t.regex(replies[0], /^220 /);
  t.true(replies.includes('250-PIPELINING'));
  t.true(replies.some((l) => /^250 2\.0\.0 queued as /.test(l)));
  t.regex(replies.at(-1)!, /^221 /);
  const [m] = maildirMessages(path.join(site.spool, 'mail/bob'));
  t.regex(m, /^Return-Path: <zed@far\.example>\n/);
  t.true(m.endsWith('Subject: via -bs\n\n.leading dot\nx\n'));
});

test('sendmail -bs refuses commands out of order', async (t) => {
  const site = makeSite();
  const r = await run(site, ['sendmail', '-bs'], 'MAIL FROM:<a@b>\r\nHELO x\r\nRCPT TO:<bob>\r\nDATA\r\nQUIT\r\n');
  const codes = r.stdout.split('\r\n').filter(Boolean).map((l) => l.slice(0, 3));
  t.deepEqual(codes, ['220', '503', '250', '503', '503', '221']);
});

test('sendmail -bp lists the queue; mailq -v shows the transaction log', async (t) => {
  const site = makeSite({ conf: { delivery_mode: 'queued' } });
  await run(site, ['sendmail', 'bob', 'alice'], 'Subject: q\n\nx\n');
  const bp = await run(site, ['sendmail', '-bp']);
  t.regex(bp.stdout, /\n {8}bob\n {8}alice\n/);
  t.regex(bp.stdout, /1 message in queue/);
  const q = await run(site, ['runq']);
  t.regex(q.stdout, /1 messages: 2 delivered/);
  const after = await run(site, ['mailq', '-v']);
  t.regex(after.stdout, /Mail queue is empty/);
});

test('sendmail -bs typed at a terminal: LF line ends, unqualified addresses, a last QUIT without a line end; a blank inside a path is refused', async (t) => {
  const site = makeSite();
  const typed = 'EHLO me\nMAIL FROM:<a b@c>\nMAIL FROM:<dave>\nRCPT TO:<bob>\nDATA\nSubject: typed\n\nby hand\n.\nQUIT';
  const r = await run(site, ['sendmail', '-bs'], typed);
  t.is(r.code, 0, r.stderr);
  const finals = r.stdout.split('\r\n').filter((l) => l[3] === ' ');
  t.deepEqual(finals.map((l) => l.slice(0, 3)), ['220', '250', '501', '250', '250', '354', '250', '221']);
  const [m] = maildirMessages(path.join(site.spool, 'mail/bob'));
  t.regex(m, /^Return-Path: <dave/);
  t.regex(m, /Received: from me\n\tby \S+ with ESMTP \(uugate sendmail-bs\)/);
  t.true(m.endsWith('Subject: typed\n\nby hand\n'));
});
