// Shared by the install tests: a temporary root, `uugate install` and friends
// run as child processes, throwaway accounts, and a listing of a tree.
import { execFileSync, spawnSync } from 'node:child_process';
import { lstatSync, promises as fsp, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { runProgram, UUGATE, type RunResult } from '../helpers/site.js';

/** The install tests change owners and create accounts: they run as root. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error('the install tests run as root (they create accounts and change owners)');
}

const made: string[] = [];

/** A directory others may enter (the installed commands run as other accounts); `removeTempRoots` deletes it. */
export async function tempRoot(prefix = 'uuinst-'): Promise<string> {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  await fsp.chmod(root, 0o755);
  made.push(root);
  return root;
}

export async function removeTempRoots(): Promise<void> {
  await Promise.all(made.splice(0).map((d) => fsp.rm(d, { recursive: true, force: true })));
}

/** `uugate ARGS` from this package, with none of the caller's UUGATE_* settings. */
export function uugate(args: string[], input?: string): Promise<RunResult> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('UUGATE_')));
  return runProgram(process.execPath, [UUGATE, ...args], input, env);
}

/** A name no account has yet; removed (with its group) by `removeAccount`. */
export const throwawayName = (): string => `uut${randomBytes(3).toString('hex')}`;

export function accountExists(name: string): boolean {
  return spawnSync('getent', ['passwd', name]).status === 0;
}

/** -f: a uid freed by another test and given to this account may still have a process running. */
export function removeAccount(name: string): void {
  if (accountExists(name)) execFileSync('userdel', ['-f', name]);
}

export function uidOf(name: string): number {
  return Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
}

/** Every entry under `root`: relative path, type, owner, mode (and link target); a snapshot to compare. */
export function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      const st = lstatSync(p);
      out.push(`${path.relative(root, p)} ${st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : 'f'} ${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)} ${st.isFile() ? st.size : ''} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}
