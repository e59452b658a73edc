// Limits against slow and early clients (docs/smtp.md): a client that drips a
// command or a message is cut off with 421 4.4.2 however often it sends a byte,
// one address cannot take every connection, a client that talks before the
// greeting gets 554, and a body pipelined behind a refused DATA is never obeyed.
import test from 'ava';
import net from 'node:net';
import { makeSite, run } from '../helpers/site.js';
import { serve, rawSession, queuedFiles, replies, swaks } from './server-helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ENVELOPE = 'EHLO c.lan\r\nMAIL FROM:<a@lan.example>\r\nRCPT TO:<bob@leaf.example.org>\r\nDATA\r\n';

/**
 * After the greeting sends `head` at once, then `drip` a byte every `everyMs`;
 * the transcript once the server closes (or after `timeoutMs`).
 */
function dripSession(port: number, head: string, drip: string, everyMs: number, timeoutMs = 6000): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let out = '';
    let ticker: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearInterval(ticker);
      clearTimeout(timer);
      sock.destroy();
      resolve(out);
    };
    const timer = setTimeout(finish, timeoutMs);
    sock.on('data', (d) => {
      const first = !out;
      out += d.toString('latin1');
      if (!first) return;
      sock.write(head);
      let i = 0;
      ticker = setInterval(() => (i < drip.length ? sock.write(drip[i++]) : clearInterval(ticker)), everyMs);
    });
    sock.on('error', () => undefined);
    sock.on('close', finish);
  });
}

test('a command line dripped a byte at a time is cut off after smtp_timeout (421 4.4.2), though no second passes without a byte', async (t) => {
  const s = await serve({ conf: { delivery_mode: 'queued', smtp_timeout: '1s' } });
  t.teardown(() => s.close());
  const t0 = Date.now();
  const out = await dripSession(s.port, '', 'EHLO slow.lan\r\nQUIT\r\n', 150);
  t.regex(out, /^421 4\.4\.2 leaf\.example\.org timeout: no complete command line within 1 s, closing connection\r$/m, out);
  t.notRegex(out, /^250/m, 'the dripped EHLO was never answered');
  t.true(Date.now() - t0 < 3000, 'cut off before the line was complete');
  await sleep(200);
  t.is(s.srv.connections(), 0, 'the slot is free again');
});

test('a message dripped slower than smtp_min_data_rate is cut off (421 4.4.2) and nothing is queued', async (t) => {
  const s = await serve({ conf: { delivery_mode: 'queued', smtp_timeout: '1s', smtp_min_data_rate: '100' } });
  t.teardown(() => s.close());
  // 50 bytes a second, never silent: due after 1 s plus 10 ms a byte received, at about 2 s (the body would take 3).
  const body = `Subject: slow\r\n\r\n${'x'.repeat(130)}\r\n.\r\nQUIT\r\n`;
  const out = await dripSession(s.port, ENVELOPE, body, 20);
  t.regex(out, /^354 /m, out);
  t.regex(out, /^421 4\.4\.2 leaf\.example\.org timeout: message data slower than 100 bytes a second, closing connection\r$/m, out);
  t.notRegex(out, /queued as/);
  await sleep(200);
  t.deepEqual(queuedFiles(s.site), []);
  // A message at a normal pace still goes through with the same settings.
  const ok = await rawSession(s.port, [`${ENVELOPE}Subject: fast\r\n\r\n`, `${'z'.repeat(70)}\r\n`.repeat(2000), '.\r\nQUIT\r\n'], { until: /^221 /m });
  t.regex(ok, /^250 2\.6\.0 queued as/m, ok);
});

test('one address gets at most smtp_max_per_client connections (default 10 of 40); another still gets 220', async (t) => {
  const s = await serve({ conf: { delivery_mode: 'queued' } });
  t.teardown(() => s.close());
  const open = (host: string): Promise<{ sock: net.Socket; first: string }> =>
    new Promise((resolve) => {
      const sock = net.connect({ port: s.port, host: '127.0.0.1', localAddress: host });
      sock.once('data', (d) => resolve({ sock, first: d.toString('latin1') }));
      t.teardown(() => sock.destroy());
    });
  const held = await Promise.all(Array.from({ length: 10 }, () => open('127.0.0.1')));
  t.true(held.every((h) => h.first.startsWith('220 ')));
  const eleventh = await open('127.0.0.1');
  t.regex(eleventh.first, /^421 4\.7\.0 leaf\.example\.org too many connections from 127\.0\.0\.1, try again later\r\n$/);
  const other = await open('127.0.0.2');
  t.regex(other.first, /^220 /);
});

test('smtp_max_per_client not below smtp_max_connections is a configuration error (exit 78, file:line)', async (t) => {
  const site = makeSite({ conf: { smtp_max_connections: '20', smtp_max_per_client: '20' } });
  const r = await run(site, ['mailq']);
  t.is(r.code, 78, r.stderr);
  t.regex(r.stderr, /uugate\.conf:\d+: smtp_max_per_client \(20\) must be below smtp_max_connections \(20\)/);
  const lone = makeSite({ conf: { smtp_max_connections: '1', smtp_max_per_client: '1' } });
  t.is((await run(lone, ['mailq'])).code, 0, 'one connection in all is allowed');
});

test('a client that talks before the greeting gets 554 5.5.1 and is closed; nothing is queued; one that waits is served', async (t) => {
  const s = await serve({ conf: { delivery_mode: 'queued', smtp_greeting_delay: '1s' } });
  t.teardown(() => s.close());
  const out = await new Promise<string>((resolve) => {
    const sock = net.connect({ port: s.port, host: '127.0.0.1' }, () => sock.write(`${ENVELOPE}Subject: early\r\n\r\nbody\r\n.\r\nQUIT\r\n`));
    let text = '';
    sock.on('data', (d) => (text += d.toString('latin1')));
    sock.on('error', () => undefined);
    sock.on('close', () => resolve(text));
  });
  t.deepEqual(replies(out), ['554 5.5.1 leaf.example.org SMTP synchronization error: input before the greeting']);
  await sleep(200);
  t.deepEqual(queuedFiles(s.site), []);
  t.is(s.srv.connections(), 0);
  // swaks waits for the 220, a second late.
  const r = await swaks(s.port, ['--from', 'x@lan.example', '--to', 'bob@leaf.example.org', '--body', 'patient\n']);
  t.is(r.code, 0, r.out);
  t.regex(r.out, /<- {2}250 2\.6\.0 queued as/);
});

test('a body pipelined behind a refused DATA (503) is dropped to its end, never obeyed: its RCPT and DATA lines get no reply, nothing is queued', async (t) => {
  const s = await serve({ conf: { delivery_mode: 'queued' } });
  t.teardown(() => s.close());
  const smuggled = 'Subject: ride along\r\n\r\nRCPT TO:<bob@leaf.example.org>\r\nDATA\r\nsmuggled\r\n.\r\nQUIT\r\n';
  const out = await rawSession(s.port, [`EHLO c.lan\r\nMAIL FROM:<a@lan.example>\r\nRCPT TO:<nobody@leaf.example.org>\r\nDATA\r\n${smuggled}`], { until: /^221 /m });
  const r = replies(out).filter((l) => !l.startsWith('250-') && !l.startsWith('220 '));
  t.deepEqual(
    r.map((l) => l.slice(0, 9)),
    ['250 SIZE ', '250 2.1.0', '550 5.1.1', '503 5.5.1', '221 2.0.0'],
    out,
  );
  t.deepEqual(queuedFiles(s.site), []);
});
