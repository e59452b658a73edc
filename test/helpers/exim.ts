// A private Exim (Debian's exim4 binary) for tests and benchmarks: its own
// configuration, spool and log directories under a temporary directory, an SMTP
// daemon on a high loopback port (`-bdf -oX PORT -oP pidfile`, foreground, so the
// test owns the process and kills it at the end). It runs as root (tests do):
// exim_user/exim_group root, `never_users =`, `trusted_users = root`.
//
// Every recipient domain is accepted and delivered (as nobody) into one maildir,
// `<dir>/out/maildir`, each file with an Envelope-to: header naming its recipient.
// Options:
//   queueOnly        accept and queue only (queue_only): nothing is delivered;
//                    queuedCount() counts the spool's -H files
//   deferLocalParts  RCPT of these local parts is answered `451 4.2.1 ...` while
//                    deferring is on (setDefer(); on at start), then accepted
//   rejectLocalParts RCPT of these local parts is answered `550 5.1.1 ...`
//   maxConnections   smtp_accept_max (default 200; Exim's own default is 20)
//   tls              STARTTLS with this certificate and key (none by default)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './site.js';

export const EXIM_BIN = '/usr/sbin/exim4';

export interface EximOptions {
  queueOnly?: boolean;
  deferLocalParts?: string[];
  rejectLocalParts?: string[];
  maxConnections?: number;
  host?: string;
  port?: number;
  /** Extra main-section lines. */
  extraMain?: string[];
  /** Offer STARTTLS with this certificate and key (PEM files). */
  tls?: { cert: string; key: string };
}

export interface EximInstance {
  dir: string;
  conf: string;
  host: string;
  port: number;
  pid: number;
  maildir: string;
  spool: string;
  mainlog: string;
  /** Turns the deferral of deferLocalParts on or off (a flag file the ACL checks). */
  setDefer(on: boolean): void;
  /** Delivered messages (maildir new/), sorted by name, as latin1 strings. */
  messages(): string[];
  /** Messages waiting in Exim's queue (queue_only). */
  queuedCount(): number;
  mainlogText(): string;
  stop(): Promise<void>;
}

export function eximAvailable(): boolean {
  return existsSync(EXIM_BIN);
}


function userIds(name: string): { uid: number; gid: number } {
  const id = (flag: string): number => Number(spawnSync('id', [flag, name], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

export function eximConfig(dir: string, opts: EximOptions, host: string): string {
  const out = path.join(dir, 'out');
  const flag = path.join(dir, 'defer-on');
  const list = (xs: string[]): string => xs.map((x) => x.replace(/:/g, '::')).join(' : ');
  const acl = ['rcpt_acl:'];
  if (opts.deferLocalParts?.length)
    acl.push(`  defer message = 4.2.1 deferred for a test\n    local_parts = ${list(opts.deferLocalParts)}\n    condition = \${if exists{${flag}}}`);
  if (opts.rejectLocalParts?.length) acl.push(`  deny message = 5.1.1 refused for a test\n    local_parts = ${list(opts.rejectLocalParts)}`);
  acl.push('  accept');
  return [
    'primary_hostname = exim.test',
    'qualify_domain = exim.test',
    `spool_directory = ${dir}/spool`,
    `log_file_path = ${dir}/log/%slog`,
    `pid_file_path = ${dir}/exim.pid`,
    'exim_user = root',
    'exim_group = root',
    'never_users =',
    'trusted_users = root',
    'keep_environment =',
    'host_lookup =',
    'rfc1413_hosts =',
    ...(opts.tls ? ['tls_advertise_hosts = *', `tls_certificate = ${opts.tls.cert}`, `tls_privatekey = ${opts.tls.key}`] : ['tls_advertise_hosts =']),
    `local_interfaces = <; ${host}`,
    `smtp_accept_max = ${opts.maxConnections ?? 200}`,
    'smtp_accept_max_per_host =',
    'smtp_accept_queue_per_connection = 0',
    'smtp_connect_backlog = 128',
    'message_size_limit = 50M',
    'acl_smtp_rcpt = rcpt_acl',
    ...(opts.queueOnly ? ['queue_only = true', 'queue_run_in_order = false'] : []),
    ...(opts.extraMain ?? []),
    'begin acl',
    ...acl,
    'begin routers',
    'all:\n  driver = accept\n  transport = maildir',
    'begin transports',
    `maildir:\n  driver = appendfile\n  directory = ${out}/maildir\n  maildir_format\n  create_directory\n  envelope_to_add\n  user = nobody\n  group = nogroup\n  mode = 0644`,
    'begin retry',
    '*  *  F,1m,10s',
    '',
  ].join('\n');
}

async function waitForPort(host: string, port: number, child: ChildProcess, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`exim did not start listening on ${host}:${port} (exit ${child.exitCode})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts a private Exim daemon; call stop() at the end (tests: t.teardown). */
export async function startExim(opts: EximOptions = {}): Promise<EximInstance> {
  if (!eximAvailable()) throw new Error(`${EXIM_BIN} is missing (install exim4-daemon-light; test/install-peers.sh does)`);
  const host = opts.host ?? '127.0.0.1';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uugate-exim-'));
  chmodSync(dir, 0o755); // the maildir transport runs as nobody
  for (const d of ['spool', 'log', 'out']) mkdirSync(path.join(dir, d));
  const nobody = userIds('nobody');
  chownSync(path.join(dir, 'out'), nobody.uid, nobody.gid);
  const conf = path.join(dir, 'exim.conf');
  writeFileSync(conf, eximConfig(dir, opts, host));
  const flag = path.join(dir, 'defer-on');
  writeFileSync(flag, '');
  const port = opts.port ?? (await freePort(host));
  const child = spawn(EXIM_BIN, ['-C', conf, '-bdf', '-oX', String(port), '-oP', path.join(dir, 'exim.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  try {
    await waitForPort(host, port, child);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}: ${stderr}`);
  }
  const maildir = path.join(dir, 'out', 'maildir');
  const mainlog = path.join(dir, 'log', 'mainlog');
  return {
    dir,
    conf,
    host,
    port,
    pid: child.pid!,
    maildir,
    spool: path.join(dir, 'spool'),
    mainlog,
    setDefer(on: boolean): void {
      if (on) writeFileSync(flag, '');
      else rmSync(flag, { force: true });
    },
    messages(): string[] {
      const d = path.join(maildir, 'new');
      if (!existsSync(d)) return [];
      return readdirSync(d)
        .sort()
        .map((n) => readFileSync(path.join(d, n), 'latin1'));
    },
    queuedCount(): number {
      const input = path.join(dir, 'spool', 'input');
      if (!existsSync(input)) return 0;
      const count = (p: string): number =>
        readdirSync(p, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? count(path.join(p, e.name)) : e.name.endsWith('-H') ? 1 : 0), 0);
      return count(input);
    },
    mainlogText(): string {
      return existsSync(mainlog) ? readFileSync(mainlog, 'utf8') : '';
    },
    stop(): Promise<void> {
      return new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.kill('SIGTERM');
      });
    },
  };
}
