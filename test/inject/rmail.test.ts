import test from 'ava';
import path from 'node:path';
import { makeSite, run, maildirMessages, normalise } from '../helpers/site.js';

const body = 'Subject: hello\nTo: bob@leaf.example.org\n\nline one\nFrom here on\n';

test('rmail with no From_ line takes the sender from UU_MACHINE/UU_USER and delivers byte for byte', async (t) => {
  const site = makeSite();
  const r = await run(site, ['rmail', 'bob'], body, { UU_MACHINE: 'hub', UU_USER: 'uucp' });
  t.is(r.code, 0, r.stderr);
  const [msg] = maildirMessages(path.join(site.spool, 'mail/bob'));
  t.is(
    normalise(msg),
    'Return-Path: <hub!uucp>\nDelivered-To: bob@leaf.example.org\n' +
      'Received: from hub\n\tby leaf with UUCP (uugate rmail)\n\tid ID\n\tfor <bob>; DATE\n' +
      body,
  );
});

test('rmail with one From_ line: "remote from" host is prefixed to the sender', async (t) => {
  const site = makeSite();
  const r = await run(site, ['rmail', 'leaf!bob'], `From uucp!alice Fri Nov 27 10:00:00 2026 remote from hub\n${body}`);
  t.is(r.code, 0, r.stderr);
  const [msg] = maildirMessages(path.join(site.spool, 'mail/bob'));
  t.true(msg.startsWith('Return-Path: <hub!uucp!alice>\n'), msg);
  t.false(msg.includes('remote from'), 'the From_ line is removed');
  t.true(msg.endsWith(body));
});

test('rmail with stacked >From lines builds the whole path', async (t) => {
  const site = makeSite();
  const from =
    'From alice Fri Nov 27 09:00:00 2026 remote from dusk\n' +
    '>From dusk!alice Fri Nov 27 09:30:00 2026 remote from mid\n' +
    '>From bert!ernie!alice Fri Nov 27 09:45:00 2026\n';
  const r = await run(site, ['rmail', 'bob@leaf.example.org'], from + body);
  t.is(r.code, 0, r.stderr);
  const [msg] = maildirMessages(path.join(site.spool, 'mail/bob'));
  t.true(msg.startsWith('Return-Path: <dusk!mid!bert!ernie!alice>\n'), msg.split('\n')[0]);
});

test('rmail accepts local, domain and bang recipients in one call', async (t) => {
  const site = makeSite();
  const r = await run(site, ['rmail', 'alice', 'bob@leaf', 'leaf!Carol'], `From x Fri Nov 27 10:00:00 2026 remote from hub\n${body}`);
  t.is(r.code, 0, r.stderr);
  t.is(maildirMessages(path.join(site.spool, 'mail/alice')).length, 1);
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 1);
});

test('rmail with one recipient 10,000 times queues it once and delivers one copy', async (t) => {
  const site = makeSite();
  const r = await run(site, ['rmail', ...Array<string>(10_000).fill('bob')], `From x Fri Nov 27 10:00:00 2026 remote from hub\n${body}`);
  t.is(r.code, 0, r.stderr);
  const got = maildirMessages(path.join(site.spool, 'mail/bob'));
  t.is(got.length, 1);
  // Received: names the recipient only when the envelope holds exactly one.
  t.regex(got[0], /\n\tfor <bob>; /);
});

test('rmail: a corrupted From_ line is refused with exit 65 and nothing is queued', async (t) => {
  const site = makeSite();
  for (const bad of ['From \n', 'From !alice Fri Nov 27 10:00:00 2026\n', 'From hub! Fri Nov 27 10:00:00 2026\n']) {
    const r = await run(site, ['rmail', 'bob'], bad + body);
    t.is(r.code, 65, bad);
    t.regex(r.stderr, /From_ line 1/);
  }
  const q = await run(site, ['mailq']);
  t.regex(q.stdout, /Mail queue is empty/);
});

test('rmail refuses recipients that look like options (exit 64)', async (t) => {
  const site = makeSite();
  const r = await run(site, ['rmail', '--', '-oQ/tmp'], body);
  t.is(r.code, 64);
  t.regex(r.stderr, /starts with '-'/);
});

test('bin/uugate invoked through a link named rmail behaves as rmail (argv[0] dispatch)', async (t) => {
  const { symlinkSync, mkdtempSync } = await import('node:fs');
  const { spawnSync } = await import('node:child_process');
  const { UUGATE } = await import('../helpers/site.js');
  const os = await import('node:os');
  const site = makeSite();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uugate-links-'));
  for (const name of ['rmail', 'mailq']) symlinkSync(UUGATE, path.join(dir, name));
  const r = spawnSync(path.join(dir, 'rmail'), ['bob'], { input: body, env: site.env, encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 1);
  const q = spawnSync(path.join(dir, 'mailq'), [], { env: site.env, encoding: 'utf8' });
  t.regex(q.stdout, /Mail queue is empty/);
});
