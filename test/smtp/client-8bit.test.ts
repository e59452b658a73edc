// 8-bit mail through the smtp transport to a real Exim that does not offer
// 8BITMIME (accept_8bitmime = false): it arrives 7-bit, quoted-printable for
// text and base64 for binary parts, and decodes to the original bytes; a message
// with 8-bit header bytes cannot be converted and bounces (5.6.3).
import test from 'ava';
import * as libqp from 'libqp';
import * as libbase64 from 'libbase64';
import { makeSite, flags, waitFor } from '../helpers/site.js';
import { startExim, type EximInstance } from '../helpers/exim.js';
import { loadGateway, accept, type Gateway } from '../../src/runtime/gateway.js';
import { runQueue } from '../../src/runtime/runq.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';

async function siteFor(exim: EximInstance): Promise<Gateway> {
  const site = makeSite({ conf: { delivery_mode: 'queued' }, files: { hosts: `exim.test ${exim.host}:${exim.port}\n` } });
  return loadGateway(flags(site));
}

const TEXT = Buffer.from(
  ['caf\xe9 cr\xe8me br\xfbl\xe9e', '.', '..leading dots', 'trailing spaces   ', 'tab\tand = sign', 'x'.repeat(90) + '\xe9', '\xff\xfe\x80 high bytes', 'end', ''].join('\n'),
  'latin1',
);

test.serial('an 8-bit text message arrives quoted-printable, 7-bit only, and decodes to the original body byte for byte', async (t) => {
  const exim = await startExim({ extraMain: ['accept_8bitmime = false'] });
  t.teardown(() => exim.stop());
  const gw = await siteFor(exim);
  const head = 'From: alice@leaf.example.org\nTo: a@exim.test\nSubject: 8bit\nMIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n';
  await accept(gw, { sender: 'alice', recipients: ['a@exim.test'], data: Buffer.concat([Buffer.from(head), TEXT]), origin: 'test' });
  t.like(await runQueue(gw), { delivered: 1 });
  t.true(await waitFor(() => exim.messages().length === 1));
  const got = exim.messages()[0];
  t.false(/[\x80-\xff]/.test(got), 'only 7-bit bytes arrived');
  t.regex(got, /\nContent-Transfer-Encoding: quoted-printable\n/);
  t.notRegex(got, /Content-Transfer-Encoding: 8bit/);
  const body = got.slice(got.indexOf('\n\n') + 2);
  t.true(libqp.decode(body).equals(TEXT), body);
});

test.serial('multipart: the 8-bit text part becomes quoted-printable, the binary part base64, the 7-bit part is untouched', async (t) => {
  const exim = await startExim({ extraMain: ['accept_8bitmime = false'] });
  t.teardown(() => exim.stop());
  const gw = await siteFor(exim);
  const binary = Buffer.from([1, 2, 0xff, 0x80, 0x0d, 0x0a, 0x41, 0xc3]);
  const data = Buffer.concat([
    Buffer.from('From: alice@leaf.example.org\nTo: a@exim.test\nSubject: parts\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b1"\n\n--b1\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n'),
    TEXT,
    Buffer.from('\n--b1\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n'),
    binary,
    Buffer.from('\n--b1\nContent-Type: text/plain\n\nplain ascii\n--b1--\n'),
  ]);
  await accept(gw, { sender: 'alice', recipients: ['a@exim.test'], data, origin: 'test' });
  t.like(await runQueue(gw), { delivered: 1 });
  t.true(await waitFor(() => exim.messages().length === 1));
  const got = exim.messages()[0];
  t.false(/[\x80-\xff]/.test(got));
  const parts = got.split('\n--b1');
  t.is(parts.length, 5, got);
  t.is(parts[4], '--\n');
  const bodyOf = (part: string): string => part.slice(part.indexOf('\n\n') + 2);
  t.regex(parts[1], /Content-Transfer-Encoding: quoted-printable/);
  t.true(libqp.decode(bodyOf(parts[1])).equals(TEXT));
  t.regex(parts[2], /Content-Transfer-Encoding: base64/);
  t.true(libbase64.decode(bodyOf(parts[2])).equals(binary));
  t.is(parts[3], '\nContent-Type: text/plain\n\nplain ascii');
});

test.serial('8-bit bytes in a header cannot be converted: the message bounces with 5.6.3', async (t) => {
  const exim = await startExim({ extraMain: ['accept_8bitmime = false'] });
  t.teardown(() => exim.stop());
  const gw = await siteFor(exim);
  await accept(gw, { sender: 'alice@leaf.example.org', recipients: ['a@exim.test'], data: Buffer.from('From: J\xf6rg <alice@leaf.example.org>\nTo: a@exim.test\n\nbody \xe9\n', 'latin1'), origin: 'test' });
  t.like(await runQueue(gw), { failed: 1 }); // and its bounce delivered to alice here
  const log = readFileSync(path.join(gw.cfg.spoolDir, 'log/logfile'), 'latin1');
  t.regex(log, /a@exim\.test.*5\.6\.3.*\(no 8BITMIME\) does not take 8-bit mail and the message cannot be converted: 8-bit bytes in the message header/);
  t.is(exim.messages().length, 0);
});
