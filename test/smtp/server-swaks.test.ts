// Our SMTP server as swaks sees it: a pipelined dialogue, 8-bit bodies stored
// byte for byte, SIZE (declared and real), relay control by client address,
// unknown local users refused at RCPT.
//
// What differs between what swaks sends and what lands in the maildir, by design:
// CRLF line ends become LF, dot-stuffing is removed, and our Received: header is
// added (the maildir delivery adds Return-Path: and Delivered-To: in front).
import test from 'ava';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { maildirMessages, waitFor } from '../helpers/site.js';
import { serve, swaks, rawSession, queuedFiles, replies } from './server-helpers.js';

test('swaks is installed (test/install-peers.sh installs it)', (t) => {
  t.true(existsSync('/usr/bin/swaks'));
});


test('PIPELINING: swaks --pipeline sends MAIL, RCPT and DATA in one go; EHLO lists our extensions', async (t) => {
  const s = await serve({ conf: { databytes: '100000' } });
  t.teardown(() => s.close());
  const r = await swaks(s.port, ['--pipeline', '--from', 'sender@lan.example', '--to', 'bob@leaf.example.org', '--body', 'pipelined\n']);
  t.is(r.code, 0, r.out);
  t.regex(r.out, /<- {2}220 leaf\.example\.org ESMTP uugate ready/);
  for (const ext of ['PIPELINING', '8BITMIME', 'ENHANCEDSTATUSCODES', 'SIZE 100000']) t.regex(r.out, new RegExp(`<- {2}250[- ]${ext}\\r?\\n`));
  t.notRegex(r.out, /STARTTLS|AUTH|SMTPUTF8|DSN/);
  // The three commands go out before any of their replies come back.
  t.regex(r.out, / -> MAIL FROM:<sender@lan\.example>\s+ -> RCPT TO:<bob@leaf\.example\.org>\s+ -> DATA\s+<- {2}250 2\.1\.0 .*\s+<- {2}250 2\.1\.5 .*\s+<- {2}354 /);
  t.regex(r.out, /<- {2}250 2\.6\.0 queued as [\w-]+/);
  t.true(await waitFor(() => maildirMessages(path.join(s.site.spool, 'mail/bob')).length === 1));
});

test('an 8-bit message with dot lines arrives in the maildir byte for byte (CRLF→LF, dots unstuffed, Received: added)', async (t) => {
  const s = await serve();
  t.teardown(() => s.close());
  const data = Buffer.from(
    'From: sender@lan.example\nTo: bob@leaf.example.org\nSubject: 8bit\nMIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n' +
      'caf\xe9 cr\xe8me br\xfbl\xe9e\n.\n..\n.hidden\n\xff\xfe\x80 high bytes\ntab\there\n\nlast line\n',
    'latin1',
  );
  const file = path.join(s.site.dir, 'data.eml');
  writeFileSync(file, data);
  const r = await swaks(s.port, ['--from', 'sender@lan.example', '--to', 'bob@leaf.example.org', '--data', `@${file}`]);
  t.is(r.code, 0, r.out);
  t.regex(r.out, / -> \.\.\r?\n -> \.\.\.\r?\n -> \.\.hidden/, 'swaks dot-stuffed the dot lines');
  const dir = path.join(s.site.spool, 'mail/bob');
  t.true(await waitFor(() => maildirMessages(dir).length === 1));
  const got = Buffer.from(maildirMessages(dir)[0], 'latin1');
  const m = /^Return-Path: <sender@lan\.example>\nDelivered-To: bob@leaf\.example\.org\nReceived: from [^\n]+ \(\[127\.0\.0\.1\]\)\n\tby leaf with ESMTP \(uugate smtp\)\n\tid [\w-]+\n\tfor <bob@leaf\.example\.org>; [^\n]+\n/.exec(got.toString('latin1'));
  t.truthy(m, got.toString('latin1').slice(0, 400));
  // swaks ends DATA with CRLF "." CRLF after the data, which ends in a line end
  // already: it sends one empty line more than the file has (its transcript shows it).
  t.regex(r.out, / -> last line\r?\n -> \r?\n -> \.\r?\n/);
  const sent = Buffer.concat([data, Buffer.from('\n')]);
  t.is(got.subarray(m![0].length).toString('latin1'), sent.toString('latin1'), 'the rest is exactly what swaks sent');
  t.true(got.subarray(m![0].length).equals(sent));
});

test('SIZE: a declared size over databytes is refused at MAIL (552 5.3.4); so is a message that is really too big', async (t) => {
  const s = await serve({ conf: { databytes: '2000', delivery_mode: 'queued' } });
  t.teardown(() => s.close());
  const declared = await rawSession(s.port, ['EHLO c.lan\r\nMAIL FROM:<a@lan.example> SIZE=5000\r\nMAIL FROM:<a@lan.example> SIZE=1500\r\nQUIT\r\n'], { until: /^221 /m });
  const lines = replies(declared);
  t.regex(lines.find((l) => l.startsWith('552')) ?? '', /^552 5\.3\.4 /, declared);
  t.true(lines.some((l) => l.startsWith('250 2.1.0')), 'a declared size under the limit is fine');
  // swaks declares no SIZE: the real size counts.
  const big = await swaks(s.port, ['--from', 'a@lan.example', '--to', 'bob@leaf.example.org', '--body', 'x'.repeat(70).concat('\n').repeat(60)]);
  t.not(big.code, 0);
  t.regex(big.out, /<\*\* 552 5\.3\.4 message exceeds fixed maximum message size of 2000 bytes/);
  const small = await swaks(s.port, ['--from', 'a@lan.example', '--to', 'bob@leaf.example.org', '--body', 'small\n']);
  t.is(small.code, 0, small.out);
  t.is(queuedFiles(s.site).length, 1, 'only the small message was queued');
});

test('relay control: a client outside relay_networks may send to us and our UUCP neighbours, not elsewhere (550 5.7.1)', async (t) => {
  const s = await serve({
    conf: { relay_networks: '127.0.0.1/32', delivery_mode: 'queued', smart_path: 'hub' },
    sys: 'system hub\nport tcp\n\nsystem ernie\nport tcp\n',
    files: { hosts: 'far.example.com 127.0.0.1:9\n' },
  });
  t.teardown(() => s.close());
  const outside = ['--local-interface', '127.0.0.2', '--from', 'x@elsewhere.example'];
  const denied = await swaks(s.port, [...outside, '--to', 'someone@far.example.com']);
  t.not(denied.code, 0);
  t.regex(denied.out, /<- {2}250-leaf\.example\.org Nice to meet you, \[127\.0\.0\.2\]/);
  t.regex(denied.out, /<\*\* 550 5\.7\.1 <someone@far\.example\.com>: relaying denied/);
  // The smart host (hub, over UUCP) would take any address: that must not make us an open relay.
  const viaSmart = await swaks(s.port, [...outside, '--to', 'someone@random.example.net']);
  t.regex(viaSmart.out, /<\*\* 550 5\.7\.1 <someone@random\.example\.net>: relaying denied/);
  // Destinations we serve are taken from anyone.
  for (const to of ['bob@leaf.example.org', 'user@ernie.uucp', 'postmaster@leaf.example.org']) {
    const ok = await swaks(s.port, [...outside, '--to', to]);
    t.is(ok.code, 0, `${to}: ${ok.out}`);
  }
  // From inside relay_networks the same far address is fine.
  const inside = await swaks(s.port, ['--from', 'x@lan.example', '--to', 'someone@far.example.com']);
  t.is(inside.code, 0, inside.out);
  t.is(queuedFiles(s.site).length, 4);
});

test('relay control judges the whole route: a bang or % path through a neighbour to a host we do not serve is denied (550 5.7.1)', async (t) => {
  // hub is a UUCP neighbour and the smart host; ernie a neighbour; far.leaf a host in the paths database.
  const s = await serve({
    conf: { relay_networks: '127.0.0.1/32', delivery_mode: 'queued', smart_path: 'hub' },
    sys: 'system hub\nport tcp\n\nsystem ernie\nport tcp\n',
    files: { paths: 'far.leaf\thub!far.leaf!%s\n' },
  });
  t.teardown(() => s.close());
  // (A source route never gets this far: the server drops it, RFC 5321 section 4.1.1.3.)
  const denied = ['hub!gmail.com!victim', 'victim%gmail.com%hub', 'ernie!hub!gmail.com!victim', 'far.leaf!gmail.com!victim', 'hub!leaf!gmail.com!victim', 'gmail.com!hub!bob'].map((a) => `${a}@leaf.example.org`);
  const accepted = ['hub!bob', 'bob%hub', 'leaf!ernie!hub!bob', 'hub!far.leaf!carol', 'hub!leaf!bob', 'bob'].map((a) => `${a}@leaf.example.org`);
  const rcpts = [...denied, ...accepted].map((a) => `RCPT TO:<${a}>\r\n`).join('');
  const outside = await rawSession(s.port, [`EHLO c.example\r\nMAIL FROM:<x@elsewhere.example>\r\n${rcpts}QUIT\r\n`], { host: '127.0.0.2', until: /^221 /m });
  const lines = replies(outside).filter((l) => /^(250 2\.1\.5|[45]\d\d) /.test(l));
  t.deepEqual(lines.slice(0, denied.length), denied.map((a) => `550 5.7.1 <${a}>: relaying denied`), outside);
  t.deepEqual(lines.slice(denied.length).map((l) => l.slice(0, 9)), accepted.map(() => '250 2.1.5'), outside);
  // A relay client may route through anyone.
  const inside = await rawSession(s.port, [`EHLO c.lan\r\nMAIL FROM:<x@lan.example>\r\n${rcpts}QUIT\r\n`], { until: /^221 /m });
  t.is(replies(inside).filter((l) => l.startsWith('250 2.1.5')).length, denied.length + accepted.length, inside);
});

test('rcpt_domains replaces the UUCP default: listed domains from anyone, other neighbours only from relay clients', async (t) => {
  const s = await serve({ conf: { relay_networks: '127.0.0.1/32', delivery_mode: 'queued', rcpt_domains: '.served.example' }, sys: 'system ernie\nport tcp\n', files: { hosts: '.served.example 127.0.0.1:9\n' } });
  t.teardown(() => s.close());
  const outside = ['--local-interface', '127.0.0.2', '--from', 'x@elsewhere.example'];
  t.is((await swaks(s.port, [...outside, '--to', 'u@a.served.example'])).code, 0);
  t.regex((await swaks(s.port, [...outside, '--to', 'user@ernie.uucp'])).out, /550 5\.7\.1/);
  t.is((await swaks(s.port, [...outside, '--to', 'bob@leaf.example.org'])).code, 0, 'local names always');
  // Every host of the route must be listed, not only the first.
  t.is((await swaks(s.port, [...outside, '--to', 'u%b.served.example@a.served.example'])).code, 0);
  t.regex((await swaks(s.port, [...outside, '--to', 'gmail.com!victim@a.served.example'])).out, /550 5\.7\.1 <gmail\.com!victim@a\.served\.example>: relaying denied/);
});

test('an unknown local user is refused at RCPT with 550 5.1.1; the known one in the same transaction is delivered', async (t) => {
  const s = await serve();
  t.teardown(() => s.close());
  const r = await swaks(s.port, ['--from', 'a@lan.example', '--to', 'nosuchuser@leaf.example.org,bob@leaf.example.org']);
  t.regex(r.out, /<\*\* 550 5\.1\.1 <nosuchuser@leaf\.example\.org>: unknown local user/);
  t.regex(r.out, /<- {2}250 2\.1\.5 .*\s+ -> DATA/);
  t.regex(r.out, /<- {2}250 2\.6\.0 queued as/);
  t.true(await waitFor(() => maildirMessages(path.join(s.site.spool, 'mail/bob')).length === 1));
});
