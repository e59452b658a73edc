// mbox delivery (mboxrd): `From sender asctime` line, `>`-quoting of `^>*From `
// lines, a blank line after each message. Locked with a dot-lock (`file.lock`,
// util/pid-file.ts) so other mail programs see it. The lock records the mailbox
// size before our append; a stale lock of ours (dead pid) lets the next writer
// truncate away an append that a crash cut short, so no half message survives.
import { promises as fsp, constants } from 'node:fs';
import path from 'node:path';
import { asctime } from '../message/date.js';
import { mkdirp, writeAll } from '../util/durable.js';
import { tryPidFile } from '../util/pid-file.js';

export interface MboxOptions {
  lockTimeoutMs?: number; // give up (temporary failure) after this long
  staleMs?: number; // a lock older than this is stale whatever its pid
  pollMs?: number;
}

export class MailboxLockedError extends Error {}

/** From_ line plus the message with mboxrd quoting and the trailing blank line. */
export function mboxEntry(sender: string, parts: Buffer[], when: Date): Buffer {
  const from = (sender || 'MAILER-DAEMON').replace(/\s/g, '-');
  const text = Buffer.concat(parts).toString('latin1');
  const quoted = text.replace(/^(>*From )/gm, '>$1');
  const tail = quoted.endsWith('\n') ? '\n' : '\n\n';
  return Buffer.from(`From ${from} ${asctime(when)}\n${quoted}${tail}`, 'latin1');
}

export async function deliverToMbox(file: string, entry: Buffer, opts: MboxOptions = {}): Promise<void> {
  await mkdirp(path.dirname(file));
  const release = await lockMbox(file, opts);
  try {
    await appendWhole(file, entry);
  } finally {
    await release();
  }
}

async function appendWhole(file: string, entry: Buffer): Promise<void> {
  const fh = await fsp.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND, 0o600);
  const { size } = await fh.stat();
  try {
    await writeAll(fh, entry);
    await fh.sync();
  } catch (err) {
    await fh.truncate(size).catch(() => undefined);
    throw err;
  } finally {
    await fh.close();
  }
}

async function lockMbox(file: string, opts: MboxOptions): Promise<() => Promise<void>> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + (opts.lockTimeoutMs ?? 60_000);
  // A dead owner's append may have been cut short: cut the mailbox back to the size it recorded.
  const recover = async (content: Buffer, ownerDead: boolean): Promise<void> => {
    const sizeText = content.toString('latin1').split('\n')[1];
    if (ownerDead && /^\d+$/.test(sizeText ?? '')) await fsp.truncate(file, Number(sizeText)).catch(() => undefined);
  };
  for (;;) {
    const size = await fsp.stat(file).then((s) => s.size, () => 0);
    const r = await tryPidFile(lock, `${process.pid}\n${size}\n`, {
      tmp: `${lock}.${process.pid}.${Date.now()}`,
      sync: true,
      keepUnknown: true,
      staleMs: opts.staleMs ?? 300_000,
      onStale: recover,
    });
    if (r.ok) return () => fsp.unlink(lock);
    if (r.broken) continue; // the size is read again: the stale owner's append may be gone
    if (Date.now() > deadline) throw new MailboxLockedError(`mailbox ${file} is locked (${lock})`);
    await new Promise((res) => setTimeout(res, opts.pollMs ?? 100));
  }
}
