// The UUCP spool, in Taylor's SPOOLDIR_TAYLOR layout so an administrator who knows
// Taylor finds things where expected (and Taylor's own uustat can read it):
//
//   <sys>/C./C.<grade><seq>   work files: one protocol command per line (S/R/X/E)
//   <sys>/D./D.<seq>          data to send            <sys>/D./D.<remote><g><seq> data received
//   <sys>/D.X/D.X<seq>        files that become X. files on the remote
//   <sys>/X./X.<...>          execution files received from <sys>
//   <sys>/SEQF                last sequence number used for <sys>: 4 chars of 0-9A-Z
//   .Status/<sys>             call status (see status.ts)
//   .Sequence/<sys>           conversation sequence number (-Q)
//   .Temp/<sys>/<temp>        partial receives (restart)
//   .Received/<sys>/<temp>    files received whose acknowledgement may be lost (SN8)
//   .Corrupt, .Failed         unparsable / failed executions
//
// Work files are written to a temp name, fsync'd and link()ed into place, so a
// reader sees either nothing or the whole file. Data files are fsync'd before the
// work file that names them is created.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { mkdirp } from '../../util/durable.js';
import { GatewayError, dataError } from '../../util/errors.js';
import { waitLock } from '../lock.js';

// ---------------------------------------------------------------- grades and sequences

/** Grades from highest to lowest priority (Taylor: 0-9, then A-Z, then a-z). */
export const GRADES = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function isGrade(g: string): boolean {
  return g.length === 1 && GRADES.includes(g);
}

/** Negative when grade a should be sent before grade b. */
export function compareGrades(a: string, b: string): number {
  return GRADES.indexOf(a) - GRADES.indexOf(b);
}

const SEQ_DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export function isSequence(s: string): boolean {
  return /^[0-9A-Z]{4}$/.test(s);
}

/** Next 4-character sequence number: base 36 with digits then capitals; ZZZZ wraps to 0000. */
export function incrementSequence(seq: string): string {
  if (!isSequence(seq)) return '0001';
  const out = seq.split('');
  for (let i = 3; i >= 0; i--) {
    const d = SEQ_DIGITS.indexOf(out[i]);
    if (d < 35) {
      out[i] = SEQ_DIGITS[d + 1];
      return out.join('');
    }
    out[i] = '0';
  }
  return out.join('');
}

// ---------------------------------------------------------------- names and paths

/** A system name usable as a directory: no '/', not empty, not starting with '.'. */
export function checkSystemName(system: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(system) || system.length > 255)
    throw dataError(`bad UUCP system name "${system}"`);
}

export function systemDir(spoolDir: string, system: string): string {
  checkSystemName(system);
  return path.join(spoolDir, system);
}

/**
 * Where a spool file lives: C.* in C./, D.X<seq> in D.X/, other D.* in D./, X.* in X./.
 * `name` must be a bare spool name.
 */
export function spoolFilePath(spoolDir: string, system: string, name: string): string {
  if (!isSpoolName(name)) throw dataError(`not a spool file name: "${name}"`);
  const dir = systemDir(spoolDir, system);
  if (name.startsWith('C.')) return path.join(dir, 'C.', name);
  if (/^D\.X[0-9A-Z]{4}$/.test(name)) return path.join(dir, 'D.X', name);
  if (name.startsWith('D.')) return path.join(dir, 'D.', name);
  return path.join(dir, 'X.', name);
}

/** A bare C./D./X. spool name: letters, digits, '.', '_', '-' only, no '..'. */
export function isSpoolName(name: string): boolean {
  return /^[CDX]\.[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) && !name.includes('..') && name.length <= 255;
}

/** Taylor's job id: `<system>.<work file name without "C.">`. */
export function jobIdOf(system: string, workName: string): string {
  return `${system}.${workName.slice(2)}`;
}

/** Splits a job id back into system and work file name; null if malformed. */
export function parseJobId(id: string): { system: string; workName: string } | null {
  const dot = id.lastIndexOf('.');
  if (dot <= 0 || dot === id.length - 1) return null;
  const system = id.slice(0, dot);
  const workName = `C.${id.slice(dot + 1)}`;
  if (!isSpoolName(workName)) return null;
  try {
    checkSystemName(system);
  } catch {
    return null;
  }
  return { system, workName };
}

/** System directories present in the spool (names not starting with '.'). */
export async function listSpoolSystems(spoolDir: string): Promise<string[]> {
  const ents = await fsp.readdir(spoolDir, { withFileTypes: true }).catch(() => []);
  return ents
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .filter((n) => /^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(n))
    .sort();
}

let tmpCounter = 0;
/** A fresh temporary name in the spool (never a spool file name). */
export const tmpName = (): string => `TM.${process.pid}.${Date.now().toString(36)}.${++tmpCounter}`;

// ---------------------------------------------------------------- sequence allocation

const inProcess = new Map<string, Promise<unknown>>();

/** Runs fn with the spool's sequence lock held (in-process queue plus LCK..SEQ across processes). */
async function withSeqLock<T>(spoolDir: string, fn: () => Promise<T>): Promise<T> {
  const key = path.resolve(spoolDir);
  const prev = inProcess.get(key) ?? Promise.resolve();
  const run = prev.catch(() => undefined).then(async () => {
    await mkdirp(spoolDir, 0o755);
    const r = await waitLock(spoolDir, 'LCK..SEQ', 30_000);
    if (!r.ok) throw new GatewayError(`sequence lock ${r.file} held by pid ${r.busyPid}`, { temporary: true });
    try {
      return await fn();
    } finally {
      await r.lock.release();
    }
  });
  inProcess.set(key, run);
  try {
    return await run;
  } finally {
    if (inProcess.get(key) === run) inProcess.delete(key);
  }
}

/**
 * Allocates `count` new sequence numbers for `system` from `<sys>/SEQF`, skipping any
 * whose D. or D.X file still exists. Safe across concurrent calls and processes.
 */
export async function nextSequences(spoolDir: string, system: string, count = 1): Promise<string[]> {
  const dir = systemDir(spoolDir, system);
  const seqf = path.join(dir, 'SEQF');
  const out = await withSeqLock(spoolDir, async () => {
    await mkdirp(dir, 0o755);
    let cur = (await fsp.readFile(seqf, 'latin1').catch(() => '0000')).trim();
    if (!isSequence(cur)) cur = '0000';
    const out: string[] = [];
    for (let guard = 0; out.length < count; guard++) {
      if (guard > 36 ** 4) throw new GatewayError(`no free sequence numbers for ${system}`, { temporary: true });
      cur = incrementSequence(cur);
      if (cur === '0000') continue;
      if (await exists(path.join(dir, 'D.', `D.${cur}`))) continue;
      if (await exists(path.join(dir, 'D.X', `D.X${cur}`))) continue;
      out.push(cur);
    }
    const tmp = `${seqf}.tmp${process.pid}`;
    await fsp.writeFile(tmp, cur, { mode: 0o600 });
    await fsp.rename(tmp, seqf);
    return out;
  });
  // The fsync outside the lock: concurrent callers (a queue run delivers 8
  // messages at once) no longer queue up behind one another's fsync, and
  // syncing a newer SEQF covers ours as well.
  const fh = await fsp.open(seqf, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  return out;
}

export async function nextSequence(spoolDir: string, system: string): Promise<string> {
  return (await nextSequences(spoolDir, system, 1))[0];
}

/** Whether anything (a file, a directory, a dangling link) has this name. */
export async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}
