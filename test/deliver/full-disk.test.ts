// A full disk during delivery (hardening findings 2 and 3): a short write is
// never taken for a delivery. maildir, mbox, file deliveries, BSMTP batches and
// the per-message log each meet a small tmpfs; the recipient is deferred, no
// partial message is left behind, and once there is room it arrives whole, once.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { makeSite, maildirMessages, run, type Site } from '../helpers/site.js';
import { diskTest, growSmall, mountSmall } from '../helpers/small-disk.js';
import { appendLine, writeAll } from '../../src/util/durable.js';

const FROM = 'From alice Fri Nov 27 10:00:00 2026 remote from hub\n';
const big = (tag: string): string => `${FROM}Subject: ${tag}\n\n${`${tag} ${'x'.repeat(66)}\n`.repeat(2000)}`; // about 140 KB
const small = (tag: string): string => `${FROM}Subject: ${tag}\n\nshort\n`;

async function mailq(site: Site): Promise<string> {
  return (await run(site, ['mailq'])).stdout;
}

diskTest('maildir: a message the disk cannot hold is deferred (4.x), leaves nothing in tmp/ or new/, and arrives whole later', async (t) => {
  const site = makeSite({ conf: { delivery_mode: 'queued' } });
  const box = path.join(site.dir, 'small');
  mountSmall(t, box, '64k');
  writeFileSync(path.join(site.config, 'users'), `bob ${box}/bob/\n`);
  t.is((await run(site, ['rmail', 'bob'], big('one'))).code, 0);
  const r = await run(site, ['runq']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(readdirSync(path.join(box, 'bob/new')), []);
  t.deepEqual(readdirSync(path.join(box, 'bob/tmp')), [], 'the partial tmp file is removed');
  t.regex(await mailq(site), /bob\n\s+\(delivery to .*: ENOSPC/);
  growSmall(box, '1m');
  t.is((await run(site, ['runq', '--force'])).code, 0);
  const got = maildirMessages(path.join(box, 'bob'));
  t.is(got.length, 1);
  t.true(got[0].endsWith(big('one').slice(FROM.length)), 'the whole message, byte for byte');
});

for (const kind of ['mbox', 'file'] as const) {
  diskTest(`${kind}: a failed append is cut back to where it started; the next message is not glued to a cut line`, async (t) => {
    const site = makeSite({ conf: { delivery_mode: 'queued' } });
    const dir = path.join(site.dir, 'small');
    mountSmall(t, dir, '64k');
    const box = path.join(dir, 'box');
    if (kind === 'mbox') writeFileSync(path.join(site.config, 'users'), `carol ${box}\n`);
    else writeFileSync(path.join(site.config, 'aliases'), `carol: ${box}\n`);
    t.is((await run(site, ['rmail', 'carol'], small('first'))).code, 0);
    t.is((await run(site, ['runq'])).code, 0);
    const before = readFileSync(box);
    t.is((await run(site, ['rmail', 'carol'], big('second'))).code, 0);
    t.is((await run(site, ['runq'])).code, 0);
    t.deepEqual(readFileSync(box), before, 'the mailbox is as it was');
    t.false(existsSync(`${box}.lock`));
    t.regex(await mailq(site), /ENOSPC/);
    growSmall(dir, '1m');
    t.is((await run(site, ['runq', '--force'])).code, 0);
    const text = readFileSync(box, 'latin1');
    t.is(text.match(/^From /gm)?.length, 2);
    t.true(text.startsWith(before.toString('latin1')));
    t.true(text.includes(big('second').slice(FROM.length).replace(/\n$/, '')), 'the second message whole');
    t.regex(await mailq(site), /queue is empty/, 'nothing left in the queue');
  });
}

diskTest('bsmtp: a batch append the disk cannot hold is deferred and cut away; only whole batches are sent', async (t) => {
  const site = makeSite({ conf: { delivery_mode: 'queued', bsmtp_neighbors: 'hub' } });
  writeFileSync(path.join(site.uucp, 'sys'), 'system hub\n');
  const dir = path.join(site.spool, 'bsmtp');
  mountSmall(t, dir, '64k');
  const batches = (): string[] => {
    const d = path.join(site.spool, 'uucp/hub/D.');
    return readdirSync(d).map((n) => readFileSync(path.join(d, n), 'latin1')).filter((b) => b.startsWith('HELO '));
  };
  t.is((await run(site, ['rmail', 'hub!far!bob'], small('first'))).code, 0);
  t.is((await run(site, ['runq'])).code, 0);
  t.is(batches().length, 1);
  t.is((await run(site, ['rmail', 'hub!far!bob'], big('second'))).code, 0);
  t.is((await run(site, ['runq'])).code, 0);
  t.is(readFileSync(path.join(dir, 'hub/pending'), 'latin1'), '', 'the cut record is gone');
  t.is(batches().length, 1, 'no batch with a partial message was sent');
  t.regex(await mailq(site), /ENOSPC/);
  growSmall(dir, '1m');
  t.is((await run(site, ['runq', '--force'])).code, 0);
  const sent = batches();
  t.is(sent.length, 2);
  t.true(sent.some((b) => b.includes(big('second').slice(FROM.length)) && b.endsWith('.\nQUIT\n')));
});

diskTest('msglog: ENOSPC while recording a delivery stops the run in one line (75); the delivery is not repeated', async (t) => {
  const site = makeSite({ conf: { delivery_mode: 'queued' } });
  t.is((await run(site, ['rmail', 'bob'], small('once'))).code, 0);
  const msglog = path.join(site.spool, 'msglog');
  mountSmall(t, msglog, '16k');
  // Fill it to the last byte.
  const fh = await fsp.open(path.join(msglog, 'filler'), 'w');
  await t.throwsAsync(writeAll(fh, Buffer.alloc(1 << 20)), { code: 'ENOSPC' });
  await fh.close();
  const r = await run(site, ['runq']);
  t.is(r.code, 75, r.stderr);
  t.regex(r.stderr, /^uugate runq: queue run stopped: cannot record the outcome of message \S+: .*ENOSPC.*\n$/);
  t.notRegex(r.stderr, /\n\s+at /, 'no stack trace');
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 1);
  await fsp.unlink(path.join(msglog, 'filler'));
  for (let i = 0; i < 2; i++) t.is((await run(site, ['runq', '--force'])).code, 0);
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 1, 'delivered once');
  t.regex(await mailq(site), /queue is empty/);
});

diskTest('writeAll and appendLine: a write the disk cannot finish fails; appendLine leaves the file as it was', async (t) => {
  const dir = path.join(makeSite().dir, 'small');
  mountSmall(t, dir, '16k');
  const file = path.join(dir, 'log');
  await appendLine(file, 'first', true);
  await t.throwsAsync(appendLine(file, 'y'.repeat(100_000), true), { code: 'ENOSPC' });
  t.is(readFileSync(file, 'latin1'), 'first\n');
});
