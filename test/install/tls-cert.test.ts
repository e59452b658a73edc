// uugate install makes a self-signed certificate when uugate.conf names none,
// names it there, and leaves it alone afterwards; uugate check reports a
// configured certificate or key that is missing or the gateway cannot read.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fsp, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/site.js';
import { listTree, removeAccount, removeTempRoots, requireRoot, tempRoot, throwawayName, uugate } from './helpers.js';

const accounts: string[] = [];
test.before(requireRoot);
test.after.always(async () => {
  accounts.forEach(removeAccount);
  await removeTempRoots();
});

async function site(): Promise<{ root: string; user: string; cert: string; key: string; conf: string }> {
  const root = await tempRoot();
  const user = throwawayName();
  accounts.push(user);
  const tls = path.join(root, 'etc/uugate/tls');
  return { root, user, cert: path.join(tls, 'cert.pem'), key: path.join(tls, 'key.pem'), conf: path.join(root, 'etc/uugate/uugate.conf') };
}

const ownerMode = (p: string): [number, number, string] => {
  const st = statSync(p);
  return [st.uid, st.gid, (st.mode & 0o7777).toString(8)];
};

test.serial('install makes a self-signed pair (key 0640 root:gateway group, certificate 0644), names it in uugate.conf and says so; a rerun leaves it alone', async (t) => {
  const s = await site();
  const r = await uugate(['install', '--root', s.root, '--user', s.user]);
  t.is(r.code, 0, r.stderr);
  t.true(r.stdout.includes(`make a self-signed certificate for CN=${os.hostname()}: ${s.cert} (0644 root:root) and its key ${s.key}`), r.stdout);
  const gid = Number(execFileSync('id', ['-g', s.user], { encoding: 'utf8' }));
  t.deepEqual(ownerMode(s.key), [0, gid, '640']);
  t.deepEqual(ownerMode(s.cert), [0, 0, '644']);
  const subject = execFileSync('openssl', ['x509', '-noout', '-subject', '-in', s.cert], { encoding: 'utf8' });
  t.regex(subject, new RegExp(`CN ?= ?${os.hostname().replace(/\./g, '\\.')}`));
  const conf = readFileSync(s.conf, 'utf8');
  t.regex(conf, new RegExp(`\ntls_certificate=${s.cert}\ntls_key=${s.key}\n`));
  t.deepEqual(readdirSync(path.dirname(s.cert)).sort(), ['cert.pem', 'key.pem'], 'no temporary files left');

  const before = listTree(s.root);
  const again = await uugate(['install', '--root', s.root]);
  t.is(again.code, 0, again.stderr);
  t.is(again.stdout, `${s.root}: nothing to do\n`);
  t.deepEqual(listTree(s.root), before);

  // The settings removed (TLS switched off): the files are there, nothing is made or named again.
  await fsp.writeFile(s.conf, conf.replace(/^tls_(certificate|key)=.*\n/gm, ''));
  const off = await uugate(['install', '--root', s.root]);
  t.is(off.stdout, `${s.root}: nothing to do\n`);
  t.notRegex(readFileSync(s.conf, 'utf8'), /^tls_certificate=/m);

  // Named again: check finds nothing wrong with the pair.
  await fsp.appendFile(s.conf, `tls_certificate=${s.cert}\ntls_key=${s.key}\nsmtp_listen=127.0.0.1:${await freePort()}\n`);
  const ok = await uugate(['check', '--root', s.root]);
  t.is(ok.code, 0, ok.stdout + ok.stderr);
});

test.serial('--dry-run shows the certificate action and makes nothing; --no-tls-cert and a configured certificate make none', async (t) => {
  const s = await site();
  const dry = await uugate(['install', '--root', s.root, '--user', s.user, '--dry-run']);
  t.is(dry.code, 0, dry.stderr);
  t.true(dry.stdout.includes(`make a self-signed certificate for CN=${os.hostname()}: ${s.cert}`), dry.stdout);
  t.true(dry.stdout.includes(`set tls_certificate and tls_key in ${s.conf}`));
  t.deepEqual(listTree(s.root), []);

  const none = await uugate(['install', '--root', s.root, '--user', s.user, '--no-tls-cert']);
  t.is(none.code, 0, none.stderr);
  t.notRegex(none.stdout, /self-signed/);
  t.false(existsSync(s.cert));
  t.notRegex(readFileSync(s.conf, 'utf8'), /^tls_/m);

  await fsp.appendFile(s.conf, `tls_certificate=/etc/ssl/certs/mine.pem\ntls_key=/etc/ssl/private/mine.key\n`);
  const configured = await uugate(['install', '--root', s.root]);
  t.is(configured.stdout, `${s.root}: nothing to do\n`);
  t.false(existsSync(s.cert));
});

test.serial('check reports a configured certificate that is missing or writable by others, and a key the gateway user cannot read', async (t) => {
  const s = await site();
  const r = await uugate(['install', '--root', s.root, '--user', s.user]);
  t.is(r.code, 0, r.stderr);
  await fsp.appendFile(s.conf, `smtp_listen=127.0.0.1:${await freePort()}\n`);
  await fsp.rename(s.cert, `${s.cert}.old`);
  const missing = await uugate(['check', '--root', s.root]);
  t.true(missing.stdout.includes(`${s.cert} (tls_certificate) is missing`), missing.stdout);
  await fsp.chmod(s.key, 0o600);
  await fsp.writeFile(s.cert, 'someone else\'s certificate', { mode: 0o666 });
  await fsp.chmod(s.cert, 0o666);
  const c = await uugate(['check', '--root', s.root]);
  t.not(c.code, 0);
  t.true(c.stdout.includes(`${s.cert} (tls_certificate): owner/mode 0/0666 is unsafe: writable by group or others (chmod go-w ${s.cert})`), c.stdout);
  t.true(c.stdout.includes(`${s.key} (tls_key): the gateway user cannot read it: ${s.key} is not readable by ${s.user} (chgrp ${s.user} ${s.key}; chmod g+r ${s.key})`), c.stdout);
});
