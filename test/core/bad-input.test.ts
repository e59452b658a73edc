import test from 'ava';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { makeSite, run, maildirMessages } from '../helpers/site.js';
import { writeSpoolData } from '../../src/uucp/spool/work-file.js';

const FROM = 'From alice Fri Nov 27 10:00:00 2026 remote from hub\n';

async function queueIsEmpty(site: ReturnType<typeof makeSite>): Promise<boolean> {
  const q = await run(site, ['mailq']);
  return /Mail queue is empty/.test(q.stdout);
}

test('a message without a header/body separator gets one (body kept whole)', async (t) => {
  const site = makeSite();
  const r = await run(site, ['rmail', 'bob'], `${FROM}just some text\nand more\n`);
  t.is(r.code, 0, r.stderr);
  const [m] = maildirMessages(path.join(site.spool, 'mail/bob'));
  t.regex(m, /for <bob>; [^\n]+\n\njust some text\nand more\n$/);
});

const refusals: Array<[string, string | Buffer, number, RegExp]> = [
  ['NUL byte', `${FROM}Subject: x\n\nab\0cd\n`, 65, /NUL byte at byte offset 66/],
  ['line over 998 characters', `${FROM}Subject: x\n\nok\n${'y'.repeat(999)}\n`, 65, /line 5 is 999 characters long \(limit 998\)/],
  ['empty message', '', 65, /empty message/],
  ['only From_ lines', FROM, 65, /empty message/],
];

for (const [name, input, code, msg] of refusals) {
  test(`rmail refuses: ${name} (exit ${code})`, async (t) => {
    const site = makeSite();
    const r = await run(site, ['rmail', 'bob'], input);
    t.is(r.code, code, r.stderr);
    t.regex(r.stderr, msg);
    t.true(await queueIsEmpty(site));
  });
}

test('unknown local users are refused at once with exit 67; nothing is queued', async (t) => {
  const site = makeSite();
  const r = await run(site, ['rmail', 'bob', 'nosuch'], `${FROM}Subject: x\n\ny\n`);
  t.is(r.code, 67);
  t.is(r.stderr, 'uugate rmail: unknown local user "nosuch"\n');
  t.true(await queueIsEmpty(site));
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 0);
  const s = await run(site, ['sendmail', 'leaf!nosuch'], 'Subject: x\n\ny\n');
  t.is(s.code, 67);
  t.is(s.stderr, 'uugate sendmail: leaf!nosuch: unknown local user "nosuch"\n', 'the address as given, then what it came to');
});

test('an unwritable spool is exit 73 with the path named', async (t) => {
  const site = makeSite();
  writeFileSync(path.join(site.dir, 'afile'), '');
  const r = await run(site, ['rmail', 'bob'], `${FROM}Subject: x\n\ny\n`, { UUGATE_SPOOL: path.join(site.dir, 'afile', 'spool') });
  t.is(r.code, 73);
  t.regex(r.stderr, /cannot create spool directories under .*afile\/spool/);
});

/** Runs `body` on a fresh site with a 64 KiB tmpfs mounted at `mnt`, unmounted afterwards. */
async function onSmallDisk(body: (site: ReturnType<typeof makeSite>, mnt: string) => Promise<void>): Promise<void> {
  const site = makeSite();
  const mnt = path.join(site.dir, 'small');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
  try {
    await body(site, mnt);
  } finally {
    execFileSync('umount', [mnt]);
  }
}

test('a full disk is a temporary failure (75) and leaves no partial queue file', (t) =>
  onSmallDisk(async (site, mnt) => {
    const first = await run(site, ['rmail', 'bob'], `${FROM}Subject: x\n\n${'z\n'.repeat(10_000)}`, { UUGATE_SPOOL: mnt });
    t.is(first.code, 0, first.stderr);
    const big = `${FROM}Subject: x\n\n${'z\n'.repeat(60_000)}`;
    const r = await run(site, ['rmail', 'bob'], big, { UUGATE_SPOOL: mnt });
    t.is(r.code, 75, r.stderr);
    t.regex(r.stderr, /cannot queue message.*ENOSPC/);
    t.deepEqual(readdirSync(path.join(mnt, 'tmp')), []);
    t.deepEqual(readdirSync(path.join(mnt, 'incoming')), []);
  }));

test('a spool data file the disk has no room for fails with ENOSPC and leaves no partial file (a retry can create it)', (t) =>
  onSmallDisk(async (_site, mnt) => {
    await t.throwsAsync(writeSpoolData(mnt, 'hub', 'D.hubN0001', Buffer.alloc(200_000, 'z')), { code: 'ENOSPC' });
    t.deepEqual(readdirSync(path.join(mnt, 'hub/D.')), []);
    await writeSpoolData(mnt, 'hub', 'D.hubN0001', 'small enough\n');
    t.deepEqual(readdirSync(path.join(mnt, 'hub/D.')), ['D.hubN0001']);
  }));

const configErrors: Array<[string, string, RegExp]> = [
  ['unknown key', 'hostnames=leaf\nbogus_key=1\n', /uugate\.conf:2: unknown setting "bogus_key"/],
  ['bad value', 'hostnames=leaf\nmax_hop_count=many\n', /uugate\.conf:2: max_hop_count: expected a whole number/],
  ['syntax error', 'hostnames=leaf\n\njust words\n', /uugate\.conf:3: cannot parse "just words"/],
  ['bad duration', 'queue_lifetime=7 days\n', /uugate\.conf:1: queue_lifetime: expected a duration/],
  ['bad mode', 'delivery_mode=later\n', /uugate\.conf:1: delivery_mode: expected one of foreground, background, queued/],
];

for (const [name, text, msg] of configErrors) {
  test(`a broken config file (${name}) stops the command with file:line and exit 78`, async (t) => {
    const site = makeSite();
    writeFileSync(path.join(site.config, 'uugate.conf'), text);
    const r = await run(site, ['rmail', 'bob'], `${FROM}Subject: x\n\ny\n`);
    t.is(r.code, 78);
    t.regex(r.stderr, msg);
  });
}

test('a broken users file names file and line', async (t) => {
  const site = makeSite({ users: 'alice mail/alice/\nbob\n' });
  const r = await run(site, ['mailq']);
  t.is(r.code, 78);
  t.regex(r.stderr, /users:2: expected "name destination"/);
});

test('rsmtp is built: an empty batch is read and accepted (exit 0); a batch of garbage exits 65', async (t) => {
  const site = makeSite();
  const r = await run(site, ['rsmtp']);
  t.is(r.code, 0, r.stderr);
  const g = await run(site, ['rsmtp'], 'this is not SMTP\n');
  t.is(g.code, 65);
  t.regex(g.stderr, /line 1: this is not SMTP: 50[02] /);
});
