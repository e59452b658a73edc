// `uugate check`, in the manner of `postfix check` and Taylor's uuchk: walks an
// installed system and lists every problem with how to fix it. Nothing is
// changed. The problems are those that make mail stop or leak: configuration
// others could write or the gateway cannot read, configuration errors
// (file:line), a spool owned by someone else, wrappers and units that are
// missing or run something else, a package the gateway cannot run, a TLS
// certificate or key missing or unreadable, listening addresses another
// program holds, and a status page open to the network without a password
// (or with a password file others may read).
import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync, type Stats } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadMailConfig, type MailConfig } from '../config/mail-config.js';
import { loadUucpConfig } from '../config/uucp/load.js';
import { SpoolLayout } from '../queue/spool.js';
import { pidAlive } from '../util/pid-file.js';
import { parseHostPort } from '../daemon/call-scheduler.js';
import { trustProblem } from '../util/trusted-file.js';
import { isLoopback } from '../util/loopback.js';
import { accountName, lookupAccount, type Account } from './accounts.js';
import { packageUnreadable, unreadableBy } from './access.js';
import { layoutFor, SECRET_FILES } from './layout.js';
import { configuredUser, isOurs, managedFiles } from './plan.js';

export interface CheckOptions {
  root: string;
  config?: string;
  uucp?: string;
  spool?: string;
}

export interface CheckResult {
  problems: string[];
  notes: string[];
}

const lstat = (p: string): Stats | undefined => lstatSync(p, { throwIfNoEntry: false });
const octal = (m: number): string => (m & 0o7777).toString(8).padStart(4, '0');

export async function checkInstall(opts: CheckOptions): Promise<CheckResult> {
  const l = layoutFor(opts.root);
  const configDir = opts.config ?? l.configDir;
  const uucpDir = opts.uucp ?? l.uucpDir;
  const spoolDir = opts.spool ?? l.spoolDir;
  const problems = new Set<string>();
  const notes: string[] = [];
  const add = (p: string): void => void problems.add(p);

  const name = configuredUser(path.join(configDir, 'uugate.conf')) || os.userInfo().username;
  const gateway = lookupAccount(name);
  if (!gateway) add(`gateway_user ${name} has no account (uugate install --user ${name} creates it)`);

  for (const dir of [configDir, uucpDir]) checkConfigDir(dir, gateway, add);
  const cfg = await loadMailConfig(configDir, spoolDir).catch((err: Error) => void add(err.message));
  await loadUucpConfig(uucpDir).then(
    (u) => u.warnings.forEach((w) => add(`${w} (remove or correct the line; uugate ignores it)`)),
    (err: Error) => add(err.message),
  );

  if (gateway) checkSpool(spoolDir, path.join(spoolDir, 'maildrop'), gateway, add);
  for (const m of managedFiles(l, name)) {
    const st = lstat(m.file);
    if (!st) add(`${m.file} is missing (uugate install --root ${l.root} writes it)`);
    else if (!isOurs(m.file))
      add(`${m.file} is ${st.isSymbolicLink() ? `a link to ${path.resolve(path.dirname(m.file), readlinkSync(m.file))}` : 'another program\'s file'}, not uugate's (uugate install --replace keeps it aside and installs uugate's)`);
    else if (readFileSync(m.file, 'utf8') !== m.text) add(`${m.file} runs another uugate or names other paths than ${l.root} (uugate install --root ${l.root} rewrites it)`);
    else if (st.uid !== 0 || st.mode & 0o022) add(`${m.file}: owner/mode ${st.uid}/${octal(st.mode)}, others could change what it runs (chown root ${m.file}; chmod go-w ${m.file})`);
  }
  const unreadable = gateway && packageUnreadable(gateway);
  if (unreadable) add(unreadable);
  if (cfg) checkTlsFiles(cfg, gateway, add);
  if (cfg) checkStatusListen(cfg, add);
  if (cfg) await checkPorts(cfg, spoolDir, add, notes);
  return { problems: [...problems], notes };
}

/** unreadableBy's reason with the fix for a root-owned file: give it to the gateway's group, not to everyone. */
const groupFix = (why: string, file: string, gateway: Account): string => why.replace(/\(chmod o\+r [^)]*\)$/, `(chgrp ${gateway.name} ${file}; chmod g+r ${file})`);

/** Owner and mode of each file (the trust rule the commands apply), readable by the gateway, passwords not readable by all. */
function checkConfigDir(dir: string, gateway: Account | undefined, add: (p: string) => void): void {
  const dst = lstat(dir);
  if (!dst?.isDirectory()) return add(`${dir} is missing or not a directory (uugate install seeds it from the package's examples)`);
  if (gateway) {
    const why = unreadableBy(dir, gateway, 1);
    if (why) add(`${dir}: the gateway user cannot reach it: ${why}`);
  }
  for (const name of readdirSync(dir).sort()) {
    const file = path.join(dir, name);
    const st = lstat(file)!;
    if (st.isDirectory()) continue;
    const problem = trustProblem(file, st, dst);
    if (problem) add(`${file}: ${problem}`);
    const why = gateway && unreadableBy(file, gateway);
    if (why) add(`${file}: the gateway user cannot read it: ${groupFix(why, file, gateway)}`);
    if (SECRET_FILES.has(name) && st.mode & 0o004) add(`${file} holds passwords and everyone may read it (chmod o-r ${file}${gateway ? `; chgrp ${gateway.name} ${file}; chmod g+r ${file}` : ''})`);
  }
}

/** The certificate and key STARTTLS needs: there, safe from others' changes, and readable by the gateway (which reads them again on reload). */
function checkTlsFiles(cfg: MailConfig, gateway: Account | undefined, add: (p: string) => void): void {
  for (const [setting, file] of [['tls_certificate', cfg.tls_certificate], ['tls_key', cfg.tls_key]] as const) {
    if (!file) continue;
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st) add(`${file} (${setting}) is missing: STARTTLS cannot start (put the PEM file there, or remove ${setting} and run uugate install to make a self-signed pair)`);
    else {
      // The server reads them as trusted files (smtp/tls.ts): the same rule as the configuration.
      const problem = trustProblem(file, st, statSync(path.dirname(file)));
      if (problem) add(`${file} (${setting}): ${problem}`);
      const why = gateway && unreadableBy(file, gateway);
      if (why) add(`${file} (${setting}): the gateway user cannot read it: ${groupFix(why, file, gateway)}`);
    }
  }
}

/** The spool: the gateway's, closed to others but for the maildrop (3733); nothing inside owned by anyone else. */
function checkSpool(spool: string, maildrop: string, gateway: Account, add: (p: string) => void): void {
  const st = lstat(spool);
  if (!st?.isDirectory()) return add(`${spool} is missing or not a directory (uugate install creates it)`);
  if (st.uid !== gateway.uid) add(`${spool} belongs to ${accountName(st.uid)}, not the gateway user ${gateway.name} (chown ${gateway.name}: ${spool})`);
  if (st.mode & 0o066) add(`${spool}: mode ${octal(st.mode)} lets others list or change the queue (chmod 0711 ${spool})`);
  const md = lstat(maildrop);
  if (!md?.isDirectory()) add(`${maildrop} is missing or not a directory (uugate install creates it)`);
  else if (md.uid !== gateway.uid || (md.mode & 0o7777) !== 0o3733)
    add(`${maildrop}: owner/mode ${accountName(md.uid)}/${octal(md.mode)}, wants ${gateway.name}/3733 so that anyone may drop mail but none may read another's (chown ${gateway.name}: ${maildrop}; chmod 3733 ${maildrop})`);
  // Drops in the maildrop belong to their senders; everything else to the gateway.
  const foreign: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (p === maildrop) continue;
      const s = lstat(p);
      if (s && s.uid !== gateway.uid) foreign.push(`${p} (${accountName(s.uid)})`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(spool);
  if (foreign.length)
    add(`${foreign.length} file(s) in ${spool} belong to another user, e.g. ${foreign.slice(0, 3).join(', ')}; the gateway cannot handle them (find ${spool} -path ${maildrop} -prune -o -exec chown ${gateway.name}: {} +)`);
}

/** status_listen off loopback needs status_password_file (else the daemon serves nothing there); the file exists and only the gateway may read it. */
function checkStatusListen(cfg: MailConfig, add: (p: string) => void): void {
  const open = cfg.status_listen.filter((a) => !isLoopback(a.host)).map((a) => `${a.host}:${a.port}`);
  if (!cfg.status_password_file) {
    if (open.length) add(`status_listen ${open.join(', ')} is not loopback and status_password_file is not set: the daemon will not serve the status page and metrics there (set status_password_file, or listen on 127.0.0.1)`);
    return;
  }
  const file = path.resolve(cfg.configDir, cfg.status_password_file);
  const st = lstat(file);
  if (!st) add(`${file} (status_password_file) is missing: the status listener will not start (write user:password lines into it)`);
  else if (st.mode & 0o004) add(`${file} (status_password_file) holds passwords and everyone may read it (chmod o-r ${file})`);
}

/** Each address the daemon would listen on is free now (unless our daemon holds it). */
async function checkPorts(cfg: MailConfig, spoolDir: string, add: (p: string) => void, notes: string[]): Promise<void> {
  let pid = 0;
  try {
    pid = Number(readFileSync(new SpoolLayout(spoolDir).pidFile, 'utf8').trim());
  } catch {
    // no pid file: no daemon
  }
  if (pid > 0 && pidAlive(pid)) return void notes.push(`the daemon is running (pid ${pid}); the addresses it listens on were not tried`);
  const wanted = cfg.smtp_listen.map((a) => ({ ...a, setting: 'smtp_listen' }));
  if (cfg.uucp_listen) wanted.push({ ...parseHostPort(cfg.uucp_listen), setting: 'uucp_listen' });
  for (const w of wanted) {
    const where = `${w.host.includes(':') ? `[${w.host}]` : w.host}:${w.port}`;
    const code = await tryListen(w.host, w.port);
    if (code === 'EADDRINUSE') add(`${where} (${w.setting}) is taken by another program (ss -ltnp 'sport = :${w.port}' names it; stop it or change ${w.setting})`);
    else if (code === 'EADDRNOTAVAIL') add(`${where} (${w.setting}) is not an address of this host (correct ${w.setting})`);
    else if (code === 'EACCES') notes.push(`${where} (${w.setting}) could not be tried: ports below 1024 need root`);
    else if (code) add(`${where} (${w.setting}) cannot be listened on: ${code}`);
  }
}

function tryListen(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}
