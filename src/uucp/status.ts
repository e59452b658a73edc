// Per-system call status, `.Status/<sys>`, in Taylor's one-line format:
//
//   code retries time wait text... system\n      e.g. "2 1 1795794571 600 Dial failed hub"
//
// code: 0 complete, 1 port unavailable, 2 dial failed, 3 login failed, 4 handshake
// failed, 5 call failed, 6 talking, 7 wrong time to call; retries since the last
// success; time of the last call (epoch seconds); wait = seconds after that time
// before the next call may be tried (Taylor: retries * 600 unless a retry time is
// configured; once a day after max-retries).
//
// Things Taylor does not record (bytes moved, last result text, next call time) go
// in a JSON sidecar `.Status.extra/<sys>.json`, outside .Status so Taylor's
// `uustat -m`, which lists every file in .Status, is not confused by it.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, mkdirp } from '../util/durable.js';
import { dataError } from '../util/errors.js';
import { checkSystemName } from './spool/names.js';
import { nextRetryTime, retryDelaySeconds } from './schedule.js';

export const STATUS = {
  COMPLETE: 0,
  PORT_FAILED: 1,
  DIAL_FAILED: 2,
  LOGIN_FAILED: 3,
  HANDSHAKE_FAILED: 4,
  CALL_FAILED: 5,
  TALKING: 6,
  WRONG_TIME: 7,
} as const;

export type StatusCode = (typeof STATUS)[keyof typeof STATUS];

/** Taylor 1.07's texts for the codes. */
export const STATUS_TEXT: readonly string[] = [
  'Conversation complete',
  'Port unavailable',
  'Dial failed',
  'Login failed',
  'Handshake failed',
  'Call failed',
  'Talking',
  'Wrong time to call',
];

export interface StatusExtra {
  /** Epoch ms of the last call attempt and its one-line result. */
  lastCallTime?: number;
  lastResult?: string;
  /** Bytes moved in the last session. */
  bytesSent?: number;
  bytesReceived?: number;
  filesSent?: number;
  filesReceived?: number;
  /** Epoch ms before which no call should be placed. */
  nextCallTime?: number;
  /** Epoch ms of the last successful conversation. */
  lastSuccessTime?: number;
  /** The last few call attempts, newest last: epoch ms, status code, result text. */
  attempts?: Array<{ time: number; code: number; result: string }>;
  /** Epoch ms of the next poll (`poll` cron), kept by the daemon's call scheduler. */
  nextPollTime?: number;
}

/** How many attempts the sidecar remembers. */
export const KEEP_ATTEMPTS = 10;

export interface SystemStatus {
  system: string;
  code: number;
  retries: number;
  /** Epoch seconds of the last call. */
  time: number;
  /** Seconds after `time` before another call. */
  wait: number;
  text: string;
  extra: StatusExtra;
}

export function formatStatusLine(s: SystemStatus): string {
  if (/[\n\0]/.test(s.text)) throw dataError('status text contains a newline');
  return `${s.code} ${s.retries} ${Math.floor(s.time)} ${s.wait} ${s.text} ${s.system}\n`;
}

/**
 * Parses a status line. The trailing system name is only present in newer files;
 * when `system` is given and the text ends with it, it is removed.
 */
export function parseStatusLine(line: string, system: string): SystemStatus {
  const m = /^\s*(\d+)\s+(\d+)\s+(-?\d+)\s+(-?\d+)\s*(.*?)\s*$/.exec(line.split('\n')[0]);
  if (!m) throw dataError(`bad status line "${line.trim()}"`, `.Status/${system}`);
  let text = m[5];
  if (text === system) text = '';
  else if (text.endsWith(` ${system}`)) text = text.slice(0, -(system.length + 1));
  const code = Number(m[1]);
  return {
    system,
    code,
    retries: Number(m[2]),
    time: Number(m[3]),
    wait: Number(m[4]),
    text: text || STATUS_TEXT[code] || '',
    extra: {},
  };
}

const statusFile = (spoolDir: string, system: string): string => {
  checkSystemName(system);
  return path.join(spoolDir, '.Status', system);
};
const extraFile = (spoolDir: string, system: string): string => path.join(spoolDir, '.Status.extra', `${system}.json`);

/** Reads `.Status/<sys>` plus the sidecar; null when there is no status yet. */
export async function readStatus(spoolDir: string, system: string): Promise<SystemStatus | null> {
  let text: string;
  try {
    text = await fsp.readFile(statusFile(spoolDir, system), 'latin1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const s = parseStatusLine(text, system);
  try {
    s.extra = JSON.parse(await fsp.readFile(extraFile(spoolDir, system), 'utf8')) as StatusExtra;
  } catch {
    s.extra = {};
  }
  return s;
}

/** Writes `.Status/<sys>` (mode 0644, like Taylor) and the sidecar, each atomically. */
export async function writeStatus(spoolDir: string, s: SystemStatus): Promise<void> {
  const f = statusFile(spoolDir, s.system);
  await mkdirp(path.dirname(f), 0o755);
  await writeFileAtomic(f, formatStatusLine(s), 0o644);
  if (Object.keys(s.extra).length > 0) {
    const x = extraFile(spoolDir, s.system);
    await mkdirp(path.dirname(x), 0o755);
    await writeFileAtomic(x, `${JSON.stringify(s.extra)}\n`, 0o644);
  }
}

/** All status files present, sorted by system name. */
export async function listStatus(spoolDir: string): Promise<SystemStatus[]> {
  const names = await fsp.readdir(path.join(spoolDir, '.Status')).catch(() => [] as string[]);
  const out: SystemStatus[] = [];
  for (const n of names.sort()) {
    if (n.startsWith('.') || n.includes('.tmp')) continue;
    try {
      const s = await readStatus(spoolDir, n);
      if (s) out.push(s);
    } catch {
      /* unreadable or foreign file: skip */
    }
  }
  return out;
}

/**
 * The wait after `retries` consecutive failures (see schedule.ts): retry-time
 * (default 10 minutes) doubling with each failure up to 12 hours, or a fixed
 * wait for a retry time given on the `time` line; a day after max-retries.
 */
export function retryWait(retries: number, opts: { retryTimeMinutes?: number; maxRetries?: number; retryFixed?: boolean } = {}): number {
  return retryDelaySeconds(retries, { retryMinutes: opts.retryTimeMinutes, maxRetries: opts.maxRetries, fixed: opts.retryFixed }) ?? 24 * 60 * 60;
}

export interface CallResult {
  code: number;
  /** Text to show; defaults to Taylor's text for the code. */
  text?: string;
  /** Epoch ms of the call (default now). */
  now?: number;
  bytesSent?: number;
  bytesReceived?: number;
  filesSent?: number;
  filesReceived?: number;
  /** From the sys entry: `time ... N` / `retry-time N` (minutes) and `max-retries`. */
  retryTimeMinutes?: number;
  maxRetries?: number;
  /** From `success-wait` (seconds). */
  successWait?: number;
  /** The retry time came from the `time` line: fixed, no backoff. */
  retryFixed?: boolean;
  /**
   * The system's time strings: a retry falls into the next allowed minute, and
   * after max-retries waits for the start of the next allowed window.
   */
  times?: string[];
}

/**
 * Records the outcome of a call: success resets retries; failure increments them
 * and sets the wait. `code` 6 (talking) keeps the retry count. Returns what was written.
 */
export async function recordCall(spoolDir: string, system: string, r: CallResult): Promise<SystemStatus> {
  const prev = await readStatus(spoolDir, system).catch(() => null);
  const nowMs = r.now ?? Date.now();
  const time = Math.floor(nowMs / 1000);
  let retries = prev?.retries ?? 0;
  let wait = 0;
  if (r.code === STATUS.COMPLETE) {
    retries = 0;
    wait = r.successWait ?? 0;
  } else if (r.code !== STATUS.TALKING) {
    retries += 1;
    wait = retryWait(retries, r);
    if (r.times?.length) {
      const next = nextRetryTime(r.times, retries, { retryMinutes: r.retryTimeMinutes, maxRetries: r.maxRetries, fixed: r.retryFixed }, time * 1000);
      wait = Math.max(0, Math.ceil(next / 1000) - time);
    }
  }
  const text = r.text ?? STATUS_TEXT[r.code] ?? 'Unknown status';
  const extra: StatusExtra = {
    ...(prev?.extra ?? {}),
    lastCallTime: nowMs,
    lastResult: text,
    nextCallTime: (time + wait) * 1000,
  };
  if (r.code === STATUS.COMPLETE) extra.lastSuccessTime = nowMs;
  if (r.code !== STATUS.TALKING) extra.attempts = [...(prev?.extra.attempts ?? []), { time: nowMs, code: r.code, result: text }].slice(-KEEP_ATTEMPTS);
  if (r.code !== STATUS.TALKING) {
    extra.bytesSent = r.bytesSent ?? 0;
    extra.bytesReceived = r.bytesReceived ?? 0;
    extra.filesSent = r.filesSent ?? 0;
    extra.filesReceived = r.filesReceived ?? 0;
  }
  const s: SystemStatus = { system, code: r.code, retries, time, wait, text: text.replace(/[\r\n]+/g, ' '), extra };
  await writeStatus(spoolDir, s);
  return s;
}

/** True when the status allows calling now (ignores the wait when `force`, like uucico -S). */
export function mayCall(s: SystemStatus | null, nowMs = Date.now(), force = false): boolean {
  if (!s || force) return true;
  if (s.code === STATUS.COMPLETE && s.wait === 0) return true;
  return nowMs / 1000 >= s.time + s.wait;
}
