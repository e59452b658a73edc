// AutoTURN-style flushes: the maildir-smtp transport (config/autoturn) keeps mail
// for a dial-up site in a maildir; maildir2smtp (serialmail's maildirsmtp) sends it
// to a real SMTP server: Debian's Exim on loopback.
import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { makeSite, run, UUGATE, freePort, type Site } from '../helpers/site.js';
import { EXIM, makeExim, startEximDaemon, type EximDaemon, type EximSite } from '../helpers/exim-bsmtp.js';
import { deliverToMaildir } from '../../src/deliver/maildir.js';
import { LOCK_NAME, flushExitCode, flushMaildir } from '../../src/deliver/maildir-flush.js';

const AUTOTURN = 'site.example autoturn/site/ autoturn-site-\n.site.example autoturn/site/ autoturn-site-\n';

function autoturnSite(): Site & { maildir: string } {
  const s = makeSite({ files: { autoturn: AUTOTURN } });
  return { ...s, maildir: path.join(s.spool, 'autoturn/site') };
}

const files = (maildir: string): string[] =>
  ['new', 'cur'].flatMap((d) => (existsSync(path.join(maildir, d)) ? readdirSync(path.join(maildir, d)).map((n) => path.join(maildir, d, n)) : []));

async function waitFor<T>(f: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const eximMail = (ex: EximSite): string[] => {
  const d = path.join(ex.maildir, 'new');
  return existsSync(d) ? readdirSync(d).map((n) => readFileSync(path.join(d, n), 'latin1')) : [];
};

test('Exim is installed (Debian exim4)', (t) => {
  t.true(existsSync(EXIM));
});

test('uugate route shows the autoturn router and the maildir-smtp transport', async (t) => {
  const s = autoturnSite();
  const r = await run(s, ['route', 'user@site.example', 'x@sub.site.example']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /autoturn/);
  t.regex(r.stdout, /maildir-smtp/);
  t.regex(r.stdout, /user@site\.example/);
});

test('a smart host reached by maildir-smtp keeps its mail in the config/autoturn maildir of that next hop', async (t) => {
  const s = makeSite({ files: { autoturn: AUTOTURN }, conf: { smart_path: 'site.example', smart_transport: 'maildir-smtp' } });
  const r = await run(s, ['sendmail', '-oi', '-f', 'alice', 'zed@far.example'], 'Subject: via smart host\n\nx\n');
  t.is(r.code, 0, r.stderr);
  const got = files(path.join(s.spool, 'autoturn/site')).map((f) => readFileSync(f, 'latin1'));
  t.is(got.length, 1);
  t.regex(got[0], /^Return-Path: <alice@leaf\.example\.org>\nDelivered-To: autoturn-site-zed@far\.example\n/);
});

test('the maildir-smtp transport writes Return-Path then Delivered-To: PREFIX+recipient, one file per recipient', async (t) => {
  const s = autoturnSite();
  const r = await run(s, ['sendmail', '-oi', '-f', 'alice', 'joe@site.example', 'ann@sub.site.example'], 'Subject: hold\n\n.body\n');
  t.is(r.code, 0, r.stderr);
  const got = files(s.maildir).map((f) => readFileSync(f, 'latin1')).sort();
  t.is(got.length, 2);
  t.regex(got[0], /^Return-Path: <alice@leaf\.example\.org>\nDelivered-To: autoturn-site-ann@sub\.site\.example\n/);
  t.regex(got[1], /^Return-Path: <alice@leaf\.example\.org>\nDelivered-To: autoturn-site-joe@site\.example\n/);
  t.true(got[1].endsWith('\n\n.body\n'));
});

let daemon: EximDaemon | undefined;
let ex: EximSite;
test.before(async () => {
  ex = makeExim('maildir');
  daemon = await startEximDaemon(ex);
});
test.after.always(async () => {
  await daemon?.stop();
});

test.serial('maildir2smtp sends to Exim: identical bodies, 250 removes, 451 keeps, 550 bounces and removes', async (t) => {
  const s = autoturnSite();
  const bodies = ['Subject: one\nMessage-ID: <a1@leaf>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nFrom: alice@leaf.example.org\n\n.dotted\n..twice\ncaf\xe9\n', 'Subject: later\n\nkeep me\n', 'Subject: refused\n\nno\n'];
  const rcpts = ['joe@site.example', 'tempfail@site.example', 'reject@site.example'];
  for (const [i, b] of bodies.entries()) {
    const r = await run(s, ['sendmail', '-oi', '-f', 'alice', rcpts[i]], Buffer.from(b, 'latin1'));
    t.is(r.code, 0, r.stderr);
  }
  // Oldest first: give them distinct mtimes in delivery order.
  const now = Date.now() / 1000;
  for (const f of files(s.maildir)) {
    const rc = /Delivered-To: autoturn-site-(\w+)/.exec(readFileSync(f, 'latin1'))![1];
    const age = { joe: 30, tempfail: 20, reject: 10 }[rc]!;
    utimesSync(f, now - age, now - age);
  }
  const r = await run(s, ['maildir2smtp', s.maildir, 'autoturn-site-', `127.0.0.1:${daemon!.port}`, 'leaf.example.org']);
  t.is(r.code, 75, r.stderr); // one message stays
  const lines = r.stdout.trim().split('\n');
  t.is(lines.length, 3);
  t.regex(lines[0], /^new\/\S+: 127\.0\.0\.1 to: joe@site\.example said: 250 /);
  t.regex(lines[1], /^new\/\S+: 127\.0\.0\.1 to: tempfail@site\.example said: 451 .*temporarily refused/);
  t.regex(lines[2], /^new\/\S+: 127\.0\.0\.1 to: reject@site\.example said: 550 .*refused for a test/);

  const left = files(s.maildir);
  t.is(left.length, 1, 'only the 451 message is left');
  t.regex(readFileSync(left[0], 'latin1'), /Delivered-To: autoturn-site-tempfail@site\.example/);

  const [got] = await waitFor(() => (eximMail(ex).some((m) => m.includes('Message-ID: <a1@leaf>')) ? eximMail(ex).filter((m) => m.includes('Message-ID: <a1@leaf>')) : undefined));
  t.regex(got, /^Return-path: <alice@leaf\.example\.org>\nEnvelope-to: joe@site\.example\n/);
  t.true(got.endsWith('\n\n.dotted\n..twice\ncaf\xe9\n'), 'identical body (dots unstuffed by Exim, 8-bit intact)');
  t.false(got.includes('Delivered-To: autoturn-'), 'the two maildir lines are not sent');

  const bounce = await waitFor(() => readdirSync(path.join(s.spool, 'mail/alice/new')).map((n) => readFileSync(path.join(s.spool, 'mail/alice/new', n), 'latin1')).find((m) => m.includes('Final-Recipient')));
  t.regex(bounce, /Final-Recipient: rfc822; reject@site\.example\nAction: failed\nStatus: 5\.0\.0\nDiagnostic-Code: X-uugate; 550 .*refused for a test/);
  t.regex(bounce, /Subject: refused/);

  // A second flush tries only the one that stayed.
  const again = await run(s, ['maildir2smtp', s.maildir, 'autoturn-site-', `127.0.0.1:${daemon!.port}`, 'leaf.example.org']);
  t.is(again.code, 75);
  t.is(again.stdout.trim().split('\n').length, 1);
});

test.serial('serialmail\'s name and argument order through a link named maildirsmtp; other prefixes are left alone', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uugate-md-'));
  const maildir = path.join(dir, 'md');
  await deliverToMaildir(maildir, [Buffer.from('Return-Path: <zed@far.example>\nDelivered-To: pre-bob@site.example\nSubject: link\n\nvia link\n')]);
  await deliverToMaildir(maildir, [Buffer.from('Return-Path: <zed@far.example>\nDelivered-To: other-bob@site.example\nSubject: not ours\n\nx\n')]);
  const bin = mkdtempSync(path.join(os.tmpdir(), 'uugate-links-'));
  symlinkSync(UUGATE, path.join(bin, 'maildirsmtp'));
  const site = makeSite();
  const r = spawnSync(path.join(bin, 'maildirsmtp'), [maildir, 'pre-', `127.0.0.1:${daemon!.port}`, 'helo.example'], { env: site.env, encoding: 'latin1' });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /to: bob@site\.example said: 250 /);
  t.is(files(maildir).length, 1, 'the other prefix stays');
  const got = await waitFor(() => eximMail(ex).find((m) => m.includes('Subject: link')));
  t.regex(got, /Envelope-to: bob@site\.example/);
  t.regex(got, /helo=helo\.example/);
  t.true(got.endsWith('\n\nvia link\n'));
});

test.serial('a concurrent flush is refused by the lock (exit 75); a stale lock is taken over', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uugate-md-'));
  const maildir = path.join(dir, 'md');
  await deliverToMaildir(maildir, [Buffer.from('Return-Path: <zed@far.example>\nDelivered-To: pre-bob@site.example\nSubject: locked\n\nx\n')]);
  const site = makeSite();
  writeFileSync(path.join(maildir, LOCK_NAME), `${process.pid}\n`); // a live process holds it
  const busy = await run(site, ['maildir2smtp', maildir, 'pre-', `127.0.0.1:${daemon!.port}`, 'leaf']);
  t.is(busy.code, 75);
  t.regex(busy.stderr, new RegExp(`being flushed by process ${process.pid}`));
  t.is(files(maildir).length, 1);
  writeFileSync(path.join(maildir, LOCK_NAME), '999999\n'); // no such process: stale
  const ok = await run(site, ['maildir2smtp', maildir, 'pre-', `127.0.0.1:${daemon!.port}`, 'leaf']);
  t.is(ok.code, 0, ok.stderr);
  t.is(files(maildir).length, 0);
  t.false(existsSync(path.join(maildir, LOCK_NAME)), 'lock released');
});

test.serial('no server: every message stays, exit 75', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uugate-md-'));
  const maildir = path.join(dir, 'md');
  await deliverToMaildir(maildir, [Buffer.from('Return-Path: <zed@far.example>\nDelivered-To: pre-bob@site.example\n\nx\n')]);
  const r = await run(makeSite(), ['maildir2smtp', maildir, 'pre-', `127.0.0.1:${await freePort()}`, 'leaf']);
  t.is(r.code, 75);
  t.regex(r.stdout, /cannot talk to 127\.0\.0\.1:\d+: connect ECONNREFUSED/);
  t.is(files(maildir).length, 1);
});

test.serial('a server that refuses at the greeting: its reply is the connect error, every message stays (exit 75)', async (t) => {
  const maildir = path.join(mkdtempSync(path.join(os.tmpdir(), 'uugate-md-')), 'md');
  await deliverToMaildir(maildir, [Buffer.from('Return-Path: <zed@far.example>\nDelivered-To: pre-bob@site.example\n\nx\n')]);
  const server = net.createServer((sock) => sock.end('421 4.3.2 busy, try later\r\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const seen: string[] = [];
  const r = await flushMaildir({ maildir, prefix: 'pre-', host: '127.0.0.1', port, helo: 'leaf', report: (l) => seen.push(l), bounce: async () => t.fail('nothing is bounced') });
  t.is(r.connectError, 'greeting: 421 4.3.2 busy, try later');
  t.deepEqual(seen, [`cannot talk to 127.0.0.1:${port}: greeting: 421 4.3.2 busy, try later`]);
  t.is(r.deferred.length, 1);
  t.is(flushExitCode(r), 75);
  t.is(files(maildir).length, 1);
});

/**
 * A scripted SMTP server: accepts every message, but drops the connection at the
 * MAIL of message `perSession` + 1 of a session. Counts sessions and messages.
 */
async function droppingServer(perSession: number): Promise<{ port: number; sessions: () => number; received: string[]; close: () => void }> {
  const received: string[] = [];
  let sessions = 0;
  const server = net.createServer((sock) => {
    sessions++;
    let inSession = 0;
    let data: string | undefined;
    let buf = '';
    sock.write('220 test ESMTP\r\n');
    sock.on('data', (chunk) => {
      buf += chunk.toString('latin1');
      for (let nl = buf.indexOf('\r\n'); nl >= 0; nl = buf.indexOf('\r\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (data !== undefined) {
          if (line !== '.') data += `${line}\n`;
          else {
            received.push(data);
            data = undefined;
            inSession++;
            sock.write('250 ok\r\n');
          }
        } else if (line.startsWith('MAIL') && inSession === perSession) return void sock.destroy();
        else if (line === 'DATA') {
          data = '';
          sock.write('354 go\r\n');
        } else sock.write(line === 'QUIT' ? '221 bye\r\n' : '250 ok\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, sessions: () => sessions, received, close: () => server.close() };
}

/** A maildir of `messages` for pre-bob flushed to droppingServer(perSession). */
async function flushToDroppingServer(messages: number, perSession: number) {
  const maildir = path.join(mkdtempSync(path.join(os.tmpdir(), 'uugate-md-')), 'md');
  for (let i = 0; i < messages; i++) await deliverToMaildir(maildir, [Buffer.from(`Return-Path: <zed@far.example>\nDelivered-To: pre-bob@site.example\n\nmessage ${i}\n`)]);
  const srv = await droppingServer(perSession);
  const r = await run(makeSite(), ['maildir2smtp', maildir, 'pre-', `127.0.0.1:${srv.port}`, 'leaf']);
  return { maildir, srv, r };
}

test.serial('a session that breaks mid-flush is opened again while it makes progress (maildirserial): all sent, exit 0', async (t) => {
  const { maildir, srv, r } = await flushToDroppingServer(5, 2);
  try {
    t.is(r.code, 0, r.stdout + r.stderr);
    t.is(srv.sessions(), 3);
    t.is((r.stdout.match(/connection lost/g) ?? []).length, 2);
    t.deepEqual(srv.received.map((m) => m.trim().split('\n').at(-1)).sort(), [0, 1, 2, 3, 4].map((i) => `message ${i}`));
    t.deepEqual(files(maildir), []);
  } finally {
    srv.close();
  }
});

test.serial('a session that breaks before deciding anything is not retried: everything stays, exit 75', async (t) => {
  const { maildir, srv, r } = await flushToDroppingServer(3, 0);
  try {
    t.is(r.code, 75, r.stdout + r.stderr);
    t.is(srv.sessions(), 1);
    t.is(files(maildir).length, 3);
  } finally {
    srv.close();
  }
});

test.serial('maildir2bsmtp: the maildir as a BSMTP batch that uugate rsmtp reads back', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uugate-md-'));
  const maildir = path.join(dir, 'md');
  await deliverToMaildir(maildir, [Buffer.from('Return-Path: <zed@far.example>\nDelivered-To: pre-bob\nSubject: b\n\n.dot\n')]);
  const site = makeSite();
  const r = await run(site, ['maildir2bsmtp', maildir, 'pre-', '--helo', 'leaf']);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'HELO leaf\nMAIL FROM:<zed@far.example>\nRCPT TO:<bob>\nDATA\nSubject: b\n\n..dot\n.\nQUIT\n');
  t.is(files(maildir).length, 0);
  const back = await run(site, ['rsmtp'], r.stdout);
  t.is(back.code, 0, back.stderr);
});
