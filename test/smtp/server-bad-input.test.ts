// Bad input to our SMTP server over a raw socket: every case gets its reply code,
// the server keeps serving, and nothing partial is ever queued.
import test from 'ava';
import { rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { serve, rawSession, queuedFiles, replies, type ServedSite } from './server-helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ENVELOPE = 'EHLO c.lan\r\nMAIL FROM:<a@lan.example>\r\nRCPT TO:<bob@leaf.example.org>\r\nDATA\r\n';

/** The server still takes a normal message. */
async function stillServes(t: { regex(s: string, r: RegExp, m?: string): void }, s: ServedSite): Promise<void> {
  const out = await rawSession(s.port, [`${ENVELOPE}Subject: ok\r\n\r\nfine\r\n.\r\nQUIT\r\n`], { until: /^221 /m });
  t.regex(out, /^250 2\.6\.0 queued as [\w-]+\r$/m, `server still serves: ${out}`);
}

test('commands out of order get 503 5.5.1; DATA without RCPT too; nothing is queued', async (t) => {
  const s = await serve({ conf: { delivery_mode: 'queued' } });
  t.teardown(() => s.close());
  const out = await rawSession(
    s.port,
    [
      'MAIL FROM:<a@lan.example>\r\n', // before EHLO
      'EHLO c.lan\r\n',
      'RCPT TO:<bob@leaf.example.org>\r\n', // before MAIL
      'DATA\r\n', // before MAIL
      'MAIL FROM:<a@lan.example>\r\n',
      'MAIL FROM:<b@lan.example>\r\n', // nested
      'DATA\r\n', // without RCPT
      'RSET\r\nQUIT\r\n',
    ],
    { until: /^221 /m, stepwise: true }, // a refused DATA drops what is pipelined behind it (tested below)
  );
  const r = replies(out);
  t.regex(r[1], /^503 5\.5\.1 /, out);
  t.regex(r[2], /^250-leaf\.example\.org/);
  const after = r.slice(r.findIndex((l) => l.startsWith('250 SIZE')) + 1);
  t.regex(after[0], /^503 5\.5\.1 .*MAIL/i, 'RCPT before MAIL');
  t.regex(after[1], /^503 5\.5\.1 /, 'DATA before MAIL');
  t.regex(after[2], /^250 2\.1\.0 /);
  t.regex(after[3], /^503 5\.5\.1 .*nested/i);
  t.regex(after[4], /^503 5\.5\.1 .*RCPT/i, 'DATA without RCPT');
  t.deepEqual(queuedFiles(s.site), []);
  await stillServes(t, s);
});

test('DATA with bare LF line ends is refused (554 5.6.0), the session goes on', async (t) => {
  const s = await serve({ conf: { delivery_mode: 'queued' } });
  t.teardown(() => s.close());
  const out = await rawSession(s.port, [`${ENVELOPE}Subject: lf\nbody\n.\n\r\n.\r\nRSET\r\nQUIT\r\n`], { until: /^221 /m });
  t.regex(out, /^554 5\.6\.0 message contains a bare LF at byte offset 11; lines must end in CRLF\r$/m, out);
  t.regex(out, /^250 2\.0\.0 Flushed\r$/m, 'RSET after it');
  t.deepEqual(queuedFiles(s.site), []);
  await stillServes(t, s);
});

test('a command line ended by a bare LF gets 500 5.5.2 and is not obeyed; the session goes on', async (t) => {
  const s = await serve({ conf: { delivery_mode: 'queued' } });
  t.teardown(() => s.close());
  const out = await rawSession(s.port, ['EHLO c.lan\nNOOP\nQUIT\n', 'NOOP\r\nQUIT\r\n'], { until: /^221 /m });
  const r = replies(out);
  t.deepEqual(r.slice(1, 4).map((l) => l.slice(0, 10)), ['500 5.5.2 ', '500 5.5.2 ', '500 5.5.2 '], out);
  t.regex(r[1], /bare LF/);
  t.deepEqual(r.slice(4), ['250 2.0.0 OK', '221 2.0.0 leaf.example.org closing connection']);
});

test('NUL bytes: in the message 554 5.6.0 with the offset; in a command a 5xx; no crash', async (t) => {
  const s = await serve({ conf: { delivery_mode: 'queued' } });
  t.teardown(() => s.close());
  const data = await rawSession(s.port, [`${ENVELOPE}Subject: nul\r\n\r\nab\0cd\r\n.\r\nQUIT\r\n`], { until: /^221 /m });
  t.regex(data, /^554 5\.6\.0 message contains a NUL byte at byte offset \d+\r$/m, data);
  const cmd = await rawSession(s.port, ['EHLO c.lan\r\nMAIL FROM:<a\0b@lan.example>\r\nQUIT\r\n'], { until: /^221 /m });
  t.regex(cmd, /^5\d\d /m, cmd);
  t.deepEqual(queuedFiles(s.site), []);
  await stillServes(t, s);
});

test('long lines: a data line over 998 characters 554 5.6.0; a command over 1000 characters 500 5.5.2 and the session goes on', async (t) => {
  const s = await serve({ conf: { delivery_mode: 'queued' } });
  t.teardown(() => s.close());
  const data = await rawSession(s.port, [`${ENVELOPE}Subject: long\r\n\r\n${'y'.repeat(1200)}\r\n.\r\nQUIT\r\n`], { until: /^221 /m });
  t.regex(data, /^554 5\.6\.0 line 3 is 1200 characters long \(limit 998\)/m, data);
  // In one piece and spread over several writes (the line is dropped as it comes).
  for (const input of [[`EHLO c.lan\r\nMAIL FROM:<${'x'.repeat(1500)}@lan.example>\r\nNOOP\r\nQUIT\r\n`], ['EHLO c.lan\r\nMAIL FROM:<', 'x'.repeat(5000), 'x'.repeat(5000), '@lan.example>\r\nNOOP\r\nQUIT\r\n']]) {
    const cmd = await rawSession(s.port, input, { until: /^221 /m });
    const r = replies(cmd);
    t.regex(r.at(-3) ?? '', /^500 5\.5\.2 line too long \(limit 1000 characters\)$/, cmd);
    t.deepEqual(r.slice(-2), ['250 2.0.0 OK', '221 2.0.0 leaf.example.org closing connection'], 'the session goes on');
  }
  t.deepEqual(queuedFiles(s.site), []);
  await stillServes(t, s);
});

test('a client that disconnects in the middle of DATA queues nothing', async (t) => {
  const s = await serve({ conf: { delivery_mode: 'queued' } });
  t.teardown(() => s.close());
  const out = await rawSession(s.port, [`${ENVELOPE}Subject: cut\r\n\r\npart of a message\r\n`], { closeAfter: true });
  t.regex(out, /^354 /m);
  // And one that sends ".\r" but never the LF.
  await rawSession(s.port, [`${ENVELOPE}Subject: cut\r\n\r\nalmost\r\n.\r`], { closeAfter: true });
  await sleep(300);
  t.deepEqual(queuedFiles(s.site), []);
  t.is(s.srv.connections(), 0);
  await stillServes(t, s);
});

test('pipelined garbage: 500 5.5.2 per line, 421 after ten, the server lives on', async (t) => {
  const s = await serve({ conf: { delivery_mode: 'queued' } });
  t.teardown(() => s.close());
  const junk = Array.from({ length: 30 }, (_, i) => `\x01\x02garbage ${i} \xff\xfe\r\n`).join('');
  const out = await rawSession(s.port, ['EHLO c.lan\r\n', Buffer.from(junk, 'latin1'), 'GET / HTTP/1.0\r\n']);
  const r = replies(out);
  t.true(r.filter((l) => /^500 5\.5\.2 /.test(l)).length >= 9, out);
  t.regex(r.at(-1) ?? '', /^421 /);
  // HTTP on the SMTP port is cut off at once.
  const http = await rawSession(s.port, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n']);
  t.regex(http, /^421 /m);
  t.deepEqual(queuedFiles(s.site), []);
  await stillServes(t, s);
});

test('limits: recipients per message (452 4.5.3), connections per client and in total (421)', async (t) => {
  const s = await serve({ conf: { delivery_mode: 'queued', smtp_max_recipients: '2', smtp_max_per_client: '2', smtp_max_connections: '3' } });
  t.teardown(() => s.close());
  const rc = await rawSession(s.port, ['EHLO c.lan\r\nMAIL FROM:<a@lan.example>\r\nRCPT TO:<bob@leaf.example.org>\r\nRCPT TO:<alice@leaf.example.org>\r\nRCPT TO:<carol@leaf.example.org>\r\nQUIT\r\n'], { until: /^221 /m });
  t.regex(rc, /^452 4\.5\.3 /m, rc);

  const hold = async (host: string): Promise<net.Socket> =>
    new Promise((resolve) => {
      const sock = net.connect({ port: s.port, host: '127.0.0.1', localAddress: host });
      sock.once('data', () => resolve(sock));
    });
  const a = await hold('127.0.0.1');
  const b = await hold('127.0.0.1');
  t.teardown(() => {
    a.destroy();
    b.destroy();
  });
  const third = await rawSession(s.port, []);
  t.regex(third, /^421 4\.7\.0 .*too many connections from 127\.0\.0\.1/m, third);
  const c = await hold('127.0.0.2'); // another client still gets in
  t.teardown(() => c.destroy());
  const fourth = await rawSession(s.port, [], { host: '127.0.0.3' });
  t.regex(fourth, /^421 /m, `total limit: ${fourth}`);
});

test('smtp_timeout: an idle client gets 421; a client stalling in DATA too, and nothing is queued', async (t) => {
  const s = await serve({ conf: { delivery_mode: 'queued', smtp_timeout: '1s' } });
  t.teardown(() => s.close());
  const idle = await rawSession(s.port, ['EHLO c.lan\r\n'], { until: /^421 /m, timeoutMs: 4000 });
  t.regex(idle, /^421 .*[Tt]imeout/m, idle);
  const stalled = await rawSession(s.port, [`${ENVELOPE}Subject: slow\r\n\r\nand then nothing`], { until: /^421 /m, timeoutMs: 4000 });
  t.regex(stalled, /^421 /m, stalled);
  await sleep(200);
  t.deepEqual(queuedFiles(s.site), []);
});

test('the final 250 comes only once the queue file is in incoming/; a spool that cannot be written answers 451', async (t) => {
  const s = await serve({ conf: { delivery_mode: 'queued' } });
  t.teardown(() => s.close());
  const out = await rawSession(s.port, [`${ENVELOPE}Subject: durable\r\n\r\nx\r\n.\r\n`], { until: /^250 2\.6\.0 queued as/m });
  const id = /queued as ([\w-]+)/.exec(out)![1];
  t.true(queuedFiles(s.site).includes(`incoming/${id}`), 'the file is there when the 250 is');
  // A spool whose tmp/ cannot hold the file: a temporary failure, nothing acknowledged.
  rmSync(path.join(s.site.spool, 'tmp'), { recursive: true });
  writeFileSync(path.join(s.site.spool, 'tmp'), 'not a directory');
  const fail = await rawSession(s.port, [`${ENVELOPE}Subject: no spool\r\n\r\nx\r\n.\r\nQUIT\r\n`], { until: /^221 /m });
  t.regex(fail, /^451 4\.3\.0 cannot queue message/m, fail);
});

test('a client that shuts down its sending side after a pipelined QUIT (as Exim does) still gets the 250 and the 221', async (t) => {
  const s = await serve({ conf: { delivery_mode: 'queued' } });
  t.teardown(() => s.close());
  const out = await new Promise<string>((resolve) => {
    const sock = net.connect({ port: s.port, host: '127.0.0.1' });
    let text = '';
    sock.on('data', (d) => {
      if (!text) sock.end(`${ENVELOPE}Subject: half-closed\r\n\r\nx\r\n.\r\nQUIT\r\n`);
      text += d.toString('latin1');
    });
    sock.on('error', () => undefined);
    sock.on('close', () => resolve(text));
  });
  t.regex(out, /^250 2\.6\.0 queued as [\w-]+\r\n221 2\.0\.0 /m, out);
  t.is(queuedFiles(s.site).length, 1);
});
