// Which file names a remote system may use (Taylor's remote-send / remote-receive
// rules): a bare spool name for D. and X. files it sends, else a `~`, `~uucp` or
// absolute path inside the permitted directories, never `..` and never through a
// symbolic link that leads outside them.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { within } from '../../util/paths.js';
import { exists, isSpoolName, spoolFilePath } from './names.js';

// ---------------------------------------------------------------- path safety

export interface PathPolicy {
  spoolDir: string;
  /** The remote system (its spool directory receives D./X. files). */
  system: string;
  /** Public directory, what `~` and `~uucp` expand to. */
  pubdir: string;
  /**
   * Allowed directories in Taylor's `remote-send`/`remote-receive` form: `~` for the
   * public directory, `!dir` to exclude; the last entry that applies wins. Default `['~']`.
   */
  allowed?: string[];
}

export type PathCheck = { ok: true; path: string; spool: boolean } | { ok: false; reason: string };

const refuse = (reason: string): PathCheck => ({ ok: false, reason });

function expandTilde(p: string, pubdir: string): string | null {
  if (p === '~' || p === '~uucp') return pubdir;
  if (p.startsWith('~/')) return path.join(pubdir, p.slice(2));
  if (p.startsWith('~uucp/')) return path.join(pubdir, p.slice(6));
  if (p.startsWith('~')) return null;
  return p;
}

function allowedBy(list: string[], target: string, pubdir: string): boolean {
  let ok = false;
  for (const entry of list) {
    const neg = entry.startsWith('!');
    const dir = expandTilde(neg ? entry.slice(1) : entry, pubdir);
    if (!dir || !path.isAbsolute(dir)) continue;
    if (within(dir, target)) ok = !neg;
  }
  return ok;
}

/**
 * Lexical check of a file name supplied by the remote side: a bare spool name
 * (D./X. files, which go in the remote's spool directory), or `~`/`~uucp`/absolute
 * paths inside the allowed directories. Never `..`, never control characters.
 */
export function checkRemoteName(name: string, policy: PathPolicy, purpose: 'read' | 'write'): PathCheck {
  if (name === '') return refuse('empty file name');
  if (/[\0-\x1f\x7f]/.test(name)) return refuse('control character in file name');
  if (name.length > 1024) return refuse('file name too long');
  if (name.split('/').includes('..')) return refuse('".." in file name');
  if (!name.includes('/')) {
    if (purpose === 'write' && isSpoolName(name) && (name.startsWith('D.') || name.startsWith('X.')))
      return { ok: true, path: spoolFilePath(policy.spoolDir, policy.system, name), spool: true };
    if (name !== '~' && name !== '~uucp') return refuse('not a spool file name or an absolute path');
  }
  const expanded = expandTilde(name, policy.pubdir);
  if (expanded === null) return refuse('only ~ and ~uucp may be used for home directories');
  if (!path.isAbsolute(expanded)) return refuse('relative path');
  const abs = path.resolve(expanded);
  if (!allowedBy(policy.allowed ?? ['~'], abs, policy.pubdir)) return refuse(`${abs} is outside the permitted directories`);
  return { ok: true, path: abs, spool: false };
}

async function realpathOrSelf(p: string): Promise<string> {
  return fsp.realpath(p).catch(() => path.resolve(p));
}

/**
 * Full check of a remote-supplied name against the file system: the lexical rules
 * of checkRemoteName, then no symbolic link may lead outside the allowed
 * directories, and an existing target must be a regular file (no devices, FIFOs,
 * sockets, directories or symlinks). For 'read' the file must exist.
 */
export async function resolveRemotePath(name: string, policy: PathPolicy, purpose: 'read' | 'write'): Promise<PathCheck> {
  const lex = checkRemoteName(name, policy, purpose);
  if (!lex.ok || lex.spool) return lex;
  const target = lex.path;
  // Resolve the deepest existing ancestor through any symlinks.
  let existing = path.dirname(target);
  const tail: string[] = [path.basename(target)];
  while (!(await exists(existing))) {
    tail.unshift(path.basename(existing));
    const up = path.dirname(existing);
    if (up === existing) break;
    existing = up;
  }
  const realParent = await realpathOrSelf(existing);
  const realTarget = path.join(realParent, ...tail);
  const allowed = policy.allowed ?? ['~'];
  const realPub = await realpathOrSelf(policy.pubdir);
  const realAllowed = await Promise.all(
    allowed.map(async (e) => {
      const neg = e.startsWith('!');
      const dir = expandTilde(neg ? e.slice(1) : e, policy.pubdir);
      if (!dir || !path.isAbsolute(dir)) return e;
      return (neg ? '!' : '') + (await realpathOrSelf(dir));
    }),
  );
  if (!allowedBy(realAllowed, realTarget, realPub)) return refuse(`${target} leads outside the permitted directories`);
  let st;
  try {
    st = await fsp.lstat(target);
  } catch {
    if (purpose === 'read') return refuse(`${target} does not exist`);
    return { ok: true, path: realTarget, spool: false };
  }
  if (st.isSymbolicLink()) return refuse(`${target} is a symbolic link`);
  if (st.isDirectory()) return refuse(`${target} is a directory`);
  if (!st.isFile()) return refuse(`${target} is a device, FIFO or socket`);
  return { ok: true, path: realTarget, spool: false };
}
