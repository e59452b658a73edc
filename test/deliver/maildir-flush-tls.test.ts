// maildir2smtp against a real Exim: STARTTLS when offered, config/tls_policy
// (verify refuses a self-signed certificate and keeps the mail; ca= lets it go),
// and 8-bit mail made quoted-printable for a server without 8BITMIME.
import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as libqp from 'libqp';
import { startExim } from '../helpers/exim.js';
import { selfSignedCert } from '../helpers/tls-peers.js';
import { makeSite, run } from '../helpers/site.js';
import { deliverToMaildir } from '../../src/deliver/maildir.js';
import { autoturnPrefix } from '../../src/deliver/maildir-smtp.js';
import { flushMaildir } from '../../src/deliver/maildir-flush.js';

const files = (maildir: string): string[] =>
  ['new', 'cur'].flatMap((d) => (existsSync(path.join(maildir, d)) ? readdirSync(path.join(maildir, d)) : []));

async function waiting(data: Buffer): Promise<string> {
  const maildir = path.join(mkdtempSync(path.join(os.tmpdir(), 'uugate-flush-tls-')), 'md');
  await deliverToMaildir(maildir, [autoturnPrefix('alice@leaf.example.org', 'pre-', 'bob@exim.test'), data]);
  return maildir;
}

const MESSAGE = Buffer.from('From: alice@leaf.example.org\nTo: bob@exim.test\nSubject: flushed\n\nover TLS\n');

test.serial('uugate maildir2smtp uses STARTTLS when offered; tls_policy verify keeps the mail for a self-signed certificate, verify ca= sends it', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uugate-flush-tls-'));
  const pair = selfSignedCert(dir);
  const exim = await startExim({ tls: pair, extraMain: ['log_selector = +tls_cipher +tls_peerdn'] });
  t.teardown(() => exim.stop());
  const site = makeSite({ files: { tls_policy: 'localhost verify\n' } });
  const maildir = await waiting(MESSAGE);
  const flush = () => run(site, ['maildir2smtp', maildir, 'pre-', `localhost:${exim.port}`, 'leaf.example.org']);

  const refused = await flush();
  t.is(refused.code, 75, refused.stdout + refused.stderr);
  t.regex(refused.stdout, /cannot talk to localhost:\d+: TLS: self[- ]signed certificate/i);
  t.is(files(maildir).length, 1, 'the message stays');
  t.is(exim.messages().length, 0);

  writeFileSync(path.join(site.config, 'tls_policy'), `localhost verify ca=${pair.cert}\n`);
  const sent = await flush();
  t.is(sent.code, 0, sent.stdout + sent.stderr);
  t.is(files(maildir).length, 0);
  t.is(exim.messages().length, 1);
  t.regex(exim.mainlogText(), /<= alice@leaf\.example\.org .*X=TLS1\.[23]:/);
});

test.serial('maildir2smtp: tls_policy encrypt keeps the mail for a server without STARTTLS; may (the default) uses STARTTLS with any certificate', async (t) => {
  const plain = await startExim();
  t.teardown(() => plain.stop());
  const maildir = await waiting(MESSAGE);
  const r = await flushMaildir({ maildir, prefix: 'pre-', host: plain.host, port: plain.port, helo: 'leaf', tlsPolicy: { level: 'encrypt' }, bounce: async () => t.fail('nothing is bounced') });
  t.regex(r.connectError ?? '', /does not offer STARTTLS/);
  t.is(files(maildir).length, 1);

  const pair = selfSignedCert(mkdtempSync(path.join(os.tmpdir(), 'uugate-flush-tls-')));
  const secure = await startExim({ tls: pair, extraMain: ['log_selector = +tls_cipher'] });
  t.teardown(() => secure.stop());
  const sent = await flushMaildir({ maildir, prefix: 'pre-', host: secure.host, port: secure.port, helo: 'leaf', bounce: async () => t.fail('nothing is bounced') });
  t.deepEqual(sent.sent.length, 1, sent.lines.join('\n'));
  t.regex(secure.mainlogText(), /<= alice@leaf\.example\.org .*X=TLS1\.[23]:/);
});

test.serial('maildir2smtp: an 8-bit message flushed to a server without 8BITMIME arrives quoted-printable and decodes to the original bytes', async (t) => {
  const exim = await startExim({ extraMain: ['accept_8bitmime = false'] });
  t.teardown(() => exim.stop());
  const text = Buffer.from('caf\xe9 cr\xe8me\n.\ntab\tand = sign\n' + 'x'.repeat(90) + '\xe9\n\xff\xfe\x80 end\n', 'latin1');
  const head = 'From: alice@leaf.example.org\nTo: bob@exim.test\nSubject: 8bit\nMIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n';
  const maildir = await waiting(Buffer.concat([Buffer.from(head), text]));
  const r = await flushMaildir({ maildir, prefix: 'pre-', host: exim.host, port: exim.port, helo: 'leaf', bounce: async () => t.fail('nothing is bounced') });
  t.is(r.sent.length, 1, r.lines.join('\n'));
  const [got] = exim.messages();
  t.false(/[\x80-\xff]/.test(got), 'only 7-bit bytes arrived');
  t.regex(got, /\nContent-Transfer-Encoding: quoted-printable\n/);
  t.true(libqp.decode(got.slice(got.indexOf('\n\n') + 2)).equals(text));
});

test.serial('maildir2smtp: an 8-bit message that cannot be made 7-bit (8-bit header) is bounced and removed, not sent', async (t) => {
  const exim = await startExim({ extraMain: ['accept_8bitmime = false'] });
  t.teardown(() => exim.stop());
  const maildir = await waiting(Buffer.from('From: alice@leaf.example.org\nTo: bob@exim.test\nSubject: caf\xe9\n\nbody\n', 'latin1'));
  const bounced: string[] = [];
  const r = await flushMaildir({ maildir, prefix: 'pre-', host: exim.host, port: exim.port, helo: 'leaf', bounce: async (_m, reply) => void bounced.push(reply) });
  t.is(r.bounced.length, 1);
  t.regex(bounced[0] ?? '', /^554 5\.6\.3 .*8-bit/);
  t.is(files(maildir).length, 0);
  t.is(exim.messages().length, 0);
});
