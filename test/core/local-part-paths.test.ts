// A local part never names a file outside its directory (hardening finding 1):
// rmail, SMTP from outside relay_networks and `uugate route` all refuse
// `../`-style names and names with `/`, for maildir and mbox local_delivery.
import test from 'ava';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeSite, run } from '../helpers/site.js';
import { serve, swaks, queuedFiles } from '../smtp/server-helpers.js';
import { localDestination } from '../../src/config/mail-config.js';
import { unsafeLocalPart } from '../../src/address/local-part.js';

const target = (): string => mkdtempSync(path.join(os.tmpdir(), 'uugate-outside-'));
const escaping = (dir: string): string => `../../../../../../../..${dir}/file`;

for (const local_delivery of ['mail/%s', 'mail/%s/']) {
  test(`rmail refuses a local part that climbs out of local_delivery=${local_delivery} (exit 67)`, async (t) => {
    const site = makeSite({ conf: { local_delivery }, users: '' });
    const outside = target();
    for (const rcpt of [escaping(outside), `x/${escaping(outside)}`, '..', '.hidden']) {
      const r = await run(site, ['rmail', rcpt], 'From alice Fri Nov 27 10:00:00 2026 remote from hub\nSubject: x\n\nbody\n');
      t.is(r.code, 67, `${rcpt}: ${r.stderr}`);
      t.regex(r.stderr, /local part .* (contains "\/"|starts with ".")/);
    }
    t.deepEqual(readdirSync(outside), [], 'nothing was written outside the spool');
    t.false(existsSync(path.join(site.spool, 'mail')), 'nor inside it');
    const ok = await run(site, ['rmail', 'dave'], 'From alice Fri Nov 27 10:00:00 2026 remote from hub\nSubject: x\n\nbody\n');
    t.is(ok.code, 0, ok.stderr);
  });
}

test('SMTP from outside relay_networks: a path in the local part gets 550 5.1.3 and nothing is queued', async (t) => {
  const outside = target();
  const s = await serve({ conf: { local_delivery: 'mail/%s', relay_networks: '127.0.0.1/32', delivery_mode: 'queued' }, users: '' });
  t.teardown(() => s.close());
  const from = ['--local-interface', '127.0.0.2', '--from', 'x@elsewhere.example'];
  const r = await swaks(s.port, [...from, '--to', `x/${escaping(outside)}@leaf.example.org`]);
  t.not(r.code, 0);
  t.regex(r.out, /<\*\* 550 5\.1\.3 <x\/.*>: local part .* contains "\/"/);
  const dot = await swaks(s.port, [...from, '--to', '..@leaf.example.org']);
  t.regex(dot.out, /<\*\* 550 5\.1\.3 <\.\.@leaf\.example\.org>: local part "\.\." starts with "\."/);
  t.deepEqual(queuedFiles(s.site), []);
  t.deepEqual(readdirSync(outside), []);
});

test('uugate route shows the refusal, not the outside path', async (t) => {
  const site = makeSite({ conf: { local_delivery: 'mail/%s/' }, users: '' });
  const r = await run(site, ['route', '../../../../tmp/x/file']);
  t.not(r.code, 0);
  t.regex(r.stdout, /FAILS \(5\.1\.3\): local part "\.\.\/\.\.\/\.\.\/\.\.\/tmp\/x\/file" contains "\/"/);
  t.notRegex(r.stdout, /maildir|mbox|\/spool\//, 'no destination is shown');
});

test('localDestination keeps a %s name strictly inside the directory it is put in', (t) => {
  t.is(localDestination('bob', 'mail/%s/', '/spool')?.destination, '/spool/mail/bob/');
  t.is(localDestination('bob', '/var/mail/u-%s', '/spool')?.destination, '/var/mail/u-bob');
  t.is(localDestination('..', 'mail/%s', '/spool'), undefined);
  t.is(localDestination('../../etc/x', '/var/mail/%s', '/spool'), undefined);
  t.is(localDestination('', 'mail/%s/', '/spool'), undefined, 'the directory itself is not a mailbox');
  t.is(localDestination('bob', 'fixed.mbox', '/spool')?.destination, '/spool/fixed.mbox', 'no %s: the administrator named it');
});

test('unsafeLocalPart sees through quotes and escapes', (t) => {
  for (const bad of ['a/b', '"a/b"', '.', '..', '.x', '"..x"', 'a\\/b', 'a\x00b']) t.truthy(unsafeLocalPart(bad), bad);
  for (const good of ['bob', 'bob.smith', 'bob-ext', 'a..b', '"x y"']) t.is(unsafeLocalPart(good), undefined, good);
});
