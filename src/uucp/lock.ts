// HDB/Taylor lock files: `LCK..<system>` and `LCK..<device basename>` in a lock
// directory, holding the owner's PID as `%10d\n`.
//
// Taking a lock is util/pid-file.ts's: the PID written to a private temp file and
// linked to the lock name; a lock whose owner is dead (or whose contents are
// unreadable) is stale, removed, and the lock tried again.
//
// Every lock taken here is registered and released on process 'exit', and on
// SIGTERM and SIGINT when nobody else handles them (the signal is then
// re-raised). A process that handles the signal itself (the daemon) keeps its
// locks until its calls end or it exits.
import { promises as fsp, readFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { GatewayError, EX } from '../util/errors.js';
import { linkPidFile, writePrivate } from '../util/pid-file.js';

/** The HDB lock file contents for a PID: right-justified in 10 columns plus newline. */
export function lockFileContent(pid: number): string {
  return `${String(pid).padStart(10, ' ')}\n`;
}

/** Parses a lock file: HDB ASCII (`%10d\n`) or a V2 4-byte binary PID. Null if unreadable. */
export function parseLockPid(buf: Buffer): number | null {
  const text = buf.toString('latin1');
  const m = /^\s*(\d+)\s*$/.exec(text);
  if (m) return Number.parseInt(m[1], 10);
  if (buf.length === 4) return buf.readInt32LE(0);
  return null;
}

/** Lock file name for a system. `short` keeps 8 characters as on 14-character file systems. */
export function systemLockName(system: string, short = false): string {
  return `LCK..${short ? system.slice(0, 8) : system}`;
}

/** Lock file name for a device path (its basename), or a port's `lockname`. */
export function deviceLockName(device: string): string {
  return `LCK..${path.basename(device)}`;
}

export interface LockHandle {
  /** Absolute lock file path ('' when no file could be written, see `warning`). */
  readonly file: string;
  readonly pid: number;
  release(): Promise<void>;
  releaseSync(): void;
}

export type LockResult =
  | { ok: true; lock: LockHandle; warning?: string }
  | { ok: false; busyPid: number; file: string };

export interface LockOptions {
  /** PID to record (default process.pid). */
  pid?: number;
  /**
   * The caller holds another lock (e.g. flock on the device) that still protects the
   * resource: a lock directory we cannot write then gives a warning, not an error.
   */
  flockProtects?: boolean;
  /** How many times to remove a stale lock and retry (default 5). */
  attempts?: number;
}

// ---------------------------------------------------------------- registry

const held = new Set<LockHandle>();
let hooksInstalled = false;

function releaseAllSync(): void {
  for (const h of [...held]) h.releaseSync();
}

function onSignal(sig: NodeJS.Signals): void {
  // Someone else handles the signal (the daemon letting its calls finish, a
  // listener closing): the calls still hold their locks and release them as
  // they end; 'exit' releases whatever is left. Releasing here would let a
  // call in its grace period run without its LCK files.
  if (process.listenerCount(sig) > 1) return;
  // We are the only listener: behave as if nobody had caught the signal.
  releaseAllSync();
  process.removeListener(sig, onSignal);
  process.kill(process.pid, sig);
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', releaseAllSync);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Locks currently held by this process (for diagnostics and tests). */
export function heldLocks(): string[] {
  return [...held].map((h) => h.file);
}

/** Releases every lock this process holds. */
export async function releaseAll(): Promise<void> {
  for (const h of [...held]) await h.release();
}

function makeHandle(file: string, pid: number): LockHandle {
  let released = false;
  const ours = (buf: Buffer | undefined): boolean => buf !== undefined && parseLockPid(buf) === pid;
  const h: LockHandle = {
    file,
    pid,
    async release() {
      if (released) return;
      released = true;
      held.delete(h);
      if (!file) return;
      const buf = await fsp.readFile(file).catch(() => undefined);
      // Only remove the file if it is still ours: never someone else's fresh lock.
      if (ours(buf)) await fsp.unlink(file).catch(() => undefined);
    },
    releaseSync() {
      if (released) return;
      released = true;
      held.delete(h);
      if (!file) return;
      let buf: Buffer | undefined;
      try {
        buf = readFileSync(file);
      } catch {
        buf = undefined;
      }
      if (ours(buf)) {
        try {
          unlinkSync(file);
        } catch {
          /* already gone */
        }
      }
    },
  };
  return h;
}

// ---------------------------------------------------------------- locking

let tmpCounter = 0;

function unwritable(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Takes the lock file `lockDir/name`. Returns `{ ok: false, busyPid }` when a live
 * process holds it; throws a temporary GatewayError (EX_CANTCREAT) when the lock
 * directory cannot be written, unless `flockProtects`, in which case it returns an
 * empty handle and a warning.
 */
export async function acquireLock(lockDir: string, name: string, opts: LockOptions = {}): Promise<LockResult> {
  if (name.includes('/') || name === '' || name === '.' || name === '..')
    throw new GatewayError(`bad lock name "${name}"`, { exitCode: EX.SOFTWARE });
  const pid = opts.pid ?? process.pid;
  const file = path.join(lockDir, name);
  const tmp = path.join(lockDir, `LTMP.${process.pid}.${++tmpCounter}`);
  try {
    await writePrivate(tmp, lockFileContent(pid), 0o444);
  } catch (err) {
    const msg = `cannot write lock file in ${lockDir}: ${(err as Error).message}`;
    if (opts.flockProtects && unwritable(err)) {
      const h = makeHandle('', pid);
      return { ok: true, lock: h, warning: `${msg} (continuing: the device lock still protects ${name})` };
    }
    throw new GatewayError(msg, { exitCode: EX.CANTCREAT, temporary: true, where: file, cause: err });
  }
  try {
    const attempts = opts.attempts ?? 5;
    for (let i = 0; ; i++) {
      const r = await linkPidFile(tmp, file, { readPid: parseLockPid, breakStale: i < attempts });
      if (r.ok) {
        const h = makeHandle(file, pid);
        held.add(h);
        installHooks();
        return { ok: true, lock: h };
      }
      if (!r.broken) return { ok: false, busyPid: r.pid ?? 0, file };
    }
  } finally {
    await fsp.unlink(tmp).catch(() => undefined);
  }
}

/** Locks a remote system (`LCK..<system>`). */
export function lockSystem(lockDir: string, system: string, opts?: LockOptions): Promise<LockResult> {
  return acquireLock(lockDir, systemLockName(system), opts);
}

/** Locks a device (`LCK..<basename>`; pass the port's `lockname` instead when it has one). */
export function lockDevice(lockDir: string, device: string, opts?: LockOptions): Promise<LockResult> {
  return acquireLock(lockDir, deviceLockName(device), opts);
}

/** Waits for a lock, polling every `intervalMs` up to `timeoutMs`. */
export async function waitLock(
  lockDir: string,
  name: string,
  timeoutMs: number,
  opts: LockOptions & { intervalMs?: number } = {},
): Promise<LockResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await acquireLock(lockDir, name, opts);
    if (r.ok || Date.now() >= deadline) return r;
    await new Promise((res) => setTimeout(res, opts.intervalMs ?? 20 + Math.floor(Math.random() * 30)));
  }
}
