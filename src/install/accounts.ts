// The gateway's system account: looked up with getent (passwd and NSS alike),
// created with useradd when missing. Node has no getpwnam of its own.
import { execFileSync, spawnSync } from 'node:child_process';
import { GatewayError, EX, usageError } from '../util/errors.js';

export interface Account {
  name: string;
  uid: number;
  gid: number;
}

// Debian's adduser rule for names, without the trailing `$` of machine accounts.
const NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

export function validAccountName(name: string): string {
  if (!NAME.test(name)) throw usageError(`"${name}" is not a valid account name (lower-case letters, digits, _ and -)`);
  return name;
}

export function lookupAccount(name: string): Account | undefined {
  const r = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const [, , uid, gid] = r.stdout.trim().split(':');
  return { name, uid: Number(uid), gid: Number(gid) };
}

/** The account's name for a uid, or the number when it has none. */
export function accountName(uid: number): string {
  const r = spawnSync('getent', ['passwd', String(uid)], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split(':')[0] : String(uid);
}

/** useradd's command line for a system account whose home is the spool; it logs in nowhere. */
export const useraddArgs = (name: string, home: string): string[] => ['--system', '--user-group', '--no-create-home', '--home-dir', home, '--shell', '/usr/sbin/nologin', name];

export function createSystemAccount(name: string, home: string): Account {
  try {
    execFileSync('useradd', useraddArgs(name, home), { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new GatewayError(`useradd ${name} failed: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`, { exitCode: EX.OSERR });
  }
  const a = lookupAccount(name);
  if (!a) throw new GatewayError(`useradd ${name} succeeded but getent does not know the account`, { exitCode: EX.OSERR });
  return a;
}
