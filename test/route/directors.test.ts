// Directors end to end: rmail to aliases that expand to maildirs, mbox files,
// programs, lists (with owner- as the envelope sender) and .forward files.
import test from 'ava';
import path from 'node:path';
import { chmodSync, mkdirSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { makeSite, run, maildirMessages } from '../helpers/site.js';

const FROM = 'From zed Fri Nov 27 10:00:00 2026 remote from hub\nSubject: to the team\n\nhello\n';

test('an alias expands to a maildir user, a file, a program and a list', async (t) => {
  const site = makeSite();
  const capture = path.join(site.dir, 'piped');
  const box = path.join(site.dir, 'archive.mbox');
  writeFileSync(path.join(site.config, 'aliases'), [
    '# team alias, continued on the next line',
    `team: alice, ${box},`,
    `  "|/usr/bin/tee ${capture}", friends`,
    'owner-friends: carol',
  ].join('\n') + '\n');
  mkdirSync(path.join(site.config, 'lists'));
  writeFileSync(path.join(site.config, 'lists', 'friends'), '# the friends list\nbob\nCarol, alice\n');
  const r = await run(site, ['rmail', 'team'], FROM);
  t.is(r.code, 0, r.stderr);
  const alice = maildirMessages(path.join(site.spool, 'mail/alice'));
  t.is(alice.length, 1, 'alice once, although named twice');
  t.regex(alice[0], /^Return-Path: <hub!zed>\nDelivered-To: alice@leaf\.example\.org\n/);
  const bob = maildirMessages(path.join(site.spool, 'mail/bob'));
  t.regex(bob[0], /^Return-Path: <owner-friends>\n/, 'list members get owner-NAME as envelope sender');
  t.true(existsSync(path.join(site.spool, 'mail/carol.mbox')));
  t.regex(readFileSync(box, 'latin1'), /^From hub!zed .*\nReturn-Path: <hub!zed>\nDelivered-To: \/.*archive\.mbox\n/);
  t.regex(readFileSync(capture, 'latin1'), /Subject: to the team\n\nhello\n$/);
});

test('owner- receives the bounce for a failing list member', async (t) => {
  const site = makeSite();
  writeFileSync(path.join(site.config, 'aliases'), 'owner-friends: carol\n');
  mkdirSync(path.join(site.config, 'lists'));
  writeFileSync(path.join(site.config, 'lists', 'friends'), 'bob, ghost\n');
  const r = await run(site, ['rmail', 'friends'], FROM);
  t.is(r.code, 0, r.stderr);
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 1);
  const carol = readFileSync(path.join(site.spool, 'mail/carol.mbox'), 'latin1');
  t.regex(carol, /Final-Recipient: rfc822; ghost\nAction: failed\nStatus: 5\.1\.1/);
});

test('a world-writable include file defers its alias (nothing goes through it), an alias loop bounces', async (t) => {
  const site = makeSite();
  const inc = path.join(site.dir, 'members');
  writeFileSync(inc, 'bob\n');
  chmodSync(inc, 0o666);
  writeFileSync(path.join(site.config, 'aliases'), `staff: alice, :include:${inc}\nloop1: loop2\nloop2: loop1\n`);
  const r = await run(site, ['rmail', 'staff', 'loop1'], FROM);
  t.is(r.code, 0, r.stderr);
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 0, 'nothing through the unsafe include');
  t.is(maildirMessages(path.join(site.spool, 'mail/alice')).length, 0, 'staff waits as a whole (the loop bounces when the message is done)');
  const q = await run(site, ['mailq']);
  t.regex(q.stdout, new RegExp(`staff\\n +\\(.*members: owner/mode 0/0666 is unsafe: writable by group or others \\(chmod go-w `));
  chmodSync(inc, 0o644);
  t.is((await run(site, ['runq', '--force'])).code, 0);
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 1, 'delivered once the mode is fixed');
  const alice = maildirMessages(path.join(site.spool, 'mail/alice'));
  t.is(alice.length, 2, 'alice got the mail and, as postmaster, the bounce for hub!zed (no route back)');
  t.true(alice.some((m) => /loop/i.test(m)));
});

test('a .forward in config/forward redirects a user; programs from it are refused', async (t) => {
  const site = makeSite();
  mkdirSync(path.join(site.config, 'forward'));
  writeFileSync(path.join(site.config, 'forward', 'bob'), 'alice, "|/bin/cat"\n');
  const r = await run(site, ['rmail', 'bob'], FROM);
  t.is(r.code, 0, r.stderr);
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 0);
  const alice = maildirMessages(path.join(site.spool, 'mail/alice'));
  t.true(alice.some((m) => /Delivered-To: alice@/.test(m) && /hello\n$/.test(m)));
});

test('extension addresses (qmail style): bob-a-b uses forward/bob-a-default, else bob-default; no rule, no mailbox', async (t) => {
  const site = makeSite();
  mkdirSync(path.join(site.config, 'forward'));
  writeFileSync(path.join(site.config, 'forward', 'bob-default'), '\\bob\n');
  writeFileSync(path.join(site.config, 'forward', 'bob-lists-default'), 'alice\n');
  for (const rcpt of ['bob-news', 'bob-lists-uucp', 'Bob-Lists-Linux']) {
    const r = await run(site, ['rmail', rcpt], FROM);
    t.is(r.code, 0, `${rcpt}: ${r.stderr}`);
  }
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 1, 'bob-news through bob-default into bob\'s own mailbox');
  t.is(maildirMessages(path.join(site.spool, 'mail/alice')).length, 2, 'both bob-lists-* through bob-lists-default');
  const route = await run(site, ['route', 'bob-lists-uucp']);
  t.regex(route.stdout, /forward.*bob-lists-default/);
  const none = await run(site, ['rmail', 'carol-x'], FROM);
  t.is(none.code, 67, 'carol has no extension rule');
  t.regex(none.stderr, /unknown local user "carol-x"/);
  const off = makeSite({ conf: { extension_delimiter: '' }, files: {} });
  mkdirSync(path.join(off.config, 'forward'));
  writeFileSync(path.join(off.config, 'forward', 'bob-default'), 'bob\n');
  t.is((await run(off, ['rmail', 'bob-news'], FROM)).code, 67, 'extension_delimiter empty: off');
});

test('uugate route shows the expansion tree and exits 67 for an unknown user', async (t) => {
  const site = makeSite({ files: { aliases: 'team: alice, bob\n' } });
  const r = await run(site, ['route', 'team', 'nosuch']);
  t.is(r.code, 67);
  t.regex(r.stdout, /^team\n  alias: alias team \(.*aliases:1\)\n  ├─ alice\n(?:.*\n)*?.*mailbox: .*mail\/alice\/\n(?:.*\n)*?  └─ bob\n/m);
  t.regex(r.stdout, /nosuch\n  FAILS \(5\.1\.1\): unknown local user "nosuch"/);
  const bt = await run(site, ['sendmail', '-bt', 'alice']);
  t.is(bt.code, 0);
  t.regex(bt.stdout, /transport: maildir/);
});

test('uugate paths check reports the first unsorted line; paths sort fixes it', async (t) => {
  const site = makeSite();
  const file = path.join(site.config, 'paths');
  writeFileSync(file, 'alpha\talpha!%s\ncharlie\tcharlie!%s\nbravo\tbravo!%s\n');
  const bad = await run(site, ['paths', 'check']);
  t.is(bad.code, 65);
  t.regex(bad.stderr, /paths:3: /);
  const sorted = path.join(site.dir, 'paths.sorted');
  const s = await run(site, ['paths', 'sort', file, sorted]);
  t.is(s.code, 0, s.stderr);
  t.is(readFileSync(sorted, 'utf8'), 'alpha\talpha!%s\nbravo\tbravo!%s\ncharlie\tcharlie!%s\n');
  const ok = await run(site, ['paths', 'check', sorted]);
  t.is(ok.code, 0);
});

test('one alias to a maildir, a list and a remote UUCP address: each result checked', async (t) => {
  const site = makeSite({ files: { aliases: 'mixed: alice, friends, dusk!far!user\nowner-friends: alice\n' } });
  writeFileSync(path.join(site.uucp, 'sys'), 'system dusk\nport tcp\n');
  mkdirSync(path.join(site.config, 'lists'));
  writeFileSync(path.join(site.config, 'lists', 'friends'), 'bob\n');
  const r = await run(site, ['rmail', 'mixed'], FROM);
  t.is(r.code, 0, r.stderr);
  t.regex(maildirMessages(path.join(site.spool, 'mail/alice'))[0], /Delivered-To: alice@leaf\.example\.org\n/);
  t.regex(maildirMessages(path.join(site.spool, 'mail/bob'))[0], /^Return-Path: <owner-friends>\n/);
  const uustat = await run(site, ['uustat', '-a']);
  t.regex(uustat.stdout, /dusk .*Executing rmail far!user/);
  const { listJobs } = await import('../../src/uucp/uustat.js');
  const [job] = await listJobs(path.join(site.spool, 'uucp'));
  t.is(job.system, 'dusk');
  const dataName = readdirSync(path.join(site.spool, 'uucp/dusk/D.')).find((n) => !n.startsWith('D.X'))!;
  const data = readFileSync(path.join(site.spool, 'uucp/dusk/D.', dataName), 'latin1');
  t.regex(data, /^From hub!zed \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} remote from leaf\nReceived: from hub\n/);
  t.true(data.endsWith('Subject: to the team\n\nhello\n'));
});
