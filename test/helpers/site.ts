// Test sites: a temporary config/ + spool/ pair, and helpers to run uugate commands
// as child processes against it, exactly as a user (or Taylor's uuxqt) would.
import { mkdtempSync, mkdirSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { spawn, type SpawnOptions } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const UUGATE = path.join(ROOT, 'bin/uugate');

export interface Site {
  dir: string;
  config: string;
  uucp: string;
  spool: string;
  env: NodeJS.ProcessEnv;
}

export interface SiteOptions {
  conf?: Record<string, string | boolean>;
  users?: string;
  files?: Record<string, string>; // extra files under config/
}

export function makeSite(opts: SiteOptions = {}): Site {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uugate-test-'));
  const config = path.join(dir, 'config');
  const uucp = path.join(dir, 'uucp');
  const spool = path.join(dir, 'spool');
  for (const d of [config, uucp, spool]) mkdirSync(d);
  const conf: Record<string, string | boolean> = {
    hostnames: 'leaf:leaf.example.org',
    visible_name: 'leaf.example.org',
    uucp_name: 'leaf',
    postmaster: 'alice',
    delivery_mode: 'foreground',
    // The daemon started by root needs an account to become: whoever runs the tests.
    gateway_user: os.userInfo().username,
    ...opts.conf,
  };
  const text = Object.entries(conf)
    .map(([k, v]) => (typeof v === 'boolean' ? `${v ? '+' : '-'}${k}` : `${k}=${v}`))
    .join('\n');
  writeFileSync(path.join(config, 'uugate.conf'), `${text}\n`);
  writeFileSync(path.join(config, 'users'), opts.users ?? 'alice mail/alice/\nbob mail/bob/\ncarol mail/carol.mbox\n');
  for (const [name, content] of Object.entries(opts.files ?? {})) writeFileSync(path.join(config, name), content);
  writeFileSync(path.join(uucp, 'sys'), '');
  return { dir, config, uucp, spool, env: { ...process.env, UUGATE_CONFIG: config, UUGATE_UUCP: uucp, UUGATE_SPOOL: spool } };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function run(site: Site, args: string[], input?: string | Buffer, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return runProgram(process.execPath, [UUGATE, ...args], input, { ...site.env, ...env });
}

/** Runs a program (no shell) with `input` on stdin; collects its output. `as` runs it as another account. */
export function runProgram(cmd: string, args: string[], input?: string | Buffer, env: NodeJS.ProcessEnv = process.env, as: Pick<SpawnOptions, 'uid' | 'gid' | 'cwd'> = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...as, env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Contents of every message in a maildir's new/ (sorted by name). */
export function maildirMessages(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(path.join(dir, 'new')).sort();
  } catch {
    return [];
  }
  return names.map((n) => readFileSync(path.join(dir, 'new', n), 'latin1'));
}

/** Replaces the parts of a delivered message that vary per run (ids, dates). */
export function normalise(text: string): string {
  return text
    .replace(/\bid [\w-]+/g, 'id ID')
    .replace(/(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}/g, 'DATE')
    .replace(/(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}/g, 'ASCTIME');
}

/** Location flags for in-process use of a site. */
export const flags = (site: Site): { config: string; uucp: string; spool: string } => ({ config: site.config, uucp: site.uucp, spool: site.spool });

/** A site whose uucp/sys is `sys` (by default it knows the neighbour hub). */
export function siteWithSys(sys = 'system hub\ncommands rmail\n', conf: Record<string, string | boolean> = {}): Site {
  const s = makeSite({ conf });
  writeFileSync(path.join(s.uucp, 'sys'), sys);
  return s;
}

/** A TCP port on `host` that was free a moment ago. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const net = await import('node:net');
  const s = net.createServer().listen(0, host);
  await new Promise((r) => s.once('listening', r));
  const { port } = s.address() as import('node:net').AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** Polls `cond` every 50 ms until it holds or `ms` pass; returns its last value. */
export async function waitFor(cond: () => boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return cond();
}
