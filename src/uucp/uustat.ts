// uustat as a library: queued jobs, per-system status (-m), the -q summary and
// killing a job, reading the Taylor-layout spool (ours or Taylor's own).
//
// Output lines follow Taylor 1.07's uustat:
//   -a:  hub.N0002 hub root 11-27 15:49 Executing rmail bob (sending 70 bytes)
//   -m:  hub            11-27 15:49 Dial failed (1 try, next after 11-27 15:59)
//   -q:  hub          1C (4 secs)      0X (0 secs)    11-27 15:49 Dial failed
import { promises as fsp } from 'node:fs';
import { type WorkCommand, listPendingWork, removeWorkFile } from './spool/work-file.js';
import { listExecFiles, parseExecFile } from './spool/exec-file.js';
import { listSpoolSystems, parseJobId, spoolFilePath, isSpoolName } from './spool/names.js';
import { type SystemStatus, STATUS, STATUS_TEXT, listStatus, readStatus } from './status.js';

export interface JobEntry {
  /** Commands of the work file with a readable description each. */
  id: string;
  system: string;
  user: string;
  grade: string;
  /** Work file modification time, epoch ms. */
  time: number;
  /** Total bytes of the spool data files the job sends. */
  size: number;
  /** E.g. "Executing rmail bob" or "Sending D.0001 to /tmp/x". */
  description: string;
  commands: WorkCommand[];
  workFile: string;
}

async function fileSize(p: string): Promise<number> {
  try {
    return (await fsp.stat(p)).size;
  } catch {
    return 0;
  }
}

async function describe(spoolDir: string, system: string, cmds: WorkCommand[]): Promise<{ text: string; size: number }> {
  let size = 0;
  let exec: string | undefined;
  const parts: string[] = [];
  for (const c of cmds) {
    if (c.type === 'S' || c.type === 'E') {
      const p = isSpoolName(c.temp) ? spoolFilePath(spoolDir, system, c.temp) : c.from;
      size += await fileSize(p);
      if (c.type === 'E') exec = c.command.join(' ');
      else if (c.to.startsWith('X.') && isSpoolName(c.temp)) {
        try {
          const x = parseExecFile(await fsp.readFile(spoolFilePath(spoolDir, system, c.temp), 'latin1'));
          if (x.command) exec = x.command.join(' ');
        } catch {
          /* not readable: fall back to a plain description */
        }
      } else if (!c.to.startsWith('D.')) parts.push(`Sending ${c.from} to ${c.to}`);
    } else if (c.type === 'R') parts.push(`Requesting ${c.from} to ${c.to}`);
    else parts.push(`Executing ${c.from}`);
  }
  const text = exec !== undefined ? `Executing ${exec}` : parts.join(', ') || 'Sending data';
  return { text, size };
}

/** Queued jobs, for one system or all systems with a spool directory. */
export async function listJobs(spoolDir: string, opts: { system?: string; user?: string } = {}): Promise<JobEntry[]> {
  const systems = opts.system ? [opts.system] : await listSpoolSystems(spoolDir);
  const out: JobEntry[] = [];
  for (const s of systems) {
    for (const wf of await listPendingWork(spoolDir, s)) {
      const user = wf.commands[0]?.user ?? '';
      if (opts.user && user !== opts.user) continue;
      const d = await describe(spoolDir, s, wf.commands);
      out.push({ id: wf.jobId, system: s, user, grade: wf.grade, time: wf.mtimeMs, size: d.size, description: d.text, commands: wf.commands, workFile: wf.path });
    }
  }
  return out;
}

const two = (n: number): string => String(n).padStart(2, '0');

/** `MM-DD HH:MM` in local time, as uustat prints. */
export function shortTime(ms: number): string {
  const d = new Date(ms);
  return `${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

export function formatJob(j: JobEntry): string {
  return `${j.id} ${j.system} ${j.user} ${shortTime(j.time)} ${j.description} (sending ${j.size} bytes)`;
}

export function formatJobs(jobs: JobEntry[]): string {
  return jobs.map((j) => `${formatJob(j)}\n`).join('');
}

/** Kills a job by id (`system.Cname`): removes its work file and data. False if unknown. */
export async function killJob(spoolDir: string, id: string, opts: { user?: string } = {}): Promise<boolean> {
  const p = parseJobId(id);
  if (!p) return false;
  if (opts.user) {
    const jobs = await listJobs(spoolDir, { system: p.system });
    const j = jobs.find((x) => x.id === id);
    if (!j) return false;
    if (j.user !== opts.user) return false;
  }
  return removeWorkFile(spoolDir, p.system, p.workName);
}

/** Status of every system with a status file (uustat -m). */
export async function systemStatuses(spoolDir: string): Promise<SystemStatus[]> {
  return listStatus(spoolDir);
}

export function formatStatus(s: SystemStatus, nowMs = Date.now()): string {
  let line = `${s.system.padEnd(14)} ${shortTime(s.time * 1000)} ${STATUS_TEXT[s.code] ?? s.text}`;
  if (s.code !== STATUS.TALKING && s.wait > 0) {
    line += ` (${s.retries} ${s.retries === 1 ? 'try' : 'tries'}`;
    if ((s.time + s.wait) * 1000 > nowMs) line += `, next after ${shortTime((s.time + s.wait) * 1000)}`;
    line += ')';
  }
  return line;
}

function units(secs: number): { text: string; pad: number } {
  let n: number;
  let unit: string;
  let pad: number;
  if (secs > 86400) [n, unit, pad] = [Math.floor(secs / 86400), 'day', 4];
  else if (secs > 3600) [n, unit, pad] = [Math.floor(secs / 3600), 'hour', 3];
  else if (secs > 60) [n, unit, pad] = [Math.floor(secs / 60), 'min', 4];
  else [n, unit, pad] = [Math.max(0, Math.floor(secs)), 'sec', 4];
  if (n !== 1) pad--;
  if (n > 99) pad--;
  if (n > 9) pad--;
  return { text: `${n} ${unit}${n === 1 ? '' : 's'}`, pad };
}

export interface QueueSummary {
  system: string;
  /** Number of jobs queued and age of the oldest, seconds. */
  jobs: number;
  oldestJob: number;
  /** Executions received and waiting, and age of the oldest, seconds. */
  executions: number;
  oldestExecution: number;
  status: SystemStatus | null;
}

/** Per-system counts of queued jobs and waiting executions (uustat -q). */
export async function queueSummary(spoolDir: string, nowMs = Date.now()): Promise<QueueSummary[]> {
  const systems = new Set(await listSpoolSystems(spoolDir));
  const xqts = await listExecFiles(spoolDir);
  const out: QueueSummary[] = [];
  for (const s of [...systems].sort()) {
    const work = await listPendingWork(spoolDir, s);
    const xs = xqts.filter((x) => x.system === s);
    if (work.length === 0 && xs.length === 0) continue;
    const oldest = (ts: number[]): number => (ts.length ? Math.floor((nowMs - Math.min(...ts)) / 1000) : 0);
    out.push({
      system: s,
      jobs: work.length,
      oldestJob: oldest(work.map((w) => w.mtimeMs)),
      executions: xs.length,
      oldestExecution: oldest(xs.map((x) => x.mtimeMs)),
      status: await readStatus(spoolDir, s).catch(() => null),
    });
  }
  return out;
}

/** One -q line, laid out like Taylor's. */
export function formatSummary(q: QueueSummary): string {
  let line = `${q.system.padEnd(10)} ${String(q.jobs).padStart(3)}C (`;
  let pad: number;
  if (q.jobs === 0) {
    line += '0 secs';
    pad = 3;
  } else {
    const u = units(q.oldestJob);
    line += u.text;
    pad = u.pad;
  }
  line += ') ' + ' '.repeat(Math.max(0, pad));
  if (q.executions === 0) line += '  0X (0 secs)  ';
  else {
    const u = units(q.oldestExecution);
    line += `${String(q.executions).padStart(3)}X (${u.text})${' '.repeat(Math.max(0, u.pad))}`;
  }
  if (q.status) line += ` ${shortTime(q.status.time * 1000)} ${STATUS_TEXT[q.status.code] ?? q.status.text}`;
  return line;
}

/**
 * `uugate status`: per system the last call and its result, what the last
 * session moved, the jobs queued and when the next call may be placed.
 */
export async function systemReport(spoolDir: string, systems: string[], nowMs = Date.now()): Promise<string> {
  const names = new Set([...systems, ...(await listSpoolSystems(spoolDir)), ...(await listStatus(spoolDir)).map((s) => s.system)]);
  const out: string[] = [];
  for (const name of [...names].sort()) {
    const st = await readStatus(spoolDir, name).catch(() => null);
    const jobs = (await listPendingWork(spoolDir, name).catch(() => [])).length;
    const parts: string[] = [];
    if (st) {
      parts.push(`last call ${shortTime((st.extra.lastCallTime ?? st.time * 1000))} ${st.text}${st.retries ? ` (${st.retries} ${st.retries === 1 ? 'try' : 'tries'})` : ''}`);
      if (st.extra.bytesSent !== undefined) parts.push(`last session sent ${st.extra.bytesSent} bytes, received ${st.extra.bytesReceived ?? 0}`);
    } else parts.push('never called');
    parts.push(`${jobs} job${jobs === 1 ? '' : 's'} queued`);
    const next = st ? (st.time + st.wait) * 1000 : nowMs;
    parts.push(`next call ${next <= nowMs ? 'any time allowed' : `after ${shortTime(next)}`}`);
    if (st?.extra.nextPollTime) parts.push(`next poll ${shortTime(st.extra.nextPollTime)}`);
    out.push(`${name}: ${parts.join('; ')}\n`);
  }
  return out.join('');
}
