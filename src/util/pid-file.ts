// Lock files that name their owner's pid: UUCP's LCK files (uucp/lock.ts), mbox
// dot-locks (deliver/mbox.ts), the maildir flush lock. One try at taking one:
//
//   1. the content is written to a private name beside the lock, then linked to
//      the lock's name: link() is atomic and fails if the name exists, and a
//      process killed at any moment never leaves an empty lock that looks alive;
//   2. if the name exists, its owner is read from it: a live pid (kill(pid, 0)
//      succeeds or fails with EPERM) keeps it; a dead one (or, with `staleMs`, an
//      old file) makes it stale, and a stale lock is removed so the caller can try
//      again. Removing races with another process breaking the same stale lock
//      at the same instant; like Taylor UUCP we accept that window.
import { promises as fsp } from 'node:fs';

/** True when a process with this pid exists. */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid on the first line of a lock file, or null. */
export function firstLinePid(buf: Buffer): number | null {
  const m = /^([1-9]\d*)(?:\n|$)/.exec(buf.toString('latin1'));
  return m ? Number(m[1]) : null;
}

export interface PidFileOptions extends LinkOptions {
  /** The private name the content is written to first (same directory; removed again). */
  tmp: string;
  mode?: number;
  /** fsync the content before linking it into place. */
  sync?: boolean;
}

export interface LinkOptions {
  /** The owner's pid in a lock file's content, null when there is none (default firstLinePid). */
  readPid?: (buf: Buffer) => number | null;
  /**
   * A lock without a readable pid belongs to another program (mail programs
   * make empty dot-locks): it is stale only by age. Default: stale.
   */
  keepUnknown?: boolean;
  /** A lock older than this is stale whatever its pid. */
  staleMs?: number;
  /** Remove a stale lock (default true); false reports it like a busy one. */
  breakStale?: boolean;
  /** Runs before a stale lock is removed (mbox recovers the append its dead owner cut short). */
  onStale?: (content: Buffer, ownerDead: boolean) => Promise<void>;
}

/** `broken`: the lock was stale and is gone (or vanished meanwhile): try again. */
export type PidFileTry = { ok: true } | { ok: false; pid: number | null; broken: boolean };

/** One try at creating `file` holding `content`. */
export async function tryPidFile(file: string, content: string, opts: PidFileOptions): Promise<PidFileTry> {
  await writePrivate(opts.tmp, content, opts.mode ?? 0o644, opts.sync);
  try {
    return await linkPidFile(opts.tmp, file, opts);
  } finally {
    await fsp.unlink(opts.tmp).catch(() => undefined);
  }
}

/** Step 1 alone, for a caller that tells a lock directory it cannot write apart (uucp/lock.ts). */
export async function writePrivate(tmp: string, content: string, mode: number, sync = false): Promise<void> {
  await fsp.writeFile(tmp, content, { mode, flag: 'wx', flush: sync });
}

/** Step 2 alone: `tmp` (already written) linked to `file`, or the lock there judged. `tmp` stays. */
export async function linkPidFile(tmp: string, file: string, opts: LinkOptions = {}): Promise<PidFileTry> {
  try {
    await fsp.link(tmp, file);
    return { ok: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  let buf: Buffer;
  let mtime = 0;
  try {
    buf = await fsp.readFile(file);
    if (opts.staleMs !== undefined) mtime = (await fsp.stat(file)).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: false, pid: null, broken: true }; // just released
    throw err;
  }
  const pid = (opts.readPid ?? firstLinePid)(buf);
  const dead = pid === null ? !opts.keepUnknown : !pidAlive(pid);
  const old = opts.staleMs !== undefined && Date.now() - mtime >= opts.staleMs;
  if ((!dead && !old) || opts.breakStale === false) return { ok: false, pid, broken: false };
  await opts.onStale?.(buf, dead && pid !== null);
  await fsp.unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  return { ok: false, pid, broken: true };
}
