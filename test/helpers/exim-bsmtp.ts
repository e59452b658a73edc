// A private Debian Exim for BSMTP and maildir2smtp tests: its own config, spool and
// log under a temp dir, run as root (never_users empty, trusted root), delivering
// as `nobody` into directories it owns. Modes:
//   'bsmtp'   every message is appended to out/batch by an appendfile transport
//             with use_bsmtp (what Exim writes for a BSMTP neighbour);
//   'maildir' every message goes to the maildir out/maildir (Envelope-to added);
//             used for `exim4 -bS` reading our batches and as an SMTP server
//             (daemon on loopback) with an RCPT ACL: local part `tempfail`
//             gets 451, `reject` gets 550.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync, chmodSync, chownSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, runProgram } from './site.js';

export const EXIM = '/usr/sbin/exim4';

export interface EximSite {
  dir: string;
  conf: string;
  out: string;
  batch: string;
  maildir: string;
}

export function eximInstalled(): boolean {
  return existsSync(EXIM);
}

function nobody(): { uid: number; gid: number } {
  const id = (flag: string): number => Number(spawnSync('id', [flag, 'nobody'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

export function makeExim(mode: 'bsmtp' | 'maildir', batchMax = 100): EximSite {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uugate-exim-'));
  const out = path.join(dir, 'out');
  chmodSync(dir, 0o755); // the transports run as nobody
  for (const d of ['spool', 'log', 'out']) mkdirSync(path.join(dir, d));
  const n = nobody();
  chownSync(out, n.uid, n.gid);
  const transport =
    mode === 'bsmtp'
      ? `out:\n  driver = appendfile\n  file = ${out}/batch\n  use_bsmtp\n  batch_max = ${batchMax}\n  message_prefix =\n  message_suffix =\n  user = nobody\n  group = nogroup\n`
      : `out:\n  driver = appendfile\n  directory = ${out}/maildir\n  maildir_format\n  create_directory\n  return_path_add\n  envelope_to_add\n  user = nobody\n  group = nogroup\n`;
  const conf = [
    'primary_hostname = exim.test',
    'qualify_domain = exim.test',
    `spool_directory = ${dir}/spool`,
    `log_file_path = ${dir}/log/%slog`,
    'never_users =',
    'trusted_users = root',
    'exim_user = root',
    'exim_group = root',
    'keep_environment =',
    'host_lookup =',
    'rfc1413_hosts =',
    'local_interfaces = 127.0.0.1',
    'acl_smtp_rcpt = rcpt_acl',
    'begin acl',
    'rcpt_acl:',
    '  defer message = temporarily refused for a test\n    local_parts = tempfail',
    '  deny message = refused for a test\n    local_parts = reject',
    '  accept',
    'begin routers',
    'all:\n  driver = accept\n  transport = out',
    'begin transports',
    transport,
  ].join('\n');
  const file = path.join(dir, 'conf');
  writeFileSync(file, `${conf}\n`);
  return { dir, conf: file, out, batch: path.join(out, 'batch'), maildir: path.join(out, 'maildir') };
}

export interface EximRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function exim(site: EximSite, args: string[], input?: string | Buffer): Promise<EximRun> {
  return runProgram(EXIM, ['-C', site.conf, ...args], input);
}

export interface EximDaemon {
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Exim as an SMTP server on 127.0.0.1 (foreground daemon, stopped by its pid). */
export async function startEximDaemon(site: EximSite): Promise<EximDaemon> {
  const port = await freePort();
  const child = spawn(EXIM, ['-C', site.conf, '-bdf', '-oX', String(port), '-oP', path.join(site.dir, 'exim.pid'), '-odi'], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`exim daemon did not start on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
