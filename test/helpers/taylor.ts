// Sites for UUCP session tests:
// - ourEnv(): an in-process SessionEnv (uucp/ config, UUCP spool, pubdir, lock
//   directory in a temp dir) for two of our sessions talking over a duplex pair;
// - taylorSite(): a private Taylor UUCP 1.07 installation (its own -I config,
//   spool, pubdir, lockdir, logs) whose programs run as root and drop to user
//   uucp, so the whole tree is handed to uucp before Taylor runs;
// - ourUucico(): our side as a gateway site (makeSite) with a uucico context,
//   for the interop tests against Taylor;
// - socat pty pairs and helpers to run Taylor's programs, have Taylor answer
//   on a TCP port or call our listener.
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fsp, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Duplex } from 'node:stream';
import { loadGateway } from '../../src/runtime/gateway.js';
import { loadUucpConfig } from '../../src/config/uucp/load.js';
import type { SessionEnv, SessionResult } from '../../src/uucp/session.js';
import { Trace } from '../../src/uucp/trace.js';
import { listenTcp, type UucicoContext } from '../../src/uucp/uucico.js';
import { uucicoContext } from '../../src/inject/uucico.js';
import { makeSite, type Site } from './site.js';

export const UUCICO = '/usr/sbin/uucico';
export const UUX = '/usr/bin/uux';
export const UUCP = '/usr/bin/uucp';
export const UUXQT = '/usr/sbin/uuxqt';
export const SOCAT = '/usr/bin/socat';

export function taylorInstalled(): string[] {
  return [UUCICO, UUX, UUCP, UUXQT, SOCAT].filter((p) => !existsSync(p));
}

/** For test.before: Taylor and socat are there (never skip silently), and we run as root unless `asRoot` is false. */
export function requireTaylor(asRoot = true): void {
  const missing = taylorInstalled();
  if (missing.length) throw new Error(`Taylor UUCP / socat missing: ${missing.join(', ')} (run test/install-peers.sh)`);
  if (asRoot && process.getuid?.() !== 0) throw new Error('the Taylor interop tests run as root (Taylor drops to user uucp)');
}

export async function tempRoot(prefix: string): Promise<string> {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  await fsp.chmod(root, 0o755);
  return root;
}

// ---------------------------------------------------------------- our side, in-process

export interface OurSite {
  root: string;
  uucpDir: string;
  spool: string;
  pub: string;
  logs: string[];
  env: SessionEnv;
}

/** Our side: `sys` (and optional `passwd`/`port`) written to uucp/, spool and pubdir created. */
export async function ourEnv(
  name: string,
  files: { sys: string; passwd?: string; port?: string },
  extra: Partial<SessionEnv> = {},
): Promise<OurSite> {
  const root = await tempRoot(`uusess-${name}-`);
  const uucpDir = path.join(root, 'uucp');
  const spool = path.join(root, 'spool', 'uucp');
  const pub = path.join(root, 'pub');
  for (const d of [uucpDir, spool, pub]) await fsp.mkdir(d, { recursive: true });
  await fsp.writeFile(path.join(uucpDir, 'sys'), files.sys);
  if (files.passwd) await fsp.writeFile(path.join(uucpDir, 'passwd'), files.passwd);
  if (files.port) await fsp.writeFile(path.join(uucpDir, 'port'), files.port);
  const logs: string[] = [];
  const env: SessionEnv = {
    uucp: await loadUucpConfig(uucpDir),
    localName: name,
    spoolDir: spool,
    lockDir: spool,
    pubdir: pub,
    trace: new Trace(),
    log: (m) => logs.push(m),
    timeouts: { handshakeMs: 10_000, hangupMs: 2_000 },
    ...extra,
  };
  return { root, uucpDir, spool, pub, logs, env };
}

/** Two in-memory streams joined back to back; `filter` may rewrite or drop what a → b carries. */
export function duplexPair(filter?: (chunk: Buffer) => Buffer | null): [Duplex, Duplex] {
  // eslint-disable-next-line prefer-const
  let b: Duplex;
  const a: Duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _e, cb) {
      const out = filter ? filter(chunk) : chunk;
      if (out && out.length && !b.destroyed) b.push(out);
      cb();
    },
    final(cb) {
      b.push(null);
      cb();
    },
  });
  b = new Duplex({
    read() {},
    write(chunk: Buffer, _e, cb) {
      if (!a.destroyed) a.push(chunk);
      cb();
    },
    final(cb) {
      a.push(null);
      cb();
    },
  });
  return [a, b];
}

/** Our side as a gateway site: uucp/sys (and passwd, port) as given, a uucico context; its log lines are also kept in `logs`. */
export async function ourUucico(sys: string, extra: { passwd?: string; port?: string } = {}): Promise<{ site: Site; ctx: UucicoContext; logs: string[] }> {
  const site = makeSite();
  writeFileSync(path.join(site.uucp, 'sys'), sys);
  if (extra.passwd) writeFileSync(path.join(site.uucp, 'passwd'), extra.passwd);
  if (extra.port) writeFileSync(path.join(site.uucp, 'port'), extra.port);
  const gw = await loadGateway({ config: site.config, uucp: site.uucp, spool: site.spool });
  const ctx = await uucicoContext(gw, { timeouts: { handshakeMs: 30_000, hangupMs: 3_000 } });
  const logs: string[] = [];
  const log = ctx.log;
  ctx.log = (m) => {
    logs.push(m);
    log(m);
  };
  return { site, ctx, logs };
}

/** The UUCP spool of a gateway site. */
export const uucpSpool = (s: Site): string => path.join(s.spool, 'uucp');

// ---------------------------------------------------------------- Taylor

export interface TaylorSite {
  root: string;
  name: string;
  conf: string;
  spool: string;
  pub: string;
  bin: string;
  /** Where the capture rmail writes (one file per run: out.<n>). */
  outDir: string;
}

/**
 * A Taylor site named `name` under `root/<name>`: config, sys/port/passwd/call
 * as given, a capture `rmail` in its command-path (writes "ARGS: [a] [b]\n" and
 * its stdin to outDir/out.<pid>).
 */
export async function taylorSite(root: string, name: string, files: { sys: string; port?: string; passwd?: string; call?: string }): Promise<TaylorSite> {
  const dir = path.join(root, name);
  const s: TaylorSite = { root: dir, name, conf: path.join(dir, 'config'), spool: path.join(dir, 'spool'), pub: path.join(dir, 'pub'), bin: path.join(dir, 'bin'), outDir: path.join(dir, 'out') };
  for (const d of ['spool', 'lock', 'pub', 'bin', 'out']) await fsp.mkdir(path.join(dir, d), { recursive: true });
  // Taylor only receives files for remote requests into world-writable directories.
  await fsp.chmod(s.pub, 0o777);
  const list = ['sys', 'port', 'dial', 'call', 'passwd'];
  await fsp.writeFile(s.conf, [
    `nodename ${name}`, `spool ${s.spool}`, `pubdir ${s.pub}`, `lockdir ${dir}/lock`,
    `logfile ${dir}/log`, `statfile ${dir}/stats`, `debugfile ${dir}/debug`,
    ...list.map((f) => `${f === 'sys' ? 'sysfile' : `${f}file`} ${dir}/${f}`),
    'hdb-files false', 'v2-files false', 'run-uuxqt never', '',
  ].join('\n'));
  for (const f of list) await fsp.writeFile(path.join(dir, f), (files as Record<string, string | undefined>)[f] ?? '');
  await fsp.writeFile(path.join(s.bin, 'rmail'), `#!/bin/sh\n{ printf 'ARGS:'; for a in "$@"; do printf ' [%s]' "$a"; done; echo; /bin/cat; } > ${s.outDir}/out.$$\n`, { mode: 0o755 });
  return s;
}

/** Taylor drops to user uucp: hand it the tree (and make it reachable). */
export function giveToUucp(...dirs: string[]): void {
  for (const d of dirs) execFileSync('chown', ['-R', 'uucp', d]);
}

export async function taylorLog(s: TaylorSite): Promise<string> {
  return fsp.readFile(path.join(s.root, 'log'), 'latin1').catch(() => '');
}

export async function rmailRuns(s: TaylorSite): Promise<Buffer[]> {
  const names = (await fsp.readdir(s.outDir)).sort();
  return Promise.all(names.map((n) => fsp.readFile(path.join(s.outDir, n))));
}

export function runTaylor(prog: string, args: string[], input?: string | Buffer, timeoutMs = 120_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(prog, args, { input, timeout: timeoutMs, encoding: 'latin1' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a Taylor program in the background; resolves with its exit code. */
export function spawnTaylor(prog: string, args: string[]): { child: ChildProcess; done: Promise<number | null> } {
  const child = spawn(prog, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  void done.then((c) => {
    if (c) process.stderr.write(`${prog} exited ${c}: ${err}\n`);
  });
  return { child, done };
}

/** A socat pty pair at root/ptyA and root/ptyB (mode 0666); resolves once both links exist. */
export async function ptyPair(root: string): Promise<{ a: string; b: string; stop: () => Promise<void> }> {
  const a = path.join(root, 'ptyA');
  const b = path.join(root, 'ptyB');
  const child = spawn(SOCAT, [`pty,raw,echo=0,link=${a},perm=0666`, `pty,raw,echo=0,link=${b},perm=0666`], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(existsSync(a) && existsSync(b)); i++) await new Promise((r) => setTimeout(r, 50));
  if (!(existsSync(a) && existsSync(b))) throw new Error('socat did not create the pty pair');
  return {
    a,
    b,
    stop: async () => {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('close', r));
        child.kill('SIGTERM');
        await gone;
      }
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until something listens on loopback `port`. */
export async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (runTaylor('/usr/bin/ss', ['-ltn', `sport = :${port}`]).stdout.includes(`:${port}`)) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${port}`);
}

/** Taylor answering one TCP call on a loopback port (socat + uucico -l). */
export async function taylorListens(t: TaylorSite, port: number): Promise<ReturnType<typeof spawnTaylor>> {
  const p = spawnTaylor(SOCAT, [`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`, `EXEC:${UUCICO} -I ${t.conf} -D -q -l,nofork`]);
  await waitListening(port);
  return p;
}

/** Taylor (site `t`) calls `system` once at our TCP listener on `port`: its exit code and our session. */
export async function taylorCallsUs(ctx: UucicoContext, t: TaylorSite, port: number, system = 'leaf'): Promise<{ code: number | null; session?: SessionResult }> {
  const sessions: SessionResult[] = [];
  const server = await listenTcp(ctx, { port, onSession: (r) => sessions.push(r) });
  try {
    const code = await spawnTaylor(UUCICO, ['-I', t.conf, '-D', '-q', '-S', system]).done;
    for (let i = 0; i < 100 && sessions.length === 0; i++) await sleep(50);
    return { code, session: sessions[0] };
  } finally {
    server.close();
  }
}
