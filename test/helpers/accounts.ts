// Throwaway Unix accounts for the privilege tests (run as root, as CI does):
// created with useradd, removed with userdel; commands run as them by uid/gid.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, runProgram, type RunResult, type Site } from './site.js';

export interface TestAccount {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export const isRoot = (): boolean => process.getuid?.() === 0;

/** A new account `prefix` + random digits; `home` makes (and owns) a home directory under a 0755 temp dir. */
export function addAccount(prefix: string, opts: { home?: boolean; system?: boolean } = {}): TestAccount {
  const name = `${prefix}${Math.floor(Math.random() * 1e6)}`;
  const home = opts.home ? path.join(homesDir(), name) : '/nonexistent';
  const args = ['-s', '/bin/sh', '-d', home, ...(opts.home ? ['-m'] : ['-M']), ...(opts.system ? ['-r'] : []), '-U', name];
  const r = spawnSync('useradd', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`useradd ${name}: ${r.stderr}`);
  const id = (f: string): number => Number(spawnSync('id', [f, name], { encoding: 'utf8' }).stdout.trim());
  return { name, uid: id('-u'), gid: id('-g'), home };
}

export function removeAccount(a: TestAccount): void {
  spawnSync('userdel', ['-r', '-f', a.name], { stdio: 'ignore' });
  spawnSync('groupdel', [a.name], { stdio: 'ignore' });
}

let homes: string | undefined;
function homesDir(): string {
  if (!homes) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'uugate-homes-'));
    chmodSync(dir, 0o755);
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    homes = dir;
  }
  return homes;
}

/**
 * The uugate program an account can run. The checkout may sit below
 * directories only root may pass (a 0700 /work): then the package (bin, dist,
 * node_modules) is copied to a world-readable temp directory once.
 */
export function programFor(a: TestAccount): string {
  const own = path.join(ROOT, 'bin/uugate');
  if (spawnSync('test', ['-r', own], { uid: a.uid, gid: a.gid }).status === 0) return own;
  copied ??= copyPackage();
  return path.join(copied, 'bin/uugate');
}
let copied: string | undefined;

function copyPackage(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uugate-pkg-'));
  for (const e of ['bin', 'dist', 'node_modules', 'package.json']) cpSync(path.join(ROOT, e), path.join(dir, e), { recursive: true, dereference: true });
  chmodSync(dir, 0o755);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Makes a directory tree readable (and passable) by everyone: a test site's config for its users. */
export function openUp(dir: string): void {
  chmodSync(dir, statSync(dir).mode | 0o755);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) openUp(p);
    else chmodSync(p, statSync(p).mode | 0o444);
  }
}

/** Runs `cmd args` as the account, with a login-like environment plus `env`; `input` on stdin. */
export function runAs(a: TestAccount, cmd: string, args: string[], input?: string | Buffer, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return runProgram(cmd, args, input, { PATH: process.env.PATH, HOME: a.home, USER: a.name, LOGNAME: a.name, ...env }, { uid: a.uid, gid: a.gid, cwd: '/' });
}

/** The Uid: line of /proc/PID/status: real, effective, saved, file-system uid. */
export function procUids(pid: number): number[] {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return (/^Uid:\s+(.*)$/m.exec(status)?.[1] ?? '').split(/\s+/).map(Number);
}

/**
 * Runs uugate as root against `site` from a package `a` can read: a command
 * that becomes the gateway user loads the rest of itself as that user.
 */
export const runReadable = (a: TestAccount, site: Site, args: string[], input?: string | Buffer): Promise<RunResult> =>
  runProgram(process.execPath, [programFor(a), ...args], input, site.env);
