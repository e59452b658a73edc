// The SMTP engine without sockets: DATA decoding however the bytes are split,
// the end marker only after CRLF, and pipelined commands answered in one write.
import test from 'ava';
import fc from 'fast-check';
import { DataDecoder } from '../../src/smtp/data-decoder.js';
import { SmtpSession, type Transaction } from '../../src/smtp/engine.js';

/** Feeds `chunks` to a decoder; the decoded data and what followed the marker. */
function decode(chunks: Buffer[], limit = 1 << 20): { data?: Buffer; size?: number; bareLf?: number; rest: string } {
  const d = new DataDecoder(limit);
  for (const [i, c] of chunks.entries()) {
    const r = d.push(c);
    if (r) return { ...r.done, rest: Buffer.concat([r.rest, ...chunks.slice(i + 1)]).toString('latin1') };
  }
  return { rest: '(no end marker)' };
}

const splitAt = (buf: Buffer, cuts: number[]): Buffer[] => {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  return [...points, buf.length].map((p, i) => buf.subarray(i ? points[i - 1] : 0, p));
};

test('DATA: any message, dot-stuffed with CRLF and split anywhere, decodes to itself with LF', (t) => {
  const line = fc.stringMatching(/^[^\r\n]{0,40}$/);
  fc.assert(
    fc.property(fc.array(line, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 8 }), (lines, cuts) => {
      const wire = Buffer.from(`${lines.map((l) => (l.startsWith('.') ? `.${l}` : l) + '\r\n').join('')}.\r\nQUIT\r\n`, 'latin1');
      const r = decode(splitAt(wire, cuts));
      t.is(r.data?.toString('latin1'), lines.map((l) => `${l}\n`).join(''));
      t.is(r.size, wire.length - '.\r\nQUIT\r\n'.length);
      t.is(r.bareLf, undefined);
      t.is(r.rest, 'QUIT\r\n');
    }),
  );
});

test('DATA: only CRLF "." CRLF ends it; a bare LF is reported at its offset in the decoded data', (t) => {
  const r = decode([Buffer.from('a\n.\nb\r\n.\n\r\n.\rx\r\n.\r\nNEXT')]);
  t.is(r.data?.toString(), 'a\n\nb\n\n\n\rx\n');
  t.is(r.bareLf, 1);
  t.is(r.rest, 'NEXT');
  t.is(decode([Buffer.from('\r\n..\r\n.\r\n')]).data?.toString(), '\n.\n');
});

test('DATA with any line end (sendmail -bs, BSMTP): a bare LF ends a line too, and "." alone on one ends the data', (t) => {
  const any = (wire: string): { data?: string; bareLf?: number; rest?: string } => {
    const r = new DataDecoder(1000, true).push(Buffer.from(wire));
    return { data: r?.done.data?.toString(), bareLf: r?.done.bareLf, rest: r?.rest.toString() };
  };
  t.deepEqual(any('a\r\n..b\nc\n.\nNEXT'), { data: 'a\n.b\nc\n', bareLf: undefined, rest: 'NEXT' });
  t.deepEqual(any('x\n.\r\nNEXT'), { data: 'x\n', bareLf: undefined, rest: 'NEXT' });
});

test('DATA: over the limit the data is dropped but the end marker still found, however the bytes come', (t) => {
  const wire = Buffer.from(`${'x'.repeat(5000)}.\r\n${'y'.repeat(100)}\r\n.\r\nQUIT\r\n`);
  const check = (cuts: number[]): void => {
    const r = decode(splitAt(wire, cuts), 1000);
    t.is(r.data, undefined);
    t.is(r.size, 5003 + 102);
    t.is(r.rest, 'QUIT\r\n');
  };
  check([4999, 5000, 5001, 5002]); // "x.\r" must not pass for ".\r" when only its tail is kept
  fc.assert(fc.property(fc.array(fc.nat(), { maxLength: 12 }), check));
});

/** A session whose replies are collected write by write. */
function session(): { s: SmtpSession; writes: string[]; messages: Transaction[] } {
  const writes: string[] = [];
  const messages: Transaction[] = [];
  const s = new SmtpSession(
    { hostname: 'gw.example', client: '[192.0.2.1]', sizeLimit: 1000, maxRecipients: 2 },
    {
      send: (text) => void writes.push(text),
      rcpt: (addr) => (addr.startsWith('no') ? { code: 550, status: '5.1.1', text: 'unknown' } : undefined),
      message: async (tx) => {
        messages.push(tx);
        return { code: 250, status: '2.6.0', text: 'queued' };
      },
      hold: () => undefined,
    },
  );
  s.start('test');
  return { s, writes, messages };
}

test('pipelined commands get their replies in one write; a rejected recipient does not stop the others', async (t) => {
  const { s, writes, messages } = session();
  s.receive(Buffer.from('EHLO c\r\nMAIL FROM:<a@b.c> SIZE=10 BODY=8BITMIME\r\nRCPT TO:<no@x.y>\r\nRCPT TO:<Postmaster>\r\nDATA\r\n'));
  t.deepEqual(writes.slice(1), [
    '250-gw.example Nice to meet you, [192.0.2.1]\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 SIZE 1000\r\n' +
      '250 2.1.0 Accepted\r\n550 5.1.1 unknown\r\n250 2.1.5 Accepted\r\n354 End data with <CR><LF>.<CR><LF>\r\n',
  ]);
  s.receive(Buffer.from('hi\r\n.\r\nQUIT\r\n'));
  await new Promise((r) => setImmediate(r));
  t.deepEqual(messages, [{ sender: 'a@b.c', recipients: ['Postmaster'], refused: [{ addr: 'no@x.y', why: { code: 550, status: '5.1.1', text: 'unknown' } }], helo: 'c', protocol: 'ESMTP', offset: 8 }]);
  t.is(writes.at(-1), '250 2.6.0 queued\r\n221 2.0.0 gw.example closing connection\r\n');
});

test('syntax: bad paths, unknown parameters, ESMTP parameters after HELO', (t) => {
  const { s, writes } = session();
  s.receive(Buffer.from('HELO c\r\nMAIL FROM:<a@b.c> SIZE=10\r\nMAIL FROM:a@b.c\r\nMAIL FROM:<a b@c>\r\nMAIL FROM:<>\r\nRCPT TO:<>\r\nRCPT TO:<x@[1.2.3.4]> NOTIFY=NEVER\r\nRCPT TO:<@r.example:x@y.z>\r\n'));
  t.deepEqual(
    writes.at(-1)!.split('\r\n').map((l) => l.slice(0, 9)),
    ['250 gw.ex', '555 5.5.4', '501 5.1.7', '501 5.1.7', '250 2.1.0', '501 5.1.3', '555 5.5.4', '250 2.1.5', ''],
  );
});

test('input piling up while a message is being committed stops reading until the reply is out', async (t) => {
  const holds: boolean[] = [];
  let commit!: () => void;
  const writes: string[] = [];
  const s = new SmtpSession(
    { hostname: 'gw.example', client: '[192.0.2.1]', sizeLimit: 1000, maxRecipients: 2 },
    {
      send: (text) => void writes.push(text),
      rcpt: () => undefined,
      message: () => new Promise((resolve) => (commit = () => resolve({ code: 250, status: '2.6.0', text: 'queued' }))),
      hold: (on) => void holds.push(on),
    },
  );
  s.receive(Buffer.from('EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nhi\r\n.\r\n'));
  s.receive(Buffer.from('NOOP\r\n'.repeat(5000)));
  s.receive(Buffer.from('NOOP\r\n'.repeat(10000)));
  t.deepEqual(holds, [true]);
  commit();
  await new Promise((r) => setImmediate(r));
  t.deepEqual(holds, [true, false]);
  t.is(writes.at(-1)!.split('\r\n').filter((l) => l === '250 2.0.0 OK').length, 15000);
});

test('expecting: told once per command line awaited (not per partial chunk), data after the 354, none while a hook runs', async (t) => {
  const told: string[] = [];
  let commit!: () => void;
  const s = new SmtpSession(
    { hostname: 'gw.example', client: '[192.0.2.1]', sizeLimit: 1000, maxRecipients: 2 },
    {
      send: () => undefined,
      rcpt: () => undefined,
      message: () => new Promise((resolve) => (commit = () => resolve({ code: 250, status: '2.6.0', text: 'queued' }))),
      hold: () => undefined,
      expecting: (what) => void told.push(what),
    },
  );
  s.start('test');
  for (const c of ['EH', 'LO', ' c\r\nMAIL FROM:<a@b.c>\r\nRC']) s.receive(Buffer.from(c));
  t.deepEqual(told, ['command', 'command'], 'the greeting, then EHLO and MAIL answered; partial lines change nothing');
  s.receive(Buffer.from('PT TO:<d@e.f>\r\nDATA\r\nhi\r\n'));
  s.receive(Buffer.from('more\r\n'));
  t.deepEqual(told.slice(2), ['data']);
  s.receive(Buffer.from('.\r\n'));
  t.deepEqual(told.slice(3), ['none'], 'the message hook runs');
  commit();
  await new Promise((r) => setImmediate(r));
  t.deepEqual(told.slice(4), ['command']);
});
