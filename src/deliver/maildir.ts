// Maildir delivery (qmail's algorithm): create tmp/<unique> exclusively, write,
// fsync, link into new/, unlink tmp. A crash leaves at most a file in tmp/,
// never a partial message in new/.
import { promises as fsp, constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fsyncDir, mkdirp, writeAll } from '../util/durable.js';

let seq = 0;
const host = os.hostname().replace(/[/:]/g, '_');

export async function ensureMaildir(dir: string): Promise<void> {
  for (const sub of ['tmp', 'new', 'cur']) await mkdirp(path.join(dir, sub));
}

/** Delivers `parts` as one message into maildir `dir`; returns the new/ file name. */
export async function deliverToMaildir(dir: string, parts: Buffer[]): Promise<string> {
  await ensureMaildir(dir);
  const now = Date.now();
  const name = `${Math.floor(now / 1000)}.M${(now % 1000) * 1000}P${process.pid}Q${++seq}.${host}`;
  const tmp = path.join(dir, 'tmp', name);
  const fh = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    for (const p of parts) await writeAll(fh, p);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await fsp.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  const dest = path.join(dir, 'new', name);
  await fsp.link(tmp, dest);
  await fsyncDir(path.join(dir, 'new'));
  await fsp.unlink(tmp);
  return dest;
}
