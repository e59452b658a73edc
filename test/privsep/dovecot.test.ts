// The shipped Dovecot configuration (config/dovecot/uugate.conf.example) with
// Debian's real Dovecot: a message uugate delivers to a virtual mailbox is read
// over IMAP and POP3 by Python's imaplib and poplib byte for byte, and a message
// Dovecot has moved to cur/ with flags is left alone by later deliveries.
import test from 'ava';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { freePort, makeSite, waitFor, ROOT } from '../helpers/site.js';
import { addAccount, isRoot, removeAccount, runReadable, type TestAccount } from '../helpers/accounts.js';

const dovecot = spawnSync('sh', ['-c', 'command -v dovecot || ls /usr/sbin/dovecot'], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
const why = !isRoot() ? 'needs root' : !dovecot ? 'dovecot is not installed (test/install-peers.sh installs it)' : '';
if (why) console.log(`test/privsep/dovecot: skipped, ${why}`);

// Fetches message 1 (IMAP: every message, in order; POP3: RETR) and prints each as base64, one a line.
const CLIENT = `
import base64, imaplib, poplib, sys
kind, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
if kind == 'imap':
    m = imaplib.IMAP4('127.0.0.1', port)
    m.login(user, pw)
    m.select('INBOX')
    typ, data = m.search(None, 'ALL')
    for n in data[0].split():
        typ, d = m.fetch(n, '(RFC822)')
        print(base64.b64encode(d[0][1]).decode())
    m.logout()
else:
    p = poplib.POP3('127.0.0.1', port)
    p.user(user)
    p.pass_(pw)
    for i in range(1, len(p.list()[1]) + 1):
        print(base64.b64encode(b'\\r\\n'.join(p.retr(i)[1]) + b'\\r\\n').decode())
    p.quit()
`;

function fetch(kind: 'imap' | 'pop3', port: number, log: string): Buffer[] {
  const r = spawnSync('python3', ['-c', CLIENT, kind, String(port), 'alice', 'secret'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`${kind} client: ${r.stderr.split('\n').slice(-2).join(' ')}\ndovecot's log:\n${readFileSync(log, 'utf8')}`);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => Buffer.from(l, 'base64'));
}

/** On the wire, IMAP and POP3 lines end in CRLF; the maildir holds LF. */
const wire = (b: Buffer): Buffer => Buffer.from(b.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');

(why ? test.skip : test)('Dovecot serves uugate\'s maildir over IMAP and POP3 with the shipped configuration', async (t) => {
  const gw: TestAccount = addAccount('uudv', { system: true });
  t.teardown(() => removeAccount(gw));
  const site = makeSite({ conf: { gateway_user: gw.name }, users: 'alice mail/alice/\n' });
  chmodSync(site.dir, 0o755); // the gateway user passes through to its spool
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'uugate-dovecot-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const dlog = path.join(tmp, 'dovecot.log');
  const [imapPort, popPort] = [await freePort(), await freePort()];

  // The example, with this site's spool, account and files; then what a test instance needs.
  const example = readFileSync(path.join(ROOT, 'config/dovecot/uugate.conf.example'), 'utf8');
  const conf = example
    .replaceAll('/var/spool/uugate', site.spool)
    .replaceAll('/etc/uugate/dovecot.users', path.join(tmp, 'users'))
    .replace('uid=uucp gid=uucp', `uid=${gw.uid} gid=${gw.gid}`)
    .replace(/^first_valid_uid = .*$/m, `first_valid_uid = ${gw.uid}`)
    .replace(/^last_valid_uid = .*$/m, `last_valid_uid = ${gw.uid}`)
    .replace(/^ssl = required$/m, 'ssl = no')
    .replace(/^ssl_(cert|key) = .*$/gm, '')
    .replace(/^disable_plaintext_auth = yes$/m, 'disable_plaintext_auth = no')
    .replace(/^listen = .*$/m, 'listen = 127.0.0.1')
    .replace(/^log_path = .*$/m, `log_path = ${dlog}`);
  const file = path.join(tmp, 'dovecot.conf');
  writeFileSync(
    file,
    `${conf}
base_dir = ${path.join(tmp, 'run')}
state_dir = ${path.join(tmp, 'state')}
service imap-login {
  inet_listener imap {
    port = ${imapPort}
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = ${popPort}
  }
  inet_listener pop3s {
    port = 0
  }
}
`,
  );
  // As the example says: root's, readable by Dovecot's auth process (the dovecot user).
  chmodSync(tmp, 0o755);
  writeFileSync(path.join(tmp, 'users'), 'alice:{PLAIN}secret::::::\n', { mode: 0o640 });
  t.is(spawnSync('chgrp', ['dovecot', path.join(tmp, 'users')]).status, 0);

  // uugate delivers first (the spool and maildir are made by the gateway user).
  const body = 'Subject: read me\n\nfirst line\n.\n..leading dots\nlast line\n';
  t.is((await runReadable(gw, site, ['sendmail', '-i', 'alice'], body)).code, 0);
  const maildir = path.join(site.spool, 'mail/alice');
  const [delivered] = readdirSync(path.join(maildir, 'new'));
  const stored = readFileSync(path.join(maildir, 'new', delivered));

  const check = spawnSync(dovecot, ['-c', file, '-n'], { encoding: 'utf8' });
  t.is(check.status, 0, check.stderr);
  const server = spawn(dovecot, ['-c', file, '-F'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  server.stderr.on('data', (d) => (out += d));
  // (teardowns run last first: Dovecot is gone before its directory is removed)
  t.teardown(async () => {
    if (server.exitCode !== null) return;
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
  });
  t.true(await waitFor(() => spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${imapPort}`], { stdio: 'ignore' }).status === 0 || server.exitCode !== null), out);

  // Byte for byte over both protocols.
  const [byImap] = fetch('imap', imapPort, dlog);
  t.deepEqual(byImap, wire(stored));
  const [byPop] = fetch('pop3', popPort, dlog);
  t.deepEqual(byPop, wire(stored));

  // The IMAP fetch set \Seen: Dovecot moved the message to cur/ with flags.
  t.true(await waitFor(() => readdirSync(path.join(maildir, 'cur')).length === 1));
  const [seen] = readdirSync(path.join(maildir, 'cur'));
  t.regex(seen, /:2,S$/);
  const before = statSync(path.join(maildir, 'cur', seen));
  t.is(before.uid, gw.uid, 'Dovecot worked as the gateway user');

  // Another delivery leaves Dovecot's file alone and both messages are served.
  t.is((await runReadable(gw, site, ['sendmail', 'alice'], 'Subject: second\n\nx\n')).code, 0);
  t.deepEqual(readdirSync(path.join(maildir, 'cur')), [seen]);
  const after = statSync(path.join(maildir, 'cur', seen));
  t.deepEqual([after.ino, after.mtimeMs, after.size], [before.ino, before.mtimeMs, before.size]);
  t.deepEqual(readFileSync(path.join(maildir, 'cur', seen)), stored);
  const both = fetch('imap', imapPort, dlog);
  t.is(both.length, 2);
  t.regex(both[1].toString('latin1'), /Subject: second/);
});
