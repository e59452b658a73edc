// Memory against message size: peak RSS of a cold rmail, sendmail and uuxqt
// process taking a 10 MB and a 100 MB message (rmail and sendmail from a pipe,
// uuxqt from a D. file), queued only, against Exim taking the same message on
// its command line (`exim -odq -i`). The message streams into the queue file,
// so the figure should not move with the size. Peak RSS from /usr/bin/time.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeSite, siteWithSys, UUGATE, type Site } from '../test/helpers/site.js';
import { measurePeakRss, messageChunks, type Measured } from '../test/helpers/peak-rss.js';
import { eximAvailable, eximConfig, EXIM_BIN } from '../test/helpers/exim.js';
import { formatExecFile } from '../src/uucp/spool/exec-file.js';
import { writeSpoolData } from '../src/uucp/spool/work-file.js';
import type { BenchResult, Row } from './table.js';

const MB = 1024 * 1024;
const SIZES = [10 * MB, 100 * MB];
const FROM = 'From alice Fri Nov 27 10:00:00 2026 remote from hub\n';
const HEAD = 'Subject: memory bench\n\n';

const site = (): Site => siteWithSys('system hub\ncommands rmail\n', { delivery_mode: 'queued', message_size_limit: String(200 * MB) });

/** Empties the spool's incoming/ so that the disk does not fill over the runs. */
function clearIncoming(s: Site): void {
  const dir = path.join(s.spool, 'incoming');
  for (const n of readdirSync(dir)) rmSync(path.join(dir, n));
}

async function uuxqtRun(s: Site, size: number): Promise<Measured> {
  const spool = path.join(s.spool, 'uucp');
  const chunks = [...messageChunks(size, FROM + HEAD)];
  await writeSpoolData(spool, 'hub', 'D.hubN0001', Buffer.concat(chunks));
  const x = formatExecFile({ user: 'alice', system: 'hub', files: [{ file: 'D.hubN0001' }], stdin: 'D.hubN0001', unknown: [], command: ['rmail', 'bob'] });
  await writeSpoolData(spool, 'hub', 'X.hubN0002', x);
  return measurePeakRss(process.execPath, [UUGATE, 'uuxqt'], s.env, []);
}

/** A private Exim configuration without a size limit, queueing only. */
function eximConf(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uugate-exim-mem-'));
  for (const d of ['spool', 'log', 'out']) mkdirSync(path.join(dir, d));
  const conf = path.join(dir, 'exim.conf');
  writeFileSync(conf, eximConfig(dir, { queueOnly: true }, '127.0.0.1').replace('message_size_limit = 50M', 'message_size_limit = 0'));
  return conf;
}

export async function run(): Promise<BenchResult> {
  const s = site();
  const conf = eximAvailable() ? eximConf() : undefined;
  const cases: Array<[string, (size: number) => Promise<Measured>]> = [
    ['rmail (pipe)', (size) => measurePeakRss(process.execPath, [UUGATE, 'rmail', 'bob'], s.env, messageChunks(size, FROM + HEAD))],
    ['sendmail (pipe)', (size) => measurePeakRss(process.execPath, [UUGATE, 'sendmail', 'bob'], s.env, messageChunks(size, HEAD))],
    ['uuxqt (D. file)', (size) => uuxqtRun(s, size)],
  ];
  const exim = conf ? (size: number) => measurePeakRss(EXIM_BIN, ['-C', conf, '-odq', '-i', 'bob@exim.test'], process.env, messageChunks(size, HEAD)) : undefined;
  const eximRss: number[] = [];
  if (exim) for (const size of SIZES) eximRss.push((await exim(size)).rssMiB);
  const rows: Row[] = [];
  for (const [name, measure] of cases) {
    const rss: number[] = [];
    for (const size of SIZES) {
      const r = await measure(size);
      if (r.code !== 0) throw new Error(`${name}, ${size / MB} MB: exit ${r.code}: ${r.stderr}`);
      clearIncoming(s);
      rss.push(r.rssMiB);
    }
    rows.push({
      path: name,
      '10 MB: peak RSS MiB': rss[0],
      '100 MB: peak RSS MiB': rss[1],
      growth: `${(rss[1] - rss[0]).toFixed(0)} MiB`,
      ...(eximRss.length ? { 'vs Exim at 100 MB': `${(rss[1] / eximRss[1]).toFixed(1)}×` } : {}),
    });
  }
  if (eximRss.length) rows.push({ path: 'Exim -odq -i (reference)', '10 MB: peak RSS MiB': eximRss[0], '100 MB: peak RSS MiB': eximRss[1], growth: `${(eximRss[1] - eximRss[0]).toFixed(0)} MiB` });
  if (conf) rmSync(path.dirname(conf), { recursive: true, force: true });
  rmSync(s.dir, { recursive: true, force: true });
  return {
    title: 'Memory against message size (one cold process per message, queued only, fsync before exit 0)',
    rows,
    notes: ['target: peak RSS flat in the message size (the body streams into the queue file; only the header is held). Node alone (`node -e 0`) is ≈ 40 MiB.'],
  };
}
