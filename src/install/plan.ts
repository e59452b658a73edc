// `uugate install` and `uugate uninstall` as a plan: the state on disk is
// compared with the layout first, and only what differs becomes an action, so
// a second run finds nothing to do and --dry-run can print the plan alone.
// Anything that must be refused (another MTA's sendmail without --replace) is
// found while planning, before the first change.
import { closeSync, existsSync, lstatSync, openSync, readSync, promises as fsp, readFileSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../config/locations.js';
import { GatewayError, EX } from '../util/errors.js';
import { createSystemAccount, lookupAccount, useraddArgs, validAccountName, type Account } from './accounts.js';
import { layoutFor, MARK, SECRET_FILES, SAVED_SUFFIX, UNITS, unitText, WRAPPERS, wrapperText, type Layout } from './layout.js';
import { packageUnreadable } from './access.js';
import { selfSignedAction } from './tls-cert.js';

export interface Action {
  say: string;
  run: () => unknown;
}

export interface Plan {
  layout: Layout;
  actions: Action[];
  /** What the administrator should know but nothing will change (kept files, warnings). */
  notes: string[];
}

export interface InstallOptions {
  root: string;
  user?: string;
  replace?: boolean;
  /** Make a self-signed certificate when none is configured (default yes). */
  tlsCert?: boolean;
}


const octal = (m: number): string => (m & 0o7777).toString(8).padStart(4, '0');

/** A setting as an existing uugate.conf gives it (the last one wins, as in the parser). */
export function confSetting(confFile: string, name: string): string | undefined {
  const text = existsSync(confFile) ? readFileSync(confFile, 'utf8') : '';
  return [...text.matchAll(new RegExp(`^\\s*${name}\\s*=\\s*"?([^"\\s#]*)"?`, 'gm'))].pop()?.[1] || undefined;
}

export const configuredUser = (confFile: string): string | undefined => confSetting(confFile, 'gateway_user');

const lstat = (p: string): Stats | undefined => lstatSync(p, { throwIfNoEntry: false });

/** Written by `uugate install`: a regular file whose second line (first for units) carries the mark. */
export function isOurs(file: string): boolean {
  const st = lstat(file);
  if (!st?.isFile()) return false;
  // Only the head: another MTA's sendmail may be a large binary.
  const head = Buffer.alloc(512);
  const fd = openSync(file, 'r');
  try {
    return head.toString('utf8', 0, readSync(fd, head)).split('\n', 2).some((line) => line.startsWith(MARK));
  } finally {
    closeSync(fd);
  }
}

function describeForeign(file: string): string {
  const st = lstat(file)!;
  return st.isSymbolicLink() ? `a link to ${readlinkSync(file)}` : 'not written by uugate install';
}

/** Every file install owns: wrappers (0755) and units (0644), with their text. */
export function managedFiles(l: Layout, user: string): Array<{ file: string; text: string; mode: number }> {
  return [
    ...WRAPPERS.map((w) => ({ file: path.join(l.root, w.file), text: wrapperText(l, w.command), mode: 0o755 })),
    ...UNITS.map((u) => ({ file: path.join(l.unitDir, u), text: unitText(l, u, user), mode: 0o644 })),
  ];
}

/** Writes as root through a temporary name and a rename, so a command is never seen half-written. */
async function writeAtomically(file: string, text: string, mode: number): Promise<void> {
  const tmp = `${file}.uugate-new`;
  await fsp.writeFile(tmp, text, { mode });
  await fsp.chown(tmp, 0, 0);
  await fsp.chmod(tmp, mode);
  await fsp.rename(tmp, file);
}

export function installPlan(opts: InstallOptions): Plan {
  const l = layoutFor(opts.root);
  const confFile = path.join(l.configDir, 'uugate.conf');
  const already = configuredUser(confFile);
  const user = validAccountName(opts.user ?? already ?? 'uucp');
  if (already && already !== user)
    throw new GatewayError(`${confFile} says gateway_user=${already}; install with --user ${already}, or change that setting first`, { exitCode: EX.USAGE });
  const actions: Action[] = [];
  const notes: string[] = [];
  const refusals: string[] = [];
  const found = lookupAccount(user);
  // The account is created by the first action, so later ones look it up when they run.
  const gateway = (): Account => lookupAccount(user) ?? createSystemAccount(user, l.spoolDir);
  if (!found) actions.push({ say: `useradd ${useraddArgs(user, l.spoolDir).join(' ')}`, run: gateway });

  const ids = (who: 'root' | 'gateway'): { uid: number; gid: number } => (who === 'root' ? { uid: 0, gid: 0 } : gateway());
  const ownerName = (who: 'root' | 'gateway'): string => (who === 'root' ? 'root:root' : `${user} (and its group)`);

  for (const p of ['etc', 'var/spool', 'usr/sbin', 'usr/bin', 'lib/systemd/system']) {
    const d = path.join(l.root, p);
    if (!lstat(d)) actions.push({ say: `mkdir -p ${d}`, run: () => fsp.mkdir(d, { recursive: true, mode: 0o755 }) });
  }

  // Our directories: configuration is root's; the spool is the gateway's, and
  // others may pass through it (0711) only to reach the maildrop (3733: sticky, and setgid so
  // that every drop belongs to the gateway's group, which may read it).
  const dirs: Array<[string, number, 'root' | 'gateway']> = [
    [l.configDir, 0o755, 'root'],
    [l.uucpDir, 0o755, 'root'],
    [l.spoolDir, 0o711, 'gateway'],
    [l.maildrop, 0o3733, 'gateway'],
  ];
  for (const [d, mode, who] of dirs) {
    const st = lstat(d);
    if (st && !st.isDirectory()) refusals.push(`${d} exists and is not a directory; move it away first`);
    else if (!st)
      actions.push({
        say: `mkdir -m ${octal(mode)} ${d}; chown ${ownerName(who)}`,
        run: async () => {
          await fsp.mkdir(d);
          await fsp.chown(d, ids(who).uid, ids(who).gid);
          await fsp.chmod(d, mode);
        },
      });
    else {
      if (st.uid !== (who === 'root' ? 0 : found?.uid)) actions.push({ say: `chown ${ownerName(who)} ${d}`, run: () => fsp.chown(d, ids(who).uid, ids(who).gid) });
      if ((st.mode & 0o7777) !== mode) actions.push({ say: `chmod ${octal(mode)} ${d}`, run: () => fsp.chmod(d, mode) });
    }
  }

  // The package's examples, only where the administrator has no file yet.
  for (const [src, dest] of [[path.join(PACKAGE_ROOT, 'config'), l.configDir], [path.join(PACKAGE_ROOT, 'uucp'), l.uucpDir]]) {
    for (const name of readdirSync(src).sort()) {
      const from = path.join(src, name);
      const to = path.join(dest, name);
      if (!lstat(from)?.isFile() || lstat(to)) continue;
      const secret = SECRET_FILES.has(name);
      const mode = secret ? 0o640 : 0o644;
      const extra = name === 'uugate.conf' && dest === l.configDir ? gatewayUserLines(user) : '';
      actions.push({
        say: `install -m ${octal(mode)} -o root -g ${secret ? `(${user}'s group)` : 'root'} ${from} ${to}${extra ? ` (with gateway_user=${user})` : ''}`,
        run: async () => {
          await fsp.writeFile(to, (await fsp.readFile(from, 'utf8')) + extra, { mode, flag: 'wx' });
          await fsp.chown(to, 0, secret ? gateway().gid : 0);
          await fsp.chmod(to, mode);
        },
      });
    }
  }
  if (lstat(confFile) && !already) actions.push({ say: `add gateway_user=${user} to ${confFile}`, run: () => fsp.appendFile(confFile, gatewayUserLines(user)) });
  if (opts.tlsCert !== false) {
    const cert = selfSignedAction(l, confFile, !!(confSetting(confFile, 'tls_certificate') || confSetting(confFile, 'tls_key')), user, gateway);
    if (cert) actions.push(cert);
  }

  for (const m of managedFiles(l, user)) {
    const st = lstat(m.file);
    const write: Action = { say: `write ${m.file} (mode ${octal(m.mode)})`, run: () => writeAtomically(m.file, m.text, m.mode) };
    if (!st) actions.push(write);
    else if (isOurs(m.file)) {
      if (readFileSync(m.file, 'utf8') !== m.text) actions.push(write);
      else if ((st.mode & 0o7777) !== m.mode || st.uid !== 0) actions.push({ say: `chown root:root ${m.file}; chmod ${octal(m.mode)} ${m.file}`, run: () => writeAtomically(m.file, m.text, m.mode) });
    } else if (!opts.replace) refusals.push(`${m.file} is ${describeForeign(m.file)}: another program's; give --replace to keep it as ${path.basename(m.file)}${SAVED_SUFFIX} (uninstall puts it back)`);
    else if (lstat(m.file + SAVED_SUFFIX)) refusals.push(`${m.file} is not uugate's and ${m.file}${SAVED_SUFFIX} exists already; move one of them away first`);
    else actions.push({ say: `mv ${m.file} ${m.file}${SAVED_SUFFIX}`, run: () => fsp.rename(m.file, m.file + SAVED_SUFFIX) }, write);
  }
  if (refusals.length) throw new GatewayError(`nothing changed:\n  ${refusals.join('\n  ')}`, { exitCode: EX.CANTCREAT });

  const unreadable = packageUnreadable(found ?? { name: user, uid: -1, gid: -1 });
  if (unreadable) notes.push(`warning: ${unreadable}`);
  return { layout: l, actions, notes };
}

const gatewayUserLines = (user: string): string => `\n# The account that handles mail (docs/install.md); set by uugate install.\ngateway_user=${user}\n`;

/** Removes what install wrote and puts back what it replaced; configuration, spool (mail) and the account stay. */
export function uninstallPlan(opts: InstallOptions): Plan {
  const l = layoutFor(opts.root);
  const user = opts.user ?? configuredUser(path.join(l.configDir, 'uugate.conf')) ?? 'uucp';
  const actions: Action[] = [];
  const notes: string[] = [];
  for (const m of managedFiles(l, user)) {
    const saved = m.file + SAVED_SUFFIX;
    const ours = isOurs(m.file);
    if (ours) actions.push({ say: `rm ${m.file}`, run: () => fsp.unlink(m.file) });
    else if (lstat(m.file)) notes.push(`left ${m.file}: ${describeForeign(m.file)}`);
    if (lstat(saved) && (ours || !lstat(m.file))) actions.push({ say: `mv ${saved} ${m.file}`, run: () => fsp.rename(saved, m.file) });
  }
  notes.push(`kept ${l.configDir} (configuration), ${l.spoolDir} (queue and mailboxes) and the account ${user}; remove them by hand if they are no longer wanted`);
  return { layout: l, actions, notes };
}

/** Prints the plan and, unless it is a dry run, carries it out in order. */
export async function applyPlan(plan: Plan, dryRun: boolean, out: (line: string) => void): Promise<void> {
  if (dryRun) out('dry run: nothing is changed');
  if (!plan.actions.length) out(`${plan.layout.root}: nothing to do`);
  for (const a of plan.actions) {
    out(a.say);
    if (!dryRun) await a.run();
  }
  for (const n of plan.notes) out(n);
}
