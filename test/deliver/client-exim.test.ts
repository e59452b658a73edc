// The smtp transport against a real Exim (Debian's exim4 with a private
// configuration, on a high loopback port, delivering into a maildir): bodies
// arrive byte for byte (several recipients in one transaction, dot-stuffed lines,
// 8-bit bytes), one connection carries several messages, and a 4xx for one
// recipient leaves only that recipient queued until a later run delivers it.
import test from 'ava';
import { existsSync } from 'node:fs';
import { makeSite, flags, freePort, waitFor } from '../helpers/site.js';
import { startExim, EXIM_BIN, type EximInstance } from '../helpers/exim.js';
import { loadGateway, accept, type Gateway } from '../../src/runtime/gateway.js';
import { runQueue } from '../../src/runtime/runq.js';
import { listQueue } from '../../src/queue/mailq.js';
import { createSmtpTransport, parseNextHop, resolveTargets, statusOf } from '../../src/deliver/smtp.js';

test.serial('Exim is installed (test/install-peers.sh installs exim4-daemon-light)', (t) => {
  t.true(existsSync(EXIM_BIN), `${EXIM_BIN} missing`);
});

async function siteFor(exim: EximInstance, conf: Record<string, string> = {}): Promise<Gateway> {
  const site = makeSite({ conf: { delivery_mode: 'queued', ...conf }, files: { hosts: `exim.test ${exim.host}:${exim.port}\n` } });
  return loadGateway(flags(site));
}

/** The body (after the first empty line) of a stored message. */
const bodyOf = (msg: string): string => msg.slice(msg.indexOf('\n\n') + 2);

const BODY = Buffer.from(
  [
    'Plain line',
    '.',
    '..',
    '.leading dot',
    '...three',
    'latin1: caf\xe9 na\xefve',
    'utf-8: ',
    '',
    'trailing spaces   ',
    'end',
    '',
  ].join('\n'),
  'latin1',
);
const UTF8 = Buffer.from('Grüße, ☃\n', 'utf8');

function message(subject: string): Buffer {
  return Buffer.concat([Buffer.from(`From: alice@leaf.example.org\nTo: a@exim.test\nSubject: ${subject}\nMessage-ID: <${subject}@leaf>\n\n`, 'latin1'), BODY, UTF8]);
}

test.serial('messages arrive at Exim with identical bodies; all recipients in one transaction; one connection for several messages', async (t) => {
  const exim = await startExim({ extraMain: ['log_selector = +smtp_connection'] });
  t.teardown(() => exim.stop());
  const gw = await siteFor(exim, { queue_concurrency: '1' });
  for (const s of ['m1', 'm2', 'm3']) await accept(gw, { sender: 'alice', recipients: ['alice@exim.test', 'bob@exim.test'], data: message(s), origin: 'test' });
  const sum = await runQueue(gw);
  t.is(sum.delivered, 6, JSON.stringify(sum));
  t.true(await waitFor(() => exim.messages().length >= 6));
  const got = exim.messages();
  t.is(got.length, 6);
  const expected = Buffer.concat([BODY, UTF8]).toString('latin1');
  for (const m of got) {
    t.is(bodyOf(m), expected, 'body byte for byte');
    t.regex(m, /^Envelope-to: (alice|bob)@exim\.test$/m);
    t.regex(m, /^Subject: m[123]$/m);
    t.regex(m, /^Received: by leaf with local \(uugate test\)$/m, 'our Received header travels');
  }
  const log = exim.mainlogText();
  const arrivals = log.split('\n').filter((l) => / <= /.test(l));
  t.is(arrivals.length, 3, 'one transaction per message, both recipients in it');
  t.true(arrivals.every((l) => /<= alice@leaf\.example\.org /.test(l)), 'sender in domain form');
  // Every connection logs "connection count"; the helper's start-up probe is the one "lost" without HELO.
  const opened = log.split('\n').filter((l) => /TCP\/IP connection count/.test(l)).length;
  const probes = log.split('\n').filter((l) => /SMTP connection from \[127\.0\.0\.1\] lost/.test(l)).length;
  t.is(opened - probes, 1, `one connection reused for three messages:\n${log}`);
  t.deepEqual(await listQueue(gw.spool), []);
});

test.serial('a 4xx for one recipient leaves it queued with the server\'s status; a later run delivers it, the others exactly once', async (t) => {
  const exim = await startExim({ deferLocalParts: ['carol'], rejectLocalParts: ['nobody'] });
  t.teardown(() => exim.stop());
  const gw = await siteFor(exim);
  const id = await accept(gw, { sender: 'alice', recipients: ['alice@exim.test', 'carol@exim.test', 'bob@exim.test', 'nobody@exim.test'], data: message('defer'), origin: 'test' });
  const first = await runQueue(gw);
  t.like(first, { delivered: 2, deferred: 1, failed: 1 });
  // Exim acknowledges, then delivers in a separate process: wait for its maildir.
  t.true(await waitFor(() => exim.messages().length >= 2));
  t.is(exim.messages().length, 2);
  const q = await listQueue(gw.spool);
  t.is(q.length, 1);
  t.is(q[0].id, id);
  t.deepEqual(q[0].pending.map((p) => p.rcpt), ['carol@exim.test']);
  t.regex(q[0].pending[0].lastError ?? '', /451 4\.2\.1 deferred for a test/);
  const deferred = q[0].log.find((e) => e.ev === 'deferred');
  t.is(deferred?.status, '4.2.1', 'enhanced status from the reply');
  const failed = q[0].log.find((e) => e.ev === 'failed' && e.rcpt === 'nobody@exim.test');
  t.is(failed?.status, '5.1.1');

  exim.setDefer(false);
  const again = await runQueue(gw, { force: true });
  t.is(again.deferred, 0); // delivered: carol, and the bounce for nobody@ to local alice
  t.true(await waitFor(() => exim.messages().length >= 3));
  const got = exim.messages();
  t.is(got.length, 3);
  t.deepEqual(got.map((m) => /^Envelope-to: (.*)$/m.exec(m)?.[1]).sort(), ['alice@exim.test', 'bob@exim.test', 'carol@exim.test']);
  t.true(got.every((m) => bodyOf(m) === Buffer.concat([BODY, UTF8]).toString('latin1')));
});

test.serial('connection refused and a dead next hop are temporary (4.4.1)', async (t) => {
  const site = makeSite({ conf: { delivery_mode: 'queued' } });
  const gw = await loadGateway(flags(site));
  const tr = createSmtpTransport(gw, { connectTimeoutMs: 2000 });
  const port = await freePort();
  const res = await tr.deliver({
    envelope: { id: 'x', sender: 'a@b', recipients: ['u@x'], arrival: Date.now(), origin: 't' },
    data: Buffer.from('Subject: x\n\nx\n'),
    recipients: [{ rcpt: 'u@x', route: { transport: 'smtp', address: 'u@x', nextHop: `127.0.0.1:${port}`, router: 'hosts', why: [] } }],
  });
  t.is(res.length, 1);
  t.like(res[0], { rcpt: 'u@x', outcome: 'temp', status: '4.4.1' });
  t.regex(res[0].reason, /ECONNREFUSED|refused/i);
});

test('next hops, MX order and status parsing', async (t) => {
  t.deepEqual(parseNextHop('mail.lan', 25), { host: 'mail.lan', port: 25, literal: false });
  t.deepEqual(parseNextHop('mail.lan:2525', 25), { host: 'mail.lan', port: 2525, literal: true });
  t.deepEqual(parseNextHop('[::1]:2525', 25), { host: '::1', port: 2525, literal: true });
  t.deepEqual(parseNextHop('::1', 25), { host: '::1', port: 25, literal: true });
  const mx = async (n: string) => {
    if (n === 'multi.test') return [{ exchange: 'b.test', priority: 20 }, { exchange: 'a.test.', priority: 10 }];
    if (n === 'null.test') return [{ exchange: '', priority: 0 }];
    if (n === 'gone.test') throw Object.assign(new Error('nx'), { code: 'ENOTFOUND' });
    if (n === 'flaky.test') throw Object.assign(new Error('sf'), { code: 'ESERVFAIL' });
    throw Object.assign(new Error('nodata'), { code: 'ENODATA' });
  };
  t.deepEqual(await resolveTargets('multi.test', true, 25, mx), { targets: [{ host: 'a.test', port: 25 }, { host: 'b.test', port: 25 }] });
  t.deepEqual(await resolveTargets('nomx.test', true, 25, mx), { targets: [{ host: 'nomx.test', port: 25 }] }, 'no MX: the A record');
  t.deepEqual(await resolveTargets('multi.test', false, 25, mx), { targets: [{ host: 'multi.test', port: 25 }] }, 'config/hosts: no MX lookup');
  t.like(await resolveTargets('null.test', true, 25, mx), { error: { outcome: 'perm', status: '5.1.10' } });
  t.like(await resolveTargets('gone.test', true, 25, mx), { error: { outcome: 'perm', status: '5.1.2' } });
  t.like(await resolveTargets('flaky.test', true, 25, mx), { error: { outcome: 'temp', status: '4.4.3' } });
  t.is(statusOf('451 4.2.1 busy'), '4.2.1');
  t.is(statusOf('550 no such user', '5'), '5.0.0');
  t.is(statusOf('550 4.2.1 inconsistent', '5'), '5.0.0');
  t.is(statusOf('250 OK id=1x', '2'), '2.0.0');
});
