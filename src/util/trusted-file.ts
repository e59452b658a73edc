// Configuration is obeyed (aliases run programs, uucp/sys grants commands), so
// only someone who could already act as the gateway may write it; this is
// Postfix's and qmail's rule. A configuration file is trusted when:
//   - it is a regular file owned by root or by the user uugate runs as (euid);
//   - neither its group nor others may write it (mode & 022 == 0);
//   - its directory is owned the same way and not writable by group or others
//     (whoever may write the directory can put another file in its place).
// A user's own .forward (in their maildir) may also belong to the owner of
// that directory: it redirects only their own mail, and programs from it are
// refused anyway. It still may not be writable by group or others.
// A refusal reads `FILE: owner/mode UID/MODE is unsafe: why (how to fix)` and
// is an EX_CONFIG error that is also temporary (4.3.0): commands exit 78, and
// mail whose routing needs the file waits in the queue until it is fixed.
import { constants, promises as fsp, statSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { configError, EX, GatewayError } from './errors.js';

export interface OwnerMode {
  mode: number;
  uid: number;
}

export interface TrustOptions {
  /** The owner of the file's directory may own the file, and the directory's owner is not checked (a user's .forward). */
  userFile?: boolean;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

/** uids that may own configuration: root and the user running uugate. */
function trustedUids(): number[] {
  const euid = process.geteuid?.() ?? 0;
  return euid === 0 ? [0] : [0, euid];
}

function ownerHint(uids: number[], dirOwner?: { uid: number; dir: string }): string {
  const who = ['root'];
  if (uids.length > 1) who.push(`uid ${uids[1]} (the user uugate runs as)`);
  if (dirOwner && !uids.includes(dirOwner.uid)) who.push(`uid ${dirOwner.uid} (the owner of ${dirOwner.dir})`);
  return `only ${who.join(' or ')} may own it`;
}

/** Why `file` (stat `st`, its directory's stat `dir`) may not be trusted, or null. */
export function trustProblem(file: string, st: OwnerMode, dir: OwnerMode, opts: TrustOptions = {}): string | null {
  const uids = trustedUids();
  const dirName = path.dirname(file);
  const unsafe = (what: string, s: OwnerMode, why: string): string => `${what}owner/mode ${s.uid}/${octal(s.mode)} is unsafe: ${why}`;
  if ((st.mode & S_IFMT) !== S_IFREG) return unsafe('', st, 'not a regular file');
  if (st.mode & 0o022) return unsafe('', st, `writable by group or others (chmod go-w ${file})`);
  const owners = opts.userFile ? [...uids, dir.uid] : uids;
  if (!owners.includes(st.uid))
    return unsafe('', st, `owned by uid ${st.uid}; ${ownerHint(uids, opts.userFile ? { uid: dir.uid, dir: dirName } : undefined)} (chown root ${file})`);
  if (dir.mode & 0o022) return unsafe(`directory ${dirName} `, dir, `writable by group or others (chmod go-w ${dirName})`);
  if (!opts.userFile && !uids.includes(dir.uid)) return unsafe(`directory ${dirName} `, dir, `owned by uid ${dir.uid}; ${ownerHint(uids)} (chown root ${dirName})`);
  return null;
}

/** The refusal for an untrusted file: exit 78, and temporary so that mail waits. */
export const unsafeFileError = (file: string, problem: string): GatewayError =>
  new GatewayError(problem, { exitCode: EX.CONFIG, temporary: true, status: '4.3.0', where: file });

/** Throws unless `file` (already stat'ed as `st`) may be trusted; stats its directory itself. */
export function assertTrustedSync(file: string, st: OwnerMode, opts: TrustOptions = {}): void {
  let dir: OwnerMode;
  try {
    dir = statSync(path.dirname(file));
  } catch (err) {
    throw configError(file, `cannot stat its directory: ${(err as Error).message}`);
  }
  const problem = trustProblem(file, st, dir, opts);
  if (problem) throw unsafeFileError(file, problem);
}

/**
 * Reads a configuration file, or undefined when it does not exist. The mode is
 * checked on the open descriptor, so the text read is the file that was checked.
 */
export async function readTrustedFile(file: string, opts: TrustOptions = {}): Promise<string | undefined> {
  let fh: FileHandle;
  try {
    // O_NONBLOCK: a FIFO in a configuration's place must not hang us before the check refuses it.
    fh = await fsp.open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw configError(file, `cannot read: ${(err as Error).message}`);
  }
  try {
    const [st, dir] = await Promise.all([fh.stat(), fsp.stat(path.dirname(file))]);
    const problem = trustProblem(file, st, dir, opts);
    if (problem) throw unsafeFileError(file, problem);
    return await fh.readFile('utf8');
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw configError(file, `cannot read: ${(err as Error).message}`);
  } finally {
    await fh.close();
  }
}
