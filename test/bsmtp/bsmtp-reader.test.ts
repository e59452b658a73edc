// The BSMTP reader: Exim -bS semantics, bounces per recipient and per message,
// truncated batches, temporary failures, exit codes; uuxqt running rsmtp.
import test from 'ava';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { flags, makeSite, maildirMessages, run } from '../helpers/site.js';
import { loadGateway } from '../../src/runtime/gateway.js';
import { readBsmtp } from '../../src/inject/bsmtp-reader.js';
import { bsmtpExitCode } from '../../src/bsmtp/reader.js';
import { bsmtpBatch, bsmtpTransaction, dotStuff } from '../../src/bsmtp/writer.js';
import { writeSpoolData } from '../../src/uucp/spool/work-file.js';
import { formatExecFile } from '../../src/uucp/spool/exec-file.js';

const msg = (subject: string, body = 'hello\n'): string => `Subject: ${subject}\n\n${body}`;
const txn = (from: string, rcpts: string[], data: string): string => bsmtpTransaction(from, rcpts, Buffer.from(data, 'latin1')).toString('latin1');
const mbox = (site: { spool: string }, name: string): string => {
  const f = path.join(site.spool, 'mail', name);
  return existsSync(f) ? readFileSync(f, 'latin1') : '';
};

test('writer: dot-stuffing, line endings normalised, last line completed', (t) => {
  t.is(dotStuff(Buffer.from('a\n.b\n..c\n.\nend')).toString(), 'a\n..b\n...c\n..\nend\n');
  t.is(dotStuff(Buffer.from('a\r\n.b\n'), true).toString(), 'a\r\n..b\r\n');
  t.is(bsmtpBatch([Buffer.from('X\n')], { helo: 'leaf' }).toString(), 'HELO leaf\nX\nQUIT\n');
  t.is(bsmtpBatch([Buffer.from('X\n')], {}).toString(), 'X\n');
});

test('an unknown local user is bounced to the sender; the other recipients get the message (exit 65)', async (t) => {
  const site = makeSite();
  const batch = `HELO hub\n${txn('carol', ['bob', 'nosuchuser', 'alice'], msg('partial'))}QUIT\n`;
  const r = await run(site, ['rsmtp'], batch);
  t.is(r.code, 65);
  // The reply a live SMTP client gets at RCPT (server-swaks.test.ts), word for word.
  t.regex(r.stderr, /line 2: <carol>: refused <nosuchuser> \(550 5\.1\.1 <nosuchuser>: unknown local user "nosuchuser"\)/);
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 1);
  t.is(maildirMessages(path.join(site.spool, 'mail/alice')).length, 1);
  const bounce = mbox(site, 'carol.mbox');
  t.regex(bounce, /^From MAILER-DAEMON /);
  t.regex(bounce, /Final-Recipient: rfc822; nosuchuser\nAction: failed\nStatus: 5\.1\.1/);
  t.notRegex(bounce, /Final-Recipient: rfc822; bob/);
  t.regex(bounce, /Subject: partial/);
});

test('with error_copy_postmaster the postmaster gets a copy of a batch bounce, as of a queue bounce', async (t) => {
  const site = makeSite({ conf: { error_copy_postmaster: true } });
  const r = await run(site, ['rsmtp'], `HELO hub\n${txn('carol', ['bob', 'nosuchuser'], msg('copied'))}QUIT\n`);
  t.is(r.code, 65);
  t.regex(mbox(site, 'carol.mbox'), /Final-Recipient: rfc822; nosuchuser\nAction: failed\nStatus: 5\.1\.1/);
  // postmaster is alice on a test site (see test/core/retry.test.ts).
  const copies = maildirMessages(path.join(site.spool, 'mail/alice'));
  t.is(copies.length, 1, 'postmaster copy');
  t.regex(copies[0], /Final-Recipient: rfc822; nosuchuser[\s\S]*Subject: copied/);
});

test('a clean batch exits 0; LF or CRLF; no HELO needed; HELO/EHLO act as RSET; VRFY/EXPN/HELP are no-ops; QUIT stops reading', async (t) => {
  const site = makeSite();
  const lines = [
    'VRFY bob',
    'EXPN staff',
    'HELP',
    ...txn('hub!zed', ['bob'], msg('first', '.dot\nline\n')).split('\n').slice(0, -1),
    'MAIL FROM:<carol>',
    'RCPT TO:<alice>',
    'EHLO hub', // abandons the open transaction: nothing for alice, carol is told
    ...txn('hub!amy', ['alice'], msg('second')).split('\n').slice(0, -1),
    'QUIT',
    ...txn('hub!zed', ['bob'], msg('after quit')).split('\n').slice(0, -1),
  ];
  const r = await run(site, ['rsmtp'], lines.join('\r\n') + '\r\n');
  t.is(r.code, 65, r.stderr); // the abandoned transaction is reported
  t.regex(r.stderr, /transaction abandoned by EHLO/);
  const bob = maildirMessages(path.join(site.spool, 'mail/bob'));
  const alice = maildirMessages(path.join(site.spool, 'mail/alice'));
  t.is(bob.length, 1);
  t.true(bob[0].endsWith('Subject: first\n\n.dot\nline\n'), 'CRLF removed, dots unstuffed');
  t.is(alice.length, 1);
  t.regex(alice[0], /Subject: second/);
  t.regex(mbox(site, 'carol.mbox'), /Final-Recipient: rfc822; alice\nAction: failed/);

  const clean = await run(site, ['rsmtp'], txn('hub!zed', ['bob'], msg('clean')));
  t.is(clean.code, 0, clean.stderr);
  t.is(clean.stderr, '');
});

test('a truncated batch keeps every complete message; the cut one is bounced and reported (exit 65)', async (t) => {
  const site = makeSite();
  const batch = txn('carol', ['bob'], msg('complete')) + txn('carol', ['alice'], msg('cut', 'first line\nsecond line\n')).replace(/second line\n\.\n$/, 'sec');
  const r = await run(site, ['rsmtp'], batch);
  t.is(r.code, 65);
  t.regex(r.stderr, /batch ended inside the message/);
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 1);
  t.is(maildirMessages(path.join(site.spool, 'mail/alice')).length, 0);
  t.regex(mbox(site, 'carol.mbox'), /Final-Recipient: rfc822; alice\nAction: failed\nStatus: 5\.6\.0/);
});

test('body lines of a message whose recipients were all refused are never taken for commands', async (t) => {
  const site = makeSite();
  const evil = msg('evil', 'MAIL FROM:<x>\nRCPT TO:<bob>\nDATA\n');
  const r = await run(site, ['rsmtp'], txn('carol', ['nobody1'], evil) + txn('carol', ['alice'], msg('ok')));
  t.is(r.code, 65);
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 0);
  t.is(maildirMessages(path.join(site.spool, 'mail/alice')).length, 1);
  t.regex(mbox(site, 'carol.mbox'), /Final-Recipient: rfc822; nobody1\n/);
});

test('sendmail -bS reads a batch the same way', async (t) => {
  const site = makeSite();
  const r = await run(site, ['sendmail', '-bS'], txn('hub!zed', ['bob', 'alice'], msg('via -bS')));
  t.is(r.code, 0, r.stderr);
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 1);
  t.is(maildirMessages(path.join(site.spool, 'mail/alice')).length, 1);
});

test('a temporary failure acknowledges nothing from the failed group on (exit 75) and says where the rest starts', async (t) => {
  const site = makeSite({ conf: { delivery_mode: 'queued' } });
  const gw = await loadGateway(flags(site));
  const first = `HELO hub\n${txn('hub!a', ['bob'], msg('one'))}`;
  const batch = Buffer.from(`${first}${txn('hub!a', ['bob'], msg('two'))}QUIT\n`);
  // Group size 1: message one is committed, then the spool breaks under message two.
  const spool = gw.spool;
  const incoming = spool.incoming;
  // incoming/ "disappears" after the first group commit (rename + directory fsync: two look-ups).
  let calls = 0;
  Object.defineProperty(spool, 'incoming', { get: () => (calls++ < 2 ? incoming : path.join(site.dir, 'gone')) });
  const s = await readBsmtp(gw, batch, { groupSize: 1 });
  t.is(bsmtpExitCode(s), 75);
  t.is(s.accepted.length, 1);
  t.is(s.restOffset, Buffer.byteLength(first));
  t.regex(s.temporary!, /cannot queue/);
  t.is(readdirSync(incoming).length, 1);
});

test('uuxqt runs an rsmtp request in-process: the batch is delivered, refusals bounced, the request removed', async (t) => {
  const site = makeSite();
  writeFileSync(path.join(site.uucp, 'sys'), 'system hub\ncommands rmail rsmtp\n');
  const spool = path.join(site.spool, 'uucp');
  const batch = `HELO hub\n${txn('hub!zed', ['bob'], msg('over uucp', '.x\n'))}${txn('hub!zed', ['nosuch'], msg('nobody'))}QUIT\n`;
  await writeSpoolData(spool, 'hub', 'D.hubC0001', Buffer.from(batch));
  await writeSpoolData(spool, 'hub', 'X.hubX0001', formatExecFile({ user: 'uucp', system: 'hub', files: [{ file: 'D.hubC0001' }], stdin: 'D.hubC0001', command: ['rsmtp'], unknown: [] }));
  const r = await run(site, ['uuxqt', '-v']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^1 executed, 0 failed/);
  const [m] = maildirMessages(path.join(site.spool, 'mail/bob'));
  t.regex(m, /^Return-Path: <hub!zed>\n/);
  t.regex(m, /Received: from hub\n\tby leaf with BSMTP \(uugate rsmtp\)/);
  t.true(m.endsWith('Subject: over uucp\n\n.x\n'));
  t.deepEqual(readdirSync(path.join(spool, 'hub/X.')), []);
  t.false(existsSync(path.join(spool, 'hub/D./D.hubC0001')));
  // zed is on hub: the bounce goes back over UUCP (an rmail job for hub).
  const log = readFileSync(path.join(site.spool, 'log/logfile'), 'latin1');
  t.regex(log, /rsmtp from hub \(X\.hubX0001\) line \d+: .*<nosuch>.*bounced as/);
  t.regex(log, /Received FROM:<> TO:<hub!zed> SIZE:\d+ VIA:bounce/);
});

test('uuxqt: rsmtp not in the commands list is refused as before', async (t) => {
  const site = makeSite();
  writeFileSync(path.join(site.uucp, 'sys'), 'system hub\ncommands rmail\n');
  const spool = path.join(site.spool, 'uucp');
  await writeSpoolData(spool, 'hub', 'D.hubC0002', Buffer.from(txn('hub!zed', ['bob'], msg('x'))));
  await writeSpoolData(spool, 'hub', 'X.hubX0002', formatExecFile({ user: 'uucp', system: 'hub', files: [{ file: 'D.hubC0002' }], stdin: 'D.hubC0002', command: ['rsmtp'], unknown: [] }));
  const r = await run(site, ['uuxqt', '-v']);
  t.regex(r.stdout, /0 executed, 1 failed/);
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 0);
  rmSync(site.dir, { recursive: true, force: true });
});

test('what real MTAs write is taken: MAIL FROM:<>, blanks after the colon, mixed case, source routes, bang and unqualified addresses, postmaster, SIZE/BODY without EHLO', async (t) => {
  const site = makeSite();
  const trivia = `MAIL From: <hub!zed> BODY=8BITMIME SIZE=100\nRCPT To:  <@hub:alice@leaf.example.org>  \nDATA\n${msg('trivia')}.\n`;
  const r = await run(site, ['rsmtp'], txn('', ['bob'], msg('null sender')) + trivia + txn('postmaster', ['bob'], msg('from the postmaster')));
  t.is(r.code, 0, r.stderr);
  const bob = maildirMessages(path.join(site.spool, 'mail/bob'));
  const [alice] = maildirMessages(path.join(site.spool, 'mail/alice'));
  t.deepEqual(bob.map((m) => /^Return-Path: (.*)$/m.exec(m)?.[1]).sort(), ['<>', '<postmaster>']);
  t.regex(alice, /^Return-Path: <hub!zed>\n/);
  t.true(alice.endsWith('Subject: trivia\n\nhello\n'));
});

test('paths the SMTP server refuses are refused in a batch too: a blank or 8-bit byte in a path, RCPT parameters (bounced); a refused MAIL leaves its message without a sender', async (t) => {
  const site = makeSite();
  const batch =
    'MAIL FROM:<carol>\nRCPT TO:<bob>\nRCPT TO:<al ice>\nRCPT TO:<alice> NOTIFY=NEVER\nDATA\nSubject: partly\n.\n' +
    'MAIL FROM:<caf\xe9@far.example>\nRCPT TO:<bob>\nDATA\nSubject: eight-bit sender\n.\n';
  const r = await run(site, ['rsmtp'], Buffer.from(batch, 'latin1'));
  t.is(r.code, 65);
  t.regex(r.stderr, /^line 1: <carol>: refused <al ice>, <alice> \(501 5\.1\.3 bad recipient address syntax\) \(bounced as \S+\)$/m);
  t.regex(r.stderr, /^line 8: MAIL FROM:<caf\S+@far\.example>: 501 5\.1\.7 bad sender address syntax$/m);
  t.regex(r.stderr, /^line 10: message without a sender discarded: 503 5\.5\.1 need MAIL command$/m);
  const bob = maildirMessages(path.join(site.spool, 'mail/bob'));
  t.is(bob.length, 1);
  t.true(bob[0].endsWith('Subject: partly\n'));
  t.is(maildirMessages(path.join(site.spool, 'mail/alice')).length, 0);
  const bounce = mbox(site, 'carol.mbox');
  t.regex(bounce, /Final-Recipient: rfc822; al ice\nAction: failed\nStatus: 5\.1\.3/);
  t.regex(bounce, /Final-Recipient: rfc822; alice\nAction: failed\nStatus: 5\.5\.4/);
});
