// gzip'd BSMTP batches: a neighbour in bsmtp_gzip gets an `rgsmtp` job whose data
// is a gzip'd batch; Exim reads it unpacked (`gunzip | exim4 -bS`) with the
// messages identical; our uuxqt runs it in-process (commands rgsmtp) into the
// maildirs; `uugate rsmtp` reads plain and gzip batches alike and refuses
// compress(1), bzip2 and damaged gzip data with the reason; a refused or failed
// compressed batch goes back to its requester unpacked.
import test from 'ava';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import path from 'node:path';
import { makeSite, run, maildirMessages, flags, siteWithSys, type Site } from '../helpers/site.js';
import { exim, makeExim } from '../helpers/exim-bsmtp.js';
import { loadGateway } from '../../src/runtime/gateway.js';
import { runUuxqt } from '../../src/inject/uuxqt.js';
import { formatExecFile } from '../../src/uucp/spool/exec-file.js';
import { writeSpoolData } from '../../src/uucp/spool/work-file.js';
import { readQueueFile } from '../../src/queue/spool.js';
import { unpackBatch, MAX_UNPACKED_BATCH } from '../../src/bsmtp/gzip.js';

const MESSAGE = 'From: Alice <alice@leaf.example.org>\nSubject: caf\xe9\nMessage-ID: <gz1@leaf.example.org>\n\n.a leading dot\n\xff\x80 eight bit\n' + 'filler line\n'.repeat(200);
const BODY = MESSAGE.slice(MESSAGE.indexOf('\n\n') + 2);
const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

/** The messages of a batch, dot-unstuffed. */
const sentMessages = (batch: string): string[] =>
  batch.split(/\nDATA\n/).slice(1).map((p) => p.slice(0, p.indexOf('\n.\n') + 1).replace(/^\./gm, ''));

/** A leaf that batches mail for hub, gzip'd; two messages queued and run. */
async function gzipBatchJob(): Promise<{ x: string; data: Buffer; dataName: string; xName: string }> {
  const leaf = makeSite({ conf: { delivery_mode: 'queued', bsmtp_neighbors: 'hub', bsmtp_gzip: 'hub' } });
  writeFileSync(path.join(leaf.uucp, 'sys'), 'system hub\n');
  for (const rcpt of ['hub!bob', 'hub!alice']) {
    const r = await run(leaf, ['sendmail', '-oi', '-f', 'alice', rcpt], latin1(MESSAGE));
    if (r.code !== 0) throw new Error(r.stderr);
  }
  const q = await run(leaf, ['runq']);
  if (q.code !== 0) throw new Error(q.stderr);
  const dir = path.join(leaf.spool, 'uucp/hub');
  const [xName] = readdirSync(path.join(dir, 'D.X'));
  const x = readFileSync(path.join(dir, 'D.X', xName), 'latin1');
  const dataName = /^I (\S+)$/m.exec(x)![1];
  const data = readFileSync(path.join(dir, 'D.', readdirSync(path.join(dir, 'D.')).find((f) => f.endsWith(dataName.slice(-4)))!));
  return { x, data, dataName, xName };
}

test('a bsmtp_gzip neighbour gets an rgsmtp job with a gzip batch that exim4 -bS reads unpacked: messages identical', async (t) => {
  const { x, data } = await gzipBatchJob();
  t.regex(x, /^C rgsmtp$/m);
  t.deepEqual([...data.subarray(0, 2)], [0x1f, 0x8b], 'gzip magic');
  const batch = gunzipSync(data);
  t.true(data.length < batch.length / 3, `packed ${data.length} of ${batch.length} bytes`);
  const text = batch.toString('latin1');
  t.regex(text, /^HELO leaf\nMAIL FROM:<leaf!alice>\nRCPT TO:<(bob|alice)>\nDATA\n/);
  t.true(text.endsWith('.\nQUIT\n'));
  const sent = sentMessages(text);
  t.is(sent.length, 2);
  for (const m of sent) t.true(m.endsWith(BODY), 'the body as submitted');
  const ex = makeExim('maildir');
  const r = await exim(ex, ['-bS', '-odi'], batch);
  t.is(r.code, 0, `${r.stdout}${r.stderr}`);
  const got = readdirSync(path.join(ex.maildir, 'new')).map((n) => readFileSync(path.join(ex.maildir, 'new', n), 'latin1'));
  t.is(got.length, 2);
  t.deepEqual(got.map((g) => sent.findIndex((m) => g.endsWith(`\n${m}`))).sort(), [0, 1], 'each batch message, after Exim\'s own headers');
});

/** The hub: allows rgsmtp from leaf; the leaf's job files are left in its spool as uucico would. */
async function hubWithJob(job: Awaited<ReturnType<typeof gzipBatchJob>>, commands = 'rmail rgsmtp', conf: Record<string, string> = {}): Promise<Site> {
  const hub = siteWithSys(`system leaf\ncommands ${commands}\n`, { hostnames: 'hub', uucp_name: 'hub', ...conf });
  const spool = path.join(hub.spool, 'uucp');
  await writeSpoolData(spool, 'leaf', job.dataName, job.data);
  await writeSpoolData(spool, 'leaf', job.xName.replace(/^D\./, 'X.'), job.x);
  return hub;
}

test('our uuxqt runs an rgsmtp request in-process: both messages in the maildirs byte for byte', async (t) => {
  const job = await gzipBatchJob();
  const hub = await hubWithJob(job);
  const sum = await runUuxqt(await loadGateway(flags(hub)));
  t.like(sum, { executed: 1, failed: 0, deferred: 0 });
  for (const who of ['bob', 'alice']) {
    const [m] = maildirMessages(path.join(hub.spool, `mail/${who}`));
    t.truthy(m, who);
    t.true(sentMessages(gunzipSync(job.data).toString('latin1')).some((s) => m.endsWith(`\n${s}`)), `${who}: the batch's message, byte for byte`);
    t.regex(m, /^Return-Path: <leaf!alice>\n/);
  }
  t.deepEqual(readdirSync(path.join(hub.spool, 'uucp/leaf/X.')), [], 'request done');
});

test('rgsmtp not in the commands list: refused, nothing delivered', async (t) => {
  const hub = await hubWithJob(await gzipBatchJob(), 'rmail rsmtp');
  const sum = await runUuxqt(await loadGateway(flags(hub)));
  t.is(sum.executed, 0);
  t.false(existsSync(path.join(hub.spool, 'mail/bob')));
  t.regex(readFileSync(path.join(hub.spool, 'log/logfile'), 'latin1'), /command "rgsmtp" is not permitted/);
});

const BATCH = 'MAIL FROM:<carol@far.example>\nRCPT TO:<bob@leaf.example.org>\nDATA\nSubject: gz\n\nhello\n.\n';

test('uugate rsmtp and its rgsmtp link name read gzip batches; compress(1), bzip2 and damaged gzip are refused with the reason (65)', async (t) => {
  const site = makeSite();
  t.is((await run(site, ['rsmtp'], gzipSync(BATCH))).code, 0);
  t.is((await run(site, ['rgsmtp'], Buffer.from(BATCH))).code, 0, 'plain batch under the gzip name');
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 2);
  const cases: Array<[Buffer, RegExp]> = [
    [Buffer.from([0x1f, 0x9d, 0x90, 0x4d]), /compress\(1\) \(\.Z\) batches are not supported/],
    [Buffer.from('BZh91AY&SY'), /bzip2 batches are not supported/],
    [gzipSync(BATCH).subarray(0, 20), /standard input: gzip data is damaged/],
  ];
  for (const [input, why] of cases) {
    const r = await run(site, ['rsmtp'], input);
    t.is(r.code, 65, r.stderr);
    t.regex(r.stderr, why);
  }
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 2, 'nothing more delivered');
});

test('a gzip bomb is refused before it fills memory', async (t) => {
  const bomb = gzipSync(Buffer.alloc(MAX_UNPACKED_BATCH + 1));
  await t.throwsAsync(unpackBatch(bomb, 'D.x'), { message: /^D\.x: gzip data unpacks to more than/ });
  t.deepEqual(await unpackBatch(Buffer.from(BATCH)), Buffer.from(BATCH), 'plain data passes unchanged');
});

/** The mails the hub queued (delivery_mode=queued): envelope recipients and text. */
async function queued(s: Site): Promise<Array<{ recipients: string[]; text: string }>> {
  const dir = path.join(s.spool, 'incoming');
  const out = [];
  for (const n of readdirSync(dir).sort()) {
    const q = await readQueueFile(path.join(dir, n));
    out.push({ recipients: q.envelope.recipients, text: q.data.toString('latin1') });
  }
  return out;
}

const INPUT_FOLLOWS = '----- The input of the request follows -----\n';

test('a refused rgsmtp request: the error mail shows the batch unpacked, as text; the request is done', async (t) => {
  const job = await gzipBatchJob();
  const hub = await hubWithJob(job, 'rmail rsmtp', { delivery_mode: 'queued' });
  const sum = await runUuxqt(await loadGateway(flags(hub)));
  t.like(sum, { executed: 0, failed: 1, deferred: 0 });
  const mails = (await queued(hub)).filter((m) => /^Subject: Execution failed$/m.test(m.text));
  t.is(mails.length, 1);
  const { text } = mails[0];
  const batch = gunzipSync(job.data).toString('latin1');
  t.regex(text, new RegExp(`The batch arrived gzip-compressed \\(${job.data.length} bytes\\); it is shown unpacked \\(${batch.length} bytes\\)\\.\n`));
  t.true(text.endsWith(`${INPUT_FOLLOWS}${batch}`), 'the batch as it was before packing');
  t.deepEqual(readdirSync(path.join(hub.spool, 'uucp/leaf/X.')), [], 'request done: the requester has the whole batch');
});

test('a batch that does not unpack: the error mail names it (kind, size, why) without the bytes; the request is kept in .Failed', async (t) => {
  const hub = siteWithSys('system leaf\ncommands rgsmtp\n', { hostnames: 'hub', uucp_name: 'hub', delivery_mode: 'queued' });
  const spool = path.join(hub.spool, 'uucp');
  const damaged = gzipSync(BATCH).subarray(0, 20);
  await writeSpoolData(spool, 'leaf', 'D.leafN0001', damaged);
  await writeSpoolData(spool, 'leaf', 'X.leafN0002', formatExecFile({ user: 'alice', system: 'leaf', files: [{ file: 'D.leafN0001' }], stdin: 'D.leafN0001', command: ['rgsmtp'], unknown: [] }));
  const sum = await runUuxqt(await loadGateway(flags(hub)));
  t.like(sum, { executed: 0, failed: 1, deferred: 0 });
  const [mail, ...more] = await queued(hub);
  t.is(more.length, 0);
  t.deepEqual(mail.recipients, ['leaf!alice']);
  t.regex(mail.text, /Reason: +rgsmtp: D\.leafN0001: gzip data is damaged/);
  t.regex(mail.text, /The input, a compressed batch of 20 bytes, could not be included \(D\.leafN0001: gzip data is damaged [^\n]*\); it is kept at hub for the administrator\.\n$/);
  t.false(mail.text.includes(INPUT_FOLLOWS));
  t.deepEqual(readdirSync(path.join(spool, '.Failed')).sort(), ['D.leafN0001', 'X.leafN0002']);
  t.deepEqual(readFileSync(path.join(spool, '.Failed/D.leafN0001')), damaged, 'kept byte for byte');
});
