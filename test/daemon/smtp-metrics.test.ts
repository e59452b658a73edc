// TLS and AUTH in the operator's view: a daemon with submission_listen takes
// one message over STARTTLS + AUTH PLAIN (swaks), refuses a wrong password
// and sees one plain SMTP connection; /metrics then counts the connections by
// listener and TLS and the logins by result (and still passes promtool), and
// the status page has the one-line summary.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, makeSite, maildirMessages } from '../helpers/site.js';
import { doveadmHash, passwdFile, selfSignedCert } from '../helpers/tls-peers.js';
import { fetchText, sample, startOpsDaemon, until } from '../helpers/ops-site.js';
import { swaks } from '../smtp/server-helpers.js';

test('a STARTTLS + AUTH submission, a failed login and a plain SMTP connection are counted in /metrics and on the status page', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uugate-tlsmetrics-'));
  const { cert, key } = selfSignedCert(dir);
  const pw = passwdFile(dir, { alice: doveadmHash('BLF-CRYPT', 'wonderland') });
  const [statusPort, smtpPort, subPort] = [await freePort(), await freePort(), await freePort()];
  const site = makeSite({
    conf: {
      status_listen: `127.0.0.1:${statusPort}`,
      smtp_listen: `127.0.0.1:${smtpPort}`,
      submission_listen: `127.0.0.1:${subPort}`,
      smtp_greeting_delay: '0',
      tls_certificate: cert,
      tls_key: key,
      auth_passwd_file: pw,
      auth_failure_delay: '0',
    },
  });
  const daemon = await startOpsDaemon(site);
  t.teardown(() => daemon.stop());
  const auth = (pass: string): string[] => ['--tls', '--auth', 'PLAIN', '--auth-user', 'alice', '--auth-password', pass, '--from', 'alice@leaf.example.org', '--to', 'bob@leaf.example.org'];
  const sent = await swaks(subPort, [...auth('wonderland'), '--body', 'over TLS\n']);
  t.is(sent.code, 0, sent.out);
  t.not((await swaks(subPort, auth('guess'))).code, 0);
  t.is((await swaks(smtpPort, ['--from', 'dave@lan.example.org', '--to', 'bob@leaf.example.org', '--body', 'in clear\n'])).code, 0);
  await until('both messages delivered', async () => maildirMessages(path.join(site.spool, 'mail/bob')).length === 2);

  const base = `http://127.0.0.1:${statusPort}/`;
  const expected: Array<[string, Record<string, string>, number]> = [
    ['uugate_smtp_connections_total', { listener: 'submission', tls: 'yes' }, 2],
    ['uugate_smtp_connections_total', { listener: 'smtp', tls: 'no' }, 1],
    ['uugate_smtp_auth_total', { listener: 'submission', result: 'ok' }, 1],
    ['uugate_smtp_auth_total', { listener: 'submission', result: 'fail' }, 1],
    ['uugate_messages_received_total', { entry: 'smtp' }, 2],
  ];
  let text = '';
  await until('the counts in /metrics', async () => {
    text = await fetchText(`${base}metrics`);
    return expected.every(([name, labels, n]) => sample(text, name, labels) === n) ? text : undefined;
  }).catch(() => undefined);
  for (const [name, labels, n] of expected) t.is(sample(text, name, labels), n, `${name} ${JSON.stringify(labels)}`);
  t.is(sample(text, 'uugate_smtp_connections_total', { listener: 'submission', tls: 'no' }), undefined, 'swaks --tls always started TLS');
  t.notRegex(text, /alice|dave/, 'no user names or addresses in labels');
  const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  t.is(check.status, 0, check.stdout + check.stderr);
  t.regex(await fetchText(base), /SMTP connections: (1 on smtp \(0 with TLS\), 2 on submission \(2 with TLS\)|2 on submission \(2 with TLS\), 1 on smtp \(0 with TLS\)); AUTH: 1 succeeded, 1 failed\./);
});
