// The figures behind the metrics and `uugate stats`: log lines written by the
// Logger read back whole, counted once per message, call results and SMTP
// refusals classified into their fixed sets, and the report over rotated,
// gzipped logs with --since/--until, as text and as self-contained HTML.
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Logger, formatRecord } from '../../src/log/logger.js';
import { parseLogLine } from '../../src/log/log-parse.js';
import { Traffic, reasonKey } from '../../src/log/traffic.js';
import { callResult } from '../../src/uucp/call-log.js';
import { DialError } from '../../src/uucp/dial.js';
import { emptyStats } from '../../src/uucp/session-link.js';
import { refusalReason } from '../../src/smtp/refusal-log.js';
import { GatewayError } from '../../src/util/errors.js';
import { makeSite, run } from '../helpers/site.js';

const at = (stamp: string): number => {
  const [d, t] = stamp.split(' ');
  const [y, mo, da] = d!.split('/').map(Number);
  const [h, mi, s] = t!.split(':').map(Number);
  return new Date(y!, mo! - 1, da!, h!, mi!, s!).getTime();
};

test('a line the Logger writes reads back with its fields, addresses and error text', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uulog-'));
  const clock = () => at('2026/12/06 21:04:05');
  const log = new Logger(dir, clock);
  log.log({ event: 'received', id: 'mx1-aa-01', sender: '', rcpt: 'a b@x', fields: { size: 1290 }, reason: 'rmail' });
  log.log({ event: 'deferred', id: 'mx1-aa-01', rcpt: 'hub!bob', router: 'smart', transport: 'uux', status: '4.4.1', fields: { time: 30 }, reason: 'no (answer) from hub' });
  log.log({ event: 'call', fields: { system: 'hub', dir: 'out', result: 'busy' }, reason: 'modem said BUSY' });
  const [r, d, c] = readFileSync(path.join(dir, 'logfile'), 'utf8').trimEnd().split('\n').map(parseLogLine);
  t.deepEqual(r, { time: clock(), event: 'received', id: 'mx1-aa-01', f: { FROM: '', TO: 'a b@x', SIZE: '1290' }, reason: 'rmail' });
  t.deepEqual(d, { time: clock(), event: 'deferred', id: 'mx1-aa-01', f: { TO: 'hub!bob', ROUTER: 'smart', TRANSPORT: 'uux', STATUS: '4.4.1', TIME: '30' }, reason: 'no (answer) from hub' });
  t.deepEqual(c, { time: clock(), event: 'call', id: undefined, f: { SYSTEM: 'hub', DIR: 'out', RESULT: 'busy' }, reason: 'modem said BUSY' });
  t.is(parseLogLine('  at Object.<anonymous> (file.js:1:1)'), undefined, 'a panic continuation line');
});

test('Traffic counts a message once over its recipients, prices its delivery and keeps calls per neighbour', (t) => {
  const tr = new Traffic(undefined, { detail: true });
  const line = (text: string) => tr.add(parseLogLine(`2026/12/06 10:15:00: ${text}`)!);
  line(formatRecord({ event: 'received', id: 'm1', sender: 'Carol@Hub', rcpt: 'alice', fields: { size: 500 }, reason: 'rmail' }));
  line(formatRecord({ event: 'received', id: 'm1', sender: 'Carol@Hub', rcpt: 'bob@lan.example', fields: { size: 500 }, reason: 'rmail' }));
  line(formatRecord({ event: 'delivered', id: 'm1', rcpt: 'alice', transport: 'maildir', fields: { time: 20 }, reason: 'ok' }));
  line(formatRecord({ event: 'failed', id: 'm1', rcpt: 'bob@lan.example', transport: 'smtp', status: '5.1.1', fields: { time: 400 }, reason: '550 <bob@lan.example>: no such user' }));
  line(formatRecord({ event: 'call', fields: { system: 'hub', result: 'ok', time: 2000, bytes_sent: 3000, bytes_received: 1000, files_sent: 2, resent: 3, damaged: 1 } }));
  line(formatRecord({ event: 'call', fields: { system: 'hub', result: 'no-carrier', time: 40000 } }));
  const s = tr.state;
  t.deepEqual(s.received, { rmail: { messages: 1, bytes: 500 } });
  t.deepEqual(s.deliveries.maildir!.results, { delivered: 1 });
  t.is(s.deliveries.maildir!.bytes, 500);
  t.deepEqual(s.deliveries.smtp!.results, { bounced: 1 });
  t.deepEqual(s.deliveries.smtp!.buckets, [0, 0, 1, 0, 0, 0, 0, 0], '0.4 s falls in the 1 s bucket');
  t.deepEqual(s.bounceReasons, { 'N <…>: no such user': 1 });
  t.deepEqual(s.calls.hub!.results, { ok: 1, 'no-carrier': 1 });
  t.like(s.calls.hub!, { bytesSent: 3000, bytesReceived: 1000, filesSent: 2, resent: 3, damaged: 1, ms: 42000, last: { time: at('2026/12/06 10:15:00'), result: 'no-carrier', ms: 40000, bytes: 0, dir: 'out' } });
  t.deepEqual(Object.values(s.hours), [{ in: 1, out: 1, bytesIn: 500, bytesOut: 500 }]);
  t.deepEqual(tr.detail!.senders, { 'carol@hub': 1 });
  t.deepEqual(tr.detail!.domains, { local: 1, 'lan.example': 1 });
});

test('reasons lose addresses, ids and numbers but keep enhanced status codes', (t) => {
  t.is(reasonKey('451 4.4.1 <a@b> host hub.example[192.0.2.1] timed out after 30 s (mxcbn1s6-dz2-01tk)'), 'N 4.4.1 <…> host hub.example[N] timed out after N s (ID)');
});

test('call results: dial failures by the modem word, login, handshake and protocol failures, timeouts', (t) => {
  const r = (error: GatewayError, stage: 'handshake' | 'transfer' = 'handshake') => ({ ok: false, stage, error, stats: emptyStats() }) as const;
  t.is(callResult({ ok: true, stage: 'complete', stats: emptyStats() }, 'session'), 'ok');
  t.is(callResult(r(new DialError('/dev/ttyS0', 'BUSY', 'BUSY')), 'dial'), 'busy');
  t.is(callResult(r(new DialError('/dev/ttyS0', 'NO CARRIER', 'no carrier (DCD) 60 s after the dial chat')), 'dial'), 'no-carrier');
  t.is(callResult(r(new DialError('/dev/ttyS0', 'NO ANSWER', 'NO ANSWER')), 'dial'), 'no-answer');
  t.is(callResult(r(new GatewayError('connect ECONNREFUSED 127.0.0.1:540')), 'dial'), 'dial-failed');
  t.is(callResult(r(new GatewayError('chat: timed out waiting for "ogin:"')), 'login'), 'timeout');
  t.is(callResult(r(new GatewayError('chat: got "Login incorrect"')), 'login'), 'login-refused');
  t.is(callResult(r(new GatewayError('remote refused: RLOGIN')), 'session'), 'login-refused');
  t.is(callResult(r(new GatewayError('g: too many errors'), 'transfer'), 'session'), 'protocol-failure');
});

test('SMTP refusal reasons', (t) => {
  t.deepEqual(
    [[550, '5.7.1'], [552, '5.3.4'], [421, '4.7.0'], [452, '4.5.3'], [421, '4.4.2'], [501, '5.5.4'], [550, '5.1.1'], [550, '5.1.2'], [451, '4.3.0']].map(([c, s]) => refusalReason(c as number, s as string)),
    ['relay', 'size', 'rate', 'rate', 'timeout', 'syntax', 'unknown-user', 'no-route', 'other'],
  );
});

test('Traffic counts SMTP connections by listener and TLS, AUTH results, and refusals by entry point; an old snapshot keeps its SMTP refusals', (t) => {
  const tr = new Traffic({ refusals: { relay: 4 } } as never);
  const line = (rec: Parameters<typeof formatRecord>[0]) => tr.add(parseLogLine(`2026/12/06 10:15:00: ${formatRecord(rec)}`)!);
  line({ event: 'info', fields: { listener: 'submission', tls: 'yes' }, reason: 'smtp: [192.0.2.1] connection closed' });
  line({ event: 'info', fields: { listener: 'submission', tls: 'yes' }, reason: 'smtp: [192.0.2.1] connection closed' });
  line({ event: 'info', fields: { listener: 'smtp', tls: 'no' }, reason: 'smtp: [192.0.2.2] connection closed' });
  line({ event: 'info', fields: { listener: 'submission', auth: 'ok' }, reason: 'smtp: [192.0.2.1] authenticated as alice' });
  line({ event: 'info', fields: { listener: 'submission', auth: 'fail' }, reason: 'smtp: [192.0.2.1] failed login as alice' });
  line({ event: 'refused', status: '5.7.1', fields: { entry: 'smtp', reason: 'relay', client: '192.0.2.2' }, reason: '550 relaying denied' });
  line({ event: 'refused', status: '5.1.1', fields: { entry: 'rmail', reason: 'unknown-user' }, reason: 'exit 67: unknown local user "x"' });
  t.deepEqual(tr.state.smtpConnections, { submission: { yes: 2 }, smtp: { no: 1 } });
  t.deepEqual(tr.state.smtpAuth, { submission: { ok: 1, fail: 1 } });
  t.deepEqual(tr.state.refused, { smtp: { relay: 5 }, rmail: { 'unknown-user': 1 } });
  t.false('refusals' in tr.state);
});

test('rmail and sendmail log their refusals (unknown user, bad data, size) as Refused lines with the entry point and reason', async (t) => {
  const site = makeSite({ conf: { message_size_limit: '200' } });
  t.is((await run(site, ['rmail', 'nosuch'], 'From a Fri Nov 27 10:00:00 2026\nSubject: x\n\ny\n')).code, 67);
  t.is((await run(site, ['rmail', 'bob'], 'Subject: x\n\nab\0cd\n')).code, 65);
  t.is((await run(site, ['sendmail', 'bob'], `Subject: x\n\n${'y'.repeat(300)}\n`)).code, 65);
  t.is((await run(site, ['sendmail', 'nosuch'], 'Subject: x\n\ny\n')).code, 67);
  const lines = readFileSync(path.join(site.spool, 'log/logfile'), 'utf8').split('\n').map(parseLogLine).filter((l) => l?.event === 'refused');
  t.deepEqual(lines.map((l) => [l!.f.ENTRY, l!.f.REASON, l!.f.STATUS]), [
    ['rmail', 'unknown-user', '5.1.1'],
    ['rmail', 'syntax', '5.6.0'],
    ['sendmail', 'size', '5.3.4'],
    ['sendmail', 'unknown-user', '5.1.1'],
  ]);
  t.regex(lines[0]!.reason!, /^exit 67: unknown local user "nosuch"/);
  const stats = await run(site, ['stats']);
  t.regex(stats.stdout, /Refusals +4/);
  t.regex(stats.stdout, /rmail +unknown-user +1/);
  t.regex(stats.stdout, /sendmail +size +1/);
});

const DAY1 = [
  '2026/12/01 08:59:59: [m1-aa-01] Info uuxqt: X.hubN0002 from hub (rmail alice): accepted as m1-aa-01',
  '2026/12/01 09:00:00: [m1-aa-01] Received FROM:<carol@hub> TO:<alice> SIZE:1000 VIA:rmail',
  '2026/12/01 09:00:01: [m1-aa-01] Delivered TO:<alice> ROUTER:user TRANSPORT:maildir STATUS:2.0.0 TIME:5 delivered',
  '2026/12/01 09:30:00: Call SYSTEM:hub DIR:in RESULT:ok TIME:4000 BYTES_SENT:0 BYTES_RECEIVED:1200 FILES_SENT:0 FILES_RECEIVED:1 RESENT:0 DAMAGED:0',
];
const DAY2 = [
  '2026/12/02 10:00:00: [m2-aa-01] Received FROM:<dave@lan> TO:<hub!zed> SIZE:3000 VIA:smtp',
  '2026/12/02 10:00:01: [m2-aa-01] Deferred TO:<hub!zed> ROUTER:smart TRANSPORT:uux STATUS:4.3.0 TIME:2 ERROR:(spool full)',
  '2026/12/02 10:20:00: [m2-aa-01] Delivered TO:<hub!zed> ROUTER:smart TRANSPORT:uux STATUS:2.0.0 TIME:3 queued for hub as UUCP job hubN0003 (rmail zed)',
  '2026/12/02 10:05:00: Refused STATUS:5.7.1 REASON:relay CLIENT:192.0.2.9 ERROR:(550 relaying denied)',
  '2026/12/02 10:05:00: Info LISTENER:smtp TLS:no smtp: [192.0.2.9] connection closed',
];

test('uugate stats reads rotated and gzipped logs oldest first, honours --since/--until, and writes a self-contained HTML report', async (t) => {
  const site = makeSite();
  const log = path.join(site.spool, 'log');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(log, { recursive: true });
  writeFileSync(path.join(log, 'logfile.2.gz'), gzipSync(`${DAY1.join('\n')}\n`));
  writeFileSync(path.join(log, 'logfile.1'), `${DAY2.join('\n')}\n`);
  writeFileSync(path.join(log, 'logfile'), '');
  const all = await run(site, ['stats']);
  t.is(all.code, 0, all.stderr);
  t.regex(all.stdout, /\(9 log lines\)/);
  t.regex(all.stdout, /Messages received +2 +3\.9 KiB/);
  t.regex(all.stdout, /2026-12-01 +1 +1 +1000 B +1000 B\n +2026-12-02 +1 +1 +2\.9 KiB +2\.9 KiB/);
  t.regex(all.stdout, /Mail per UUCP neighbour\n-+\n +System +Messages in +Bytes in +Messages out +Bytes out\n +hub +1 +1000 B +1 +2\.9 KiB\n/);
  t.regex(all.stdout, /hub +1 +100\.0% +4\.0 s +0 B +1\.2 KiB +0\/1 +300 B\/s +0 +0/);
  t.regex(all.stdout, /carol@hub +1/);
  t.regex(all.stdout, /spool full +1/);
  t.regex(all.stdout, /smtp +relay +1/);
  t.regex(all.stdout, /Listener +Connections +With TLS +AUTH ok +AUTH failed\n +smtp +1 +0 +0 +0\n/);
  const day2 = await run(site, ['stats', '--since', '2026-12-02', '--until', '2026-12-03', '--html', path.join(site.dir, 'r.html')]);
  t.is(day2.code, 0, day2.stderr);
  t.regex(day2.stdout, /\(5 log lines\)/);
  t.notRegex(day2.stdout, /carol/);
  const html = readFileSync(path.join(site.dir, 'r.html'), 'utf8');
  t.regex(html, /<canvas id="chart-hourly">/);
  t.regex(html, /Chart\.js v4/, 'Chart.js inlined');
  t.notRegex(html, /<script src=|<link [^>]*href="http/, 'nothing fetched');
  const bad = await run(site, ['stats', '--since', 'yesterday']);
  t.is(bad.code, 64);
  t.regex(bad.stderr, /--since yesterday: expected YYYY-MM-DD/);
});
