// The submission port (submission_listen) with real mail programs: swaks,
// Python's smtplib and openssl s_client over STARTTLS, passwords from a
// passwd-file of Dovecot-made hashes or from a running Dovecot's auth socket.
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { flags, maildirMessages, waitFor } from '../helpers/site.js';
import { loadGateway } from '../../src/runtime/gateway.js';
import { doveadmHash, passwdFile, selfSignedCert } from '../helpers/tls-peers.js';
import { queuedFiles, rawSession, replies, serve, swaks, type ServedSite } from './server-helpers.js';

/** A site with the submission port on a free loopback port, a certificate and two users (alice: SHA512-CRYPT, bob: BLF-CRYPT). */
async function submissionSite(conf: Record<string, string> = {}, files: Record<string, string> = {}): Promise<ServedSite & { sub: number }> {
  const s = await serve({ conf: { relay_networks: '127.0.0.1/32', delivery_mode: 'queued', auth_failure_delay: '0', ...conf }, files: { hosts: 'far.example.com 127.0.0.1:9\n', ...files }, server: { submissionListen: [{ host: '127.0.0.1', port: 0 }] }})
  return { ...s, sub: s.srv.submissionAddresses[0].port };
}

/** Writes certificate, key and passwd-file into a new site's directory, then serves it. */
async function withCredentials(conf: Record<string, string> = {}, files: Record<string, string> = {}): Promise<ServedSite & { sub: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uugate-sub-'));
  const { cert, key } = selfSignedCert(dir);
  const pw = passwdFile(dir, { alice: doveadmHash('SHA512-CRYPT', 'wonderland'), bob: doveadmHash('BLF-CRYPT', 'builder') });
  return submissionSite({ tls_certificate: cert, tls_key: key, auth_passwd_file: pw, ...conf }, files);
}

const auth = (user: string, pass: string, mech = 'PLAIN'): string[] => ['--auth', mech, '--auth-user', user, '--auth-password', pass];

test('swaks --tls --auth PLAIN: relays for alice from her own address; Received: says ESMTPSA, the TLS version and cipher and the user', async (t) => {
  const s = await withCredentials();
  t.teardown(() => s.close());
  const r = await swaks(s.sub, ['--tls', ...auth('alice', 'wonderland'), '--from', 'alice@leaf.example.org', '--to', 'someone@far.example.com', '--body', 'hello over TLS\n']);
  t.is(r.code, 0, r.out);
  t.regex(r.out, /<- {2}220 2\.0\.0 Ready to start TLS/);
  t.regex(r.out, /TLS started with cipher TLSv1\.[23]/);
  t.regex(r.out, /<~ {2}235 2\.7\.0 Authentication successful/);
  t.regex(r.out, /<~ {2}250 2\.6\.0 queued as/);
  const [file] = queuedFiles(s.site);
  const queued = readFileSync(path.join(s.site.spool, file), 'latin1');
  t.regex(queued, /Received: from [^\n]+ \(\[127\.0\.0\.1\]\)\n\t\(using TLSv1\.[23] with cipher \S+ \(\d+\/\d+ bits\)\)\n\t\(authenticated as alice\)\n\tby leaf with ESMTPSA \(uugate smtp\)/);
  t.regex(readFileSync(path.join(s.site.spool, 'log/logfile'), 'latin1'), /\[127\.0\.0\.1\] authenticated as alice \(TLSv1\.[23] with cipher/);
});

test('swaks --tls --auth LOGIN with a BLF-CRYPT password; a wrong password gets 535 5.7.8, and auth_max_failures of them close the connection', async (t) => {
  const s = await withCredentials({ auth_max_failures: '2' });
  t.teardown(() => s.close());
  const ok = await swaks(s.sub, ['--tls', ...auth('bob', 'builder', 'LOGIN'), '--from', 'bob@leaf.example.org', '--to', 'alice@leaf.example.org', '--body', 'x\n']);
  t.is(ok.code, 0, ok.out);
  t.regex(ok.out, /<~ {2}334 VXNlcm5hbWU6/);
  const bad = await swaks(s.sub, ['--tls', ...auth('bob', 'wrong', 'LOGIN'), '--from', 'bob@leaf.example.org', '--to', 'alice@leaf.example.org']);
  t.not(bad.code, 0);
  t.regex(bad.out, /<~\* 535 5\.7\.8 Authentication credentials invalid/);
  // The second failure from this address reaches the limit: the reply, then 421 and the end.
  const bad2 = await swaks(s.sub, ['--tls', ...auth('alice', 'guess'), '--from', 'alice@leaf.example.org', '--to', 'bob@leaf.example.org']);
  t.regex(bad2.out, /<~\* 535 5\.7\.8 /);
  t.regex(bad2.out, /421 4\.7\.0 leaf\.example\.org too many failed logins/);
  t.regex(readFileSync(path.join(s.site.spool, 'log/logfile'), 'latin1'), /\[127\.0\.0\.1\] failed login as alice; too many, disconnected/);
});

test('before STARTTLS: no AUTH in the EHLO reply, AUTH gets 530 5.7.0 and MAIL 530 (swaks too refuses to send the password)', async (t) => {
  const s = await withCredentials();
  t.teardown(() => s.close());
  const out = await rawSession(s.sub, ['EHLO c.lan\r\n', `AUTH PLAIN ${Buffer.from('\0alice\0wonderland').toString('base64')}\r\n`, 'MAIL FROM:<alice@leaf.example.org>\r\n', 'QUIT\r\n'], { stepwise: true, until: /^221 /m });
  const lines = replies(out);
  t.true(lines.includes('250-STARTTLS'), out);
  t.false(lines.some((l) => /AUTH/.test(l) && l.startsWith('250')), out);
  t.true(lines.includes('530 5.7.0 Must issue a STARTTLS command first'), out);
  t.true(lines.includes('530 5.7.0 Authentication required'), out);
  const r = await swaks(s.sub, [...auth('alice', 'wonderland'), '--from', 'alice@leaf.example.org', '--to', 'bob@leaf.example.org']);
  t.not(r.code, 0);
  t.regex(r.out, /Host did not advertise authentication/);
  t.is(queuedFiles(s.site).length, 0);
});

test('commands pipelined behind STARTTLS in clear are dropped, not run under TLS', async (t) => {
  const s = await withCredentials();
  t.teardown(() => s.close());
  const out = await rawSession(s.sub, ['EHLO c.lan\r\n', 'STARTTLS\r\nMAIL FROM:<alice@leaf.example.org>\r\n'], { stepwise: true, timeoutMs: 1500 });
  t.regex(out, /220 2\.0\.0 Ready to start TLS\r\n$/, 'nothing answers the MAIL sent in clear');
});

test("Python's smtplib: starttls(), login(), sendmail() delivers to a local maildir", async (t) => {
  const s = await withCredentials({ delivery_mode: 'foreground' });
  t.teardown(() => s.close());
  const script = [
    'import smtplib, ssl, sys',
    `c = smtplib.SMTP("127.0.0.1", ${s.sub}, local_hostname="laptop.lan")`,
    'c.starttls(context=ssl._create_unverified_context())',
    'c.login("alice", "wonderland")',
    'c.sendmail("alice@leaf.example.org", ["bob@leaf.example.org"], b"From: alice@leaf.example.org\\r\\nSubject: from python\\r\\n\\r\\nhi bob\\r\\n")',
    'c.quit()',
  ].join('\n');
  const r = await new Promise<{ code: number; out: string }>((resolve) => execFile('python3', ['-c', script], (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: stdout + stderr })));
  t.is(r.code, 0, r.out);
  const dir = path.join(s.site.spool, 'mail/bob');
  t.true(await waitFor(() => maildirMessages(dir).length === 1));
  t.regex(maildirMessages(dir)[0], /by leaf with ESMTPSA \(uugate smtp\)[\s\S]*Subject: from python\n\nhi bob\n$/);
});

test('openssl s_client -starttls smtp: the handshake succeeds and the new EHLO offers AUTH PLAIN LOGIN, not STARTTLS', async (t) => {
  const s = await withCredentials();
  t.teardown(() => s.close());
  const out = await new Promise<string>((resolve) => {
    const child = spawn('openssl', ['s_client', '-starttls', 'smtp', '-connect', `127.0.0.1:${s.sub}`, '-crlf', '-ign_eof'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.on('close', () => resolve(text));
    child.stdin.end('EHLO again.lan\nQUIT\n');
  });
  t.regex(out, /New, TLSv1\.[23], Cipher is \S+/, out);
  t.regex(out, /250-AUTH PLAIN LOGIN/);
  t.notRegex(out.slice(out.indexOf('250-AUTH')), /STARTTLS/);
  t.regex(out, /221 2\.0\.0 /);
});

test('relaying from 127.0.0.2 (outside relay_networks): port 25 says 550 5.7.1, the submission port only after AUTH', async (t) => {
  const s = await withCredentials();
  t.teardown(() => s.close());
  const args = ['--local-interface', '127.0.0.2', '--from', 'alice@leaf.example.org', '--to', 'someone@far.example.com'];
  const plain = await swaks(s.port, args);
  t.regex(plain.out, /<\*\* 550 5\.7\.1 <someone@far\.example\.com>: relaying denied/);
  const noAuth = await swaks(s.sub, ['--tls', ...args]);
  t.regex(noAuth.out, /<~\* 530 5\.7\.0 Authentication required/);
  t.is(queuedFiles(s.site).length, 0);
  const authed = await swaks(s.sub, ['--tls', ...auth('alice', 'wonderland'), ...args]);
  t.is(authed.code, 0, authed.out);
  t.is(queuedFiles(s.site).length, 1);
});

test("a sender that is not the user's is refused 553 5.7.1; config/senders grants more", async (t) => {
  const s = await withCredentials({}, { senders: 'alice alice.liddell@example.net @wonder.example\n' });
  t.teardown(() => s.close());
  const send = (from: string) => swaks(s.sub, ['--tls', ...auth('alice', 'wonderland'), '--from', from, '--to', 'bob@leaf.example.org']);
  const bobs = await send('bob@leaf.example.org');
  t.regex(bobs.out, /<~\* 553 5\.7\.1 <bob@leaf\.example\.org>: sender address not owned by user alice/);
  for (const from of ['alice.liddell@example.net', 'queen@wonder.example', 'ALICE@leaf']) t.is((await send(from)).code, 0, from);
  t.is(queuedFiles(s.site).length, 3);
});

test('port 25 offers STARTTLS when a certificate is set, and no AUTH unless smtp_auth is on', async (t) => {
  const s = await withCredentials();
  t.teardown(() => s.close());
  const r = await swaks(s.port, ['--tls', '--quit-after', 'EHLO']);
  t.is(r.code, 0, r.out);
  t.regex(r.out, /TLS started/);
  t.notRegex(r.out, /250-AUTH/);
  const on = await withCredentials({ smtp_auth: 'on' });
  t.teardown(() => on.close());
  const r2 = await swaks(on.port, ['--tls', ...auth('alice', 'wonderland'), '--from', 'alice@leaf.example.org', '--to', 'someone@far.example.com', '--local-interface', '127.0.0.2']);
  t.is(r2.code, 0, r2.out);
});

test('submission_listen without a password source is refused at start', async (t) => {
  const err = await t.throwsAsync(submissionSite());
  t.regex(err!.message, /submission_listen needs auth_dovecot or auth_passwd_file/);
});

/** Starts Dovecot with only its auth service, a passwd-file passdb and an auth socket in `dir`. */
async function startDovecot(dir: string, passwd: string): Promise<{ socket: string; stop(): Promise<void> }> {
  const socket = path.join(dir, 'auth-client');
  const conf = path.join(dir, 'dovecot.conf');
  writeFileSync(
    conf,
    [
      `base_dir = ${dir}/run`,
      `state_dir = ${dir}/state`,
      `log_path = ${dir}/dovecot.log`,
      'protocols =',
      'ssl = no',
      'auth_mechanisms = plain login',
      'auth_failure_delay = 0',
      'auth_verbose = yes',
      `passdb {\n  driver = passwd-file\n  args = ${passwd}\n}`,
      `userdb {\n  driver = passwd-file\n  args = ${passwd}\n}`,
      `service auth {\n  unix_listener ${socket} {\n    mode = 0666\n  }\n}`,
      '',
    ].join('\n'),
  );
  // The master goes into the background holding whatever output it was given: give it none.
  const code = await new Promise<number | null>((resolve) => spawn('dovecot', ['-c', conf], { stdio: 'ignore' }).on('exit', resolve));
  if (code !== 0) throw new Error(`dovecot -c ${conf} exited ${code}; see ${dir}/dovecot.log`);
  const stop = (): Promise<void> => new Promise((resolve) => execFile('dovecot', ['-c', conf, 'stop'], () => resolve()));
  return { socket, stop };
}

test("auth_dovecot: a real Dovecot's auth socket checks the passwords (right and wrong)", async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uugate-submission-dovecot-'));
  // Dovecot's auth process runs as its own user: it must reach the passwd-file.
  chmodSync(dir, 0o755);
  const pw = passwdFile(dir, { alice: doveadmHash('SHA512-CRYPT', 'wonderland') });
  chmodSync(pw, 0o644);
  const dovecot = await startDovecot(dir, pw);
  t.teardown(() => dovecot.stop());
  t.true(await waitFor(() => existsSync(dovecot.socket)), 'the auth socket appears');
  const { cert, key } = selfSignedCert(dir);
  const s = await submissionSite({ tls_certificate: cert, tls_key: key, auth_dovecot: dovecot.socket });
  t.teardown(() => s.close());
  const ok = await swaks(s.sub, ['--tls', ...auth('alice', 'wonderland'), '--from', 'alice@leaf.example.org', '--to', 'someone@far.example.com', '--local-interface', '127.0.0.2']);
  t.is(ok.code, 0, ok.out);
  t.regex(ok.out, /<~ {2}235 2\.7\.0 /);
  const bad = await swaks(s.sub, ['--tls', ...auth('alice', 'queen'), '--from', 'alice@leaf.example.org', '--to', 'bob@leaf.example.org']);
  t.regex(bad.out, /<~\* 535 5\.7\.8 /);
  t.regex(readFileSync(path.join(dir, 'dovecot.log'), 'utf8'), /passwd-file\(alice,127\.0\.0\.1[^)]*\): (?:Password mismatch|.*mismatch)/i);
});

test('a passwd-file that has gone is a temporary failure (454 4.7.0, paniclog names the file), not a wrong password', async (t) => {
  const s = await withCredentials();
  t.teardown(() => s.close());
  const file = s.gw.cfg.auth_passwd_file;
  rmSync(file);
  const r = await swaks(s.sub, ['--tls', ...auth('alice', 'wonderland'), '--from', 'alice@leaf.example.org', '--to', 'bob@leaf.example.org']);
  t.regex(r.out, /<~\* 454 4\.7\.0 temporary authentication failure/);
  t.regex(readFileSync(path.join(s.site.spool, 'log/paniclog'), 'latin1'), new RegExp(`cannot check the password of alice: ${file.replace(/[.]/g, '\\.')}: passwd-file not found`));
});

test('a reload that would leave the submission port without a password source is refused; the old configuration stays', async (t) => {
  const s = await withCredentials();
  t.teardown(() => s.close());
  const conf = path.join(s.site.config, 'uugate.conf');
  writeFileSync(conf, readFileSync(conf, 'utf8').replace(/^auth_passwd_file=.*\n/m, ''));
  const err = await t.throwsAsync(async () => s.srv.reload(await loadGateway(flags(s.site))));
  t.regex(err!.message, /submission_listen needs auth_dovecot or auth_passwd_file/);
  const r = await swaks(s.sub, ['--tls', ...auth('alice', 'wonderland'), '--from', 'alice@leaf.example.org', '--to', 'bob@leaf.example.org']);
  t.is(r.code, 0, r.out);
});
