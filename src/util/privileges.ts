// Who a command runs as (docs/privileges.md). Message handling never runs as
// root: a command started by root becomes the gateway user (gateway_user) before
// it touches the spool; the daemon does so once its ports are bound. With
// gateway_user empty the gateway user is whoever runs the command (a one-user
// set-up), which root may only be for commands that run and end, never the daemon.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lookupAccount, type Account } from './accounts.js';
import { configError, GatewayError, EX } from './errors.js';
import { mkdirp } from './durable.js';

export const runningAsRoot = (): boolean => process.geteuid?.() === 0;

/** The gateway account named by gateway_user; exit 78 when it does not exist. */
export async function gatewayAccount(gatewayUser: string): Promise<Account> {
  const a = await lookupAccount(gatewayUser);
  if (!a) throw configError('uugate.conf', `gateway_user "${gatewayUser}": no such account`);
  return a;
}

/**
 * Makes the spool directory and the directories directly in it belong to the
 * gateway user, creating the missing ones (0700). Only those: a walk into a
 * directory the gateway user owns could be sent elsewhere by a symbolic link,
 * and lchown never follows one.
 */
export async function claimSpool(spoolDir: string, subdirs: readonly string[], a: Account): Promise<void> {
  try {
    for (const d of [spoolDir, ...subdirs.map((s) => path.join(spoolDir, s))]) {
      await mkdirp(d);
      const st = await fsp.lstat(d);
      if (st.isDirectory() && st.uid === 0) await fsp.lchown(d, a.uid, a.gid);
    }
  } catch (err) {
    throw new GatewayError(`cannot create spool directories under ${spoolDir} for ${a.name}: ${(err as Error).message}`, { exitCode: EX.CANTCREAT, temporary: true });
  }
}

let invoker: string | undefined;
/** Who started this command, whoever it runs as now (root's sendmail still sends as root). */
export const invokingUser = (): string => invoker ?? os.userInfo().username;

/** Becomes `a` (not root) for good: supplementary groups, group, then user (the order setuid allows). */
export function dropPrivileges(a: Account): void {
  invoker ??= os.userInfo().username;
  // initgroups keeps the account's own supplementary groups (uucp's dialout for modem lines).
  (process as unknown as { initgroups(user: string, group: number): void }).initgroups(a.name, a.gid);
  process.setgid!(a.gid);
  process.setuid!(a.uid);
  // Files are 0600 and directories 0700 whatever umask root had.
  process.umask(0o077);
}
