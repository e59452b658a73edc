// Message size and memory: rmail and sendmail stream their input into the queue
// file (memory flat in the message's size), refuse a message as soon as it
// passes message_size_limit, and refuse a header over MAX_HEADER; uuxqt refuses
// an oversized D. file (even one over 2 GiB) for good and tells the sender.
import test from 'ava';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { makeSite, siteWithSys, run, flags, UUGATE, type Site } from '../helpers/site.js';
import { measurePeakRss, messageChunks } from '../helpers/peak-rss.js';
import { loadGateway } from '../../src/runtime/gateway.js';
import { runUuxqt } from '../../src/inject/uuxqt.js';
import { formatExecFile } from '../../src/uucp/spool/exec-file.js';
import { writeSpoolData } from '../../src/uucp/spool/work-file.js';
import { readQueueFile } from '../../src/queue/spool.js';
import { MAX_UNPACKED_BATCH } from '../../src/bsmtp/gzip.js';
import { MessageChecker, validateMessage } from '../../src/message/validate.js';
import { cutAtDot } from '../../src/inject/submission.js';

const MB = 1024 * 1024;
const FROM = 'From alice Fri Nov 27 10:00:00 2026 remote from hub\n';

const spoolFiles = (s: Site, dir: string): string[] => readdirSync(path.join(s.spool, dir));

const commands: Array<[string, string[], string]> = [
  ['rmail', ['rmail', 'bob'], `${FROM}Subject: big\n\n`],
  ['sendmail', ['sendmail', 'bob'], 'Subject: big\n\n'], // without -i: the lone-dot search runs over every chunk
];

for (const [name, args, head] of commands) {
  test(`${name}: a message streamed through a pipe is queued whole, and peak memory does not grow with its size`, async (t) => {
    const s = makeSite({ conf: { delivery_mode: 'queued', message_size_limit: String(400 * MB) } });
    t.teardown(() => rmSync(s.dir, { recursive: true, force: true }));
    const rss: number[] = [];
    for (const size of [20 * MB, 200 * MB]) {
      const r = await measurePeakRss(process.execPath, [UUGATE, ...args], s.env, messageChunks(size, head));
      t.is(r.code, 0, r.stderr);
      const [id] = spoolFiles(s, 'incoming');
      const file = path.join(s.spool, 'incoming', id);
      // Envelope line and Received: come on top of the message (less the From_ line for rmail).
      const extra = statSync(file).size - size;
      t.true(extra > 0 && extra < 2048, `${size} bytes queued as ${statSync(file).size}`);
      rmSync(file);
      rss.push(r.rssMiB);
    }
    t.log(`${name} peak RSS: 20 MB → ${rss[0].toFixed(0)} MiB, 200 MB → ${rss[1].toFixed(0)} MiB`);
    t.true(rss[1] - rss[0] < 40, `peak RSS ${rss[0].toFixed(0)} MiB at 20 MB, ${rss[1].toFixed(0)} MiB at 200 MB`);
  });

  test(`${name}: a message over message_size_limit is refused (exit 65, 5.3.4) without being read whole; nothing is queued`, async (t) => {
    const s = makeSite({ conf: { delivery_mode: 'queued', message_size_limit: '1000000' } });
    t.teardown(() => rmSync(s.dir, { recursive: true, force: true }));
    const r = await measurePeakRss(process.execPath, [UUGATE, ...args], s.env, messageChunks(300 * MB, head));
    t.is(r.code, 65, r.stderr);
    t.regex(r.stderr, /message is over the limit of 1000000 bytes \(message_size_limit\)/);
    t.deepEqual(spoolFiles(s, 'incoming'), []);
    t.deepEqual(spoolFiles(s, 'tmp'), [], 'the partial queue file is removed');
    t.true(r.rssMiB < 150, `peak RSS ${r.rssMiB.toFixed(0)} MiB for a 300 MB input`);
  });
}

test('a header over 1 MiB is refused (exit 65) with the reason; nothing is queued', async (t) => {
  const s = makeSite({ conf: { delivery_mode: 'queued' } });
  const header = `X-Filler: ${'y'.repeat(60)}\n`.repeat(20_000); // 1.4 MB, no blank line
  for (const args of [['rmail', 'bob'], ['sendmail', '-i', 'bob']]) {
    const r = await run(s, args, `${args[0] === 'rmail' ? FROM : ''}Subject: x\n${header}\nbody\n`);
    t.is(r.code, 65, r.stderr);
    t.regex(r.stderr, /the header is over 1048576 bytes/);
  }
  t.deepEqual(spoolFiles(s, 'incoming'), []);
  t.deepEqual(spoolFiles(s, 'tmp'), []);
});

// ------------------------------------------------------------------ uuxqt

/** Leaves an X. file for `command` whose I file is `dname` (already written). */
async function leaveRequest(s: Site, command: string[], dname: string): Promise<string> {
  const x = formatExecFile({ user: 'root', system: 'hub', files: [{ file: dname }], stdin: dname, unknown: [], command });
  return writeSpoolData(path.join(s.spool, 'uucp'), 'hub', 'X.hubN0002', x);
}

async function queued(s: Site): Promise<{ recipients: string[]; text: string }[]> {
  const dir = path.join(s.spool, 'incoming');
  const out = [];
  for (const n of readdirSync(dir)) {
    const q = await readQueueFile(path.join(dir, n));
    out.push({ recipients: q.envelope.recipients, text: q.data.toString('latin1') });
  }
  return out;
}

const body = (bytes: number): string => `${'z'.repeat(70)}\n`.repeat(Math.ceil(bytes / 71));

for (const [what, bytes] of [
  ['a D. file over message_size_limit', 0],
  ['a sparse D. file over 2 GiB', 2 ** 31 + 100 * MB],
] as const) {
  test(`uuxqt: rmail with ${what} is refused for good, the sender gets an error mail with its start, and the job is removed`, async (t) => {
    const s = siteWithSys('system hub\ncommands rmail rsmtp\n', { delivery_mode: 'queued', message_size_limit: '1000000' });
    t.teardown(() => rmSync(s.dir, { recursive: true, force: true }));
    const head = `${FROM}Subject: too big\n\n`;
    const dfile = await writeSpoolData(path.join(s.spool, 'uucp'), 'hub', 'D.hubN0001', head + body(3 * MB));
    if (bytes) truncateSync(dfile, bytes); // a hole: no disk is used
    const size = statSync(dfile).size;
    const xfile = await leaveRequest(s, ['rmail', 'bob'], 'D.hubN0001');
    const sum = await runUuxqt(await loadGateway(flags(s)));
    t.like(sum, { executed: 0, failed: 1, deferred: 0 });
    const mails = await queued(s);
    t.is(mails.length, 1);
    t.deepEqual(mails[0].recipients, ['hub!root']);
    t.regex(mails[0].text, /Reason: +rmail: message is over the limit of 1000000 bytes \(message_size_limit\) \(exit 65\)/);
    t.regex(mails[0].text, new RegExp(`The input is ${size} bytes, over the size limit of 1000000 bytes; only its first \\d+ bytes are shown`));
    t.true(mails[0].text.includes(`----- The input of the request follows -----\n${head}zzz`), 'the start of the message is returned');
    t.false(existsSync(xfile), 'the request is removed');
    t.false(existsSync(dfile));
    t.false(existsSync(path.join(s.spool, 'uucp/.Failed')));
  });
}

test('uuxqt: an rsmtp batch too big to read (a sparse file over 2 GiB) is refused for good, not left for the next run', async (t) => {
  const s = siteWithSys('system hub\ncommands rmail rsmtp\n', { delivery_mode: 'queued' });
  t.teardown(() => rmSync(s.dir, { recursive: true, force: true }));
  const dfile = await writeSpoolData(path.join(s.spool, 'uucp'), 'hub', 'D.hubN0001', 'HELO hub\nMAIL FROM:<a@hub>\nRCPT TO:<bob>\nDATA\n');
  truncateSync(dfile, 2 ** 31 + MB);
  const xfile = await leaveRequest(s, ['rsmtp'], 'D.hubN0001');
  const sum = await runUuxqt(await loadGateway(flags(s)));
  t.like(sum, { executed: 0, failed: 1, deferred: 0 });
  const mails = await queued(s);
  t.is(mails.length, 1);
  t.regex(mails[0].text, new RegExp(`Reason: +rsmtp: the batch is ${2 ** 31 + MB} bytes, over the ${MAX_UNPACKED_BATCH} bytes a batch may have`));
  t.false(existsSync(xfile));
  // Too big to mail back: kept aside for the administrator, out of uuxqt's way.
  t.deepEqual(readdirSync(path.join(s.spool, 'uucp/.Failed')).sort(), ['D.hubN0001', 'X.hubN0002']);
  const again = await runUuxqt(await loadGateway(flags(s)));
  t.like(again, { executed: 0, failed: 0, deferred: 0 });
});

// ------------------------------------------------------------------ streaming pieces

/** What a check says: the error's message, or 'accepted'. */
function verdict(check: () => void): string {
  try {
    check();
    return 'accepted';
  } catch (err) {
    return (err as Error).message;
  }
}

test('the checker finds the same NUL and long line, at the same offsets, however the input is cut', (t) => {
  const inputs = [`ab\r\n${'y'.repeat(998)}\r\n${'y'.repeat(999)}\r\nz`, `ok\nab\0cd\n`, `${'q'.repeat(998)}\r`, `x\n${'w'.repeat(999)}`];
  for (const text of inputs) {
    const data = Buffer.from(text, 'latin1');
    const whole = verdict(() => validateMessage(data));
    for (let cut = 0; cut <= data.length; cut++) {
      const c = new MessageChecker();
      const got = verdict(() => {
        c.feed(data.subarray(0, cut));
        c.feed(data.subarray(cut));
        c.end();
      });
      if (got !== whole) return t.fail(`cut at ${cut} of ${JSON.stringify(text.slice(0, 20))}: ${got} ≠ ${whole}`);
    }
  }
  t.pass();
});

test('sendmail without -i: a lone dot ends the message wherever the chunks are cut', async (t) => {
  const old = (s: string): string => {
    const m = /(^|\n)\.\r?\n/.exec(s);
    return m ? s.slice(0, m.index + m[1].length) : s;
  };
  const cases = ['a\n.\nb\n', '.\nrest', 'a\r\n.\r\nb', 'a\n..\n.x\n.', 'a\n.', 'no dot\n', 'x.\n.\r\n', '\n.\n'];
  for (const text of cases) {
    const data = Buffer.from(text, 'latin1');
    for (let i = 0; i <= data.length; i++)
      for (let j = i; j <= data.length; j++) {
        const parts = [data.subarray(0, i), data.subarray(i, j), data.subarray(j)];
        const got: Buffer[] = [];
        for await (const c of cutAtDot((async function* () { yield* parts; })())) got.push(c);
        if (Buffer.concat(got).toString('latin1') !== old(text)) return t.fail(`${JSON.stringify(text)} cut at ${i},${j}: ${JSON.stringify(Buffer.concat(got).toString('latin1'))}`);
      }
  }
  t.pass();
});

test('rmail streamed: From_ lines, a header without a blank line and CRLF ends come out as before', async (t) => {
  const s = makeSite({ conf: { delivery_mode: 'queued' } });
  const r = await run(s, ['rmail', 'bob'], `${FROM}Subject: x\r\nno field here\r\nbody\r\n`);
  t.is(r.code, 0, r.stderr);
  const [m] = await queued(s);
  t.regex(m.text, /^Received: from hub\r\n\tby leaf with UUCP \(uugate rmail\)\r\n\tid \S+\r\n\tfor <bob>; [^\r\n]+\r\nSubject: x\r\n\r\nno field here\r\nbody\r\n$/);
  t.is(readFileSync(path.join(s.spool, 'incoming', readdirSync(path.join(s.spool, 'incoming'))[0]), 'latin1').split('\n')[0].slice(0, 8), 'UUGATE1 ');
});

test('rsmtp: a batch on stdin over 256 MiB is refused (exit 65) when it passes the cap, nothing queued', async (t) => {
  const s = makeSite({ conf: { delivery_mode: 'queued' } });
  t.teardown(() => rmSync(s.dir, { recursive: true, force: true }));
  const r = await measurePeakRss(process.execPath, [UUGATE, 'rsmtp'], s.env, messageChunks(MAX_UNPACKED_BATCH + MB, 'HELO hub\nMAIL FROM:<a@hub>\nRCPT TO:<bob>\nDATA\n'));
  t.is(r.code, 65, r.stderr);
  t.regex(r.stderr, new RegExp(`the batch is over the ${MAX_UNPACKED_BATCH} bytes a batch may have`));
  t.deepEqual(spoolFiles(s, 'incoming'), []);
});
