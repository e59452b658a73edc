// mbox delivery (mboxrd): `From sender asctime` line, `>`-quoting of `^>*From `
// lines, a blank line after each message. Locked with a dot-lock (`file.lock`,
// created O_EXCL) so other mail programs see it. The lock records the mailbox
// size before our append; a stale lock of ours (dead pid) lets the next writer
// truncate away an append that a crash cut short, so no half message survives.
import { promises as fsp, constants } from 'node:fs';
import path from 'node:path';
import { asctime } from '../message/date.js';
import { mkdirp, writeAll } from '../util/durable.js';

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
  for (;;) {
    const size = await fsp.stat(file).then((s) => s.size, () => 0);
    if (await takeLock(lock, `${process.pid}\n${size}\n`)) return () => fsp.unlink(lock);
    if (await breakStaleLock(file, lock, opts.staleMs ?? 300_000)) continue;
    if (Date.now() > deadline) throw new MailboxLockedError(`mailbox ${file} is locked (${lock})`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
  }
}

/**
 * Creates the lock with its content already in it: written to a private name and
 * linked into place, so a writer killed at any moment never leaves an empty lock
 * that would look alive. Returns false when someone else holds it.
 */
async function takeLock(lock: string, content: string): Promise<boolean> {
  const tmp = `${lock}.${process.pid}.${Date.now()}`;
  const fh = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o644);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fsp.link(tmp, lock);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    await fsp.unlink(tmp).catch(() => undefined);
  }
}

/** Removes a lock whose owner died (recovering its partial append) or that is too old. */
async function breakStaleLock(file: string, lock: string, staleMs: number): Promise<boolean> {
  let text: string;
  let mtime: number;
  try {
    text = await fsp.readFile(lock, 'latin1');
    mtime = (await fsp.stat(lock)).mtimeMs;
  } catch {
    return true; // vanished meanwhile: try again
  }
  const [pidText, sizeText] = text.split('\n');
  const pid = Number(pidText);
  const dead = Number.isInteger(pid) && pid > 0 && !processAlive(pid);
  if (!dead && Date.now() - mtime < staleMs) return false;
  if (dead && /^\d+$/.test(sizeText ?? '')) await fsp.truncate(file, Number(sizeText)).catch(() => undefined);
  await fsp.unlink(lock).catch(() => undefined);
  return true;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
