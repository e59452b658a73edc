// The UUCP spool, in Taylor's SPOOLDIR_TAYLOR layout so an administrator who knows
// Taylor finds things where expected (and Taylor's own uustat can read it):
//
//   <sys>/C./C.<grade><seq>   work files: one protocol command per line (S/R/X/E)
//   <sys>/D./D.<seq>          data to send            <sys>/D./D.<remote><g><seq> data received
//   <sys>/D.X/D.X<seq>        files that become X. files on the remote
//   <sys>/X./X.<...>          execution files received from <sys>
//   <sys>/SEQF                last sequence number used for <sys>: 4 chars of 0-9A-Z
//   .Status/<sys>             call status (see status.ts)
//   .Sequence/<sys>           conversation sequence number (-Q)
//   .Temp/<sys>/<temp>        partial receives (restart)
//   .Received/<sys>/<temp>    files received whose acknowledgement may be lost (SN8)
//   .Corrupt, .Failed         unparsable / failed executions
//
// Work files are written to a temp name, fsync'd and link()ed into place, so a
// reader sees either nothing or the whole file. Data files are fsync'd before the
// work file that names them is created.
import { promises as fsp, constants } from 'node:fs';
import path from 'node:path';
import { fsyncDir, mkdirp, writeFileAtomic, writeNewFile } from '../util/durable.js';
import { GatewayError, EX, dataError } from '../util/errors.js';
import { waitLock } from './lock.js';
import { within } from '../util/paths.js';

// ---------------------------------------------------------------- grades and sequences

/** Grades from highest to lowest priority (Taylor: 0-9, then A-Z, then a-z). */
export const GRADES = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function isGrade(g: string): boolean {
  return g.length === 1 && GRADES.includes(g);
}

/** Negative when grade a should be sent before grade b. */
export function compareGrades(a: string, b: string): number {
  return GRADES.indexOf(a) - GRADES.indexOf(b);
}

const SEQ_DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export function isSequence(s: string): boolean {
  return /^[0-9A-Z]{4}$/.test(s);
}

/** Next 4-character sequence number: base 36 with digits then capitals; ZZZZ wraps to 0000. */
export function incrementSequence(seq: string): string {
  if (!isSequence(seq)) return '0001';
  const out = seq.split('');
  for (let i = 3; i >= 0; i--) {
    const d = SEQ_DIGITS.indexOf(out[i]);
    if (d < 35) {
      out[i] = SEQ_DIGITS[d + 1];
      return out.join('');
    }
    out[i] = '0';
  }
  return out.join('');
}

// ---------------------------------------------------------------- names and paths

/** A system name usable as a directory: no '/', not empty, not starting with '.'. */
export function checkSystemName(system: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(system) || system.length > 255)
    throw dataError(`bad UUCP system name "${system}"`);
}

export function systemDir(spoolDir: string, system: string): string {
  checkSystemName(system);
  return path.join(spoolDir, system);
}

/**
 * Where a spool file lives: C.* in C./, D.X<seq> in D.X/, other D.* in D./, X.* in X./.
 * `name` must be a bare spool name.
 */
export function spoolFilePath(spoolDir: string, system: string, name: string): string {
  if (!isSpoolName(name)) throw dataError(`not a spool file name: "${name}"`);
  const dir = systemDir(spoolDir, system);
  if (name.startsWith('C.')) return path.join(dir, 'C.', name);
  if (/^D\.X[0-9A-Z]{4}$/.test(name)) return path.join(dir, 'D.X', name);
  if (name.startsWith('D.')) return path.join(dir, 'D.', name);
  return path.join(dir, 'X.', name);
}

/** A bare C./D./X. spool name: letters, digits, '.', '_', '-' only, no '..'. */
export function isSpoolName(name: string): boolean {
  return /^[CDX]\.[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) && !name.includes('..') && name.length <= 255;
}

/** Taylor's job id: `<system>.<work file name without "C.">`. */
export function jobIdOf(system: string, workName: string): string {
  return `${system}.${workName.slice(2)}`;
}

/** Splits a job id back into system and work file name; null if malformed. */
export function parseJobId(id: string): { system: string; workName: string } | null {
  const dot = id.lastIndexOf('.');
  if (dot <= 0 || dot === id.length - 1) return null;
  const system = id.slice(0, dot);
  const workName = `C.${id.slice(dot + 1)}`;
  if (!isSpoolName(workName)) return null;
  try {
    checkSystemName(system);
  } catch {
    return null;
  }
  return { system, workName };
}

// ---------------------------------------------------------------- sequence allocation

const inProcess = new Map<string, Promise<unknown>>();

/** Runs fn with the spool's sequence lock held (in-process queue plus LCK..SEQ across processes). */
async function withSeqLock<T>(spoolDir: string, fn: () => Promise<T>): Promise<T> {
  const key = path.resolve(spoolDir);
  const prev = inProcess.get(key) ?? Promise.resolve();
  const run = prev.catch(() => undefined).then(async () => {
    await mkdirp(spoolDir, 0o755);
    const r = await waitLock(spoolDir, 'LCK..SEQ', 30_000);
    if (!r.ok) throw new GatewayError(`sequence lock ${r.file} held by pid ${r.busyPid}`, { temporary: true });
    try {
      return await fn();
    } finally {
      await r.lock.release();
    }
  });
  inProcess.set(key, run);
  try {
    return await run;
  } finally {
    if (inProcess.get(key) === run) inProcess.delete(key);
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Allocates `count` new sequence numbers for `system` from `<sys>/SEQF`, skipping any
 * whose D. or D.X file still exists. Safe across concurrent calls and processes.
 */
export async function nextSequences(spoolDir: string, system: string, count = 1): Promise<string[]> {
  const dir = systemDir(spoolDir, system);
  const seqf = path.join(dir, 'SEQF');
  const out = await withSeqLock(spoolDir, async () => {
    await mkdirp(dir, 0o755);
    let cur = (await fsp.readFile(seqf, 'latin1').catch(() => '0000')).trim();
    if (!isSequence(cur)) cur = '0000';
    const out: string[] = [];
    for (let guard = 0; out.length < count; guard++) {
      if (guard > 36 ** 4) throw new GatewayError(`no free sequence numbers for ${system}`, { temporary: true });
      cur = incrementSequence(cur);
      if (cur === '0000') continue;
      if (await exists(path.join(dir, 'D.', `D.${cur}`))) continue;
      if (await exists(path.join(dir, 'D.X', `D.X${cur}`))) continue;
      out.push(cur);
    }
    const tmp = `${seqf}.tmp${process.pid}`;
    await fsp.writeFile(tmp, cur, { mode: 0o600 });
    await fsp.rename(tmp, seqf);
    return out;
  });
  // The fsync outside the lock: concurrent callers (a queue run delivers 8
  // messages at once) no longer queue up behind one another's fsync, and
  // syncing a newer SEQF covers ours as well.
  const fh = await fsp.open(seqf, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  return out;
}

export async function nextSequence(spoolDir: string, system: string): Promise<string> {
  return (await nextSequences(spoolDir, system, 1))[0];
}

// ---------------------------------------------------------------- work file lines

/** Fields every work-file command has. */
interface CommandBase {
  from: string;
  to: string;
  user: string;
  /** Option letters without the '-', e.g. "C". */
  options: string;
}

/** S and E commands also carry the spooled copy, the mode and whom to notify. */
interface TransferFields {
  /** Spool data file holding the copy (e.g. D.0001), or "D.0" when none. */
  temp: string;
  mode: number;
  notify: string;
}

export interface SendCommand extends CommandBase, TransferFields {
  type: 'S';
}

export interface ReceiveCommand extends CommandBase {
  type: 'R';
}

export interface RemoteExecCommand extends CommandBase {
  type: 'X';
}

export interface ExecuteCommand extends CommandBase, TransferFields {
  type: 'E';
  /** The command and its arguments. */
  command: string[];
}

export type WorkCommand = SendCommand | ReceiveCommand | RemoteExecCommand | ExecuteCommand;

function checkField(v: string, what: string): void {
  if (v === '' || /[\s\0]/.test(v)) throw dataError(`work file ${what} "${v}" is empty or contains blanks`);
}

/** One work file line, without the newline, exactly as Taylor writes it. */
export function formatWorkLine(c: WorkCommand): string {
  for (const [k, v] of [['from', c.from], ['to', c.to], ['user', c.user]] as const) checkField(v, k);
  if (/[\s\0]/.test(c.options)) throw dataError(`bad options "${c.options}"`);
  switch (c.type) {
    case 'S':
      checkField(c.temp, 'temp');
      if (/[\s\0]/.test(c.notify)) throw dataError(`bad notify "${c.notify}"`);
      // The notify field is left empty, giving the trailing blank Taylor writes.
      return `S ${c.from} ${c.to} ${c.user} -${c.options} ${c.temp} 0${c.mode.toString(8)} ${c.notify}`;
    case 'R':
    case 'X':
      return `${c.type} ${c.from} ${c.to} ${c.user} -${c.options}`;
    case 'E':
      checkField(c.temp, 'temp');
      if (/[\s\0]/.test(c.notify)) throw dataError(`bad notify "${c.notify}"`);
      if (c.command.length === 0) throw dataError('E command without a command');
      for (const a of c.command) checkField(a, 'argument');
      return `E ${c.from} ${c.to} ${c.user} -${c.options} ${c.temp} 0${c.mode.toString(8)} ${c.notify || '""'} 0 ${c.command.join(' ')}`;
  }
}

export function formatWorkFile(cmds: WorkCommand[]): string {
  return cmds.map((c) => `${formatWorkLine(c)}\n`).join('');
}

function parseMode(s: string | undefined, where: string): number {
  if (s === undefined || !/^[0-7]+$/.test(s)) throw dataError(`bad mode "${s ?? ''}"`, where);
  return Number.parseInt(s, 8);
}

function unquoteNotify(s: string | undefined): string {
  return s === undefined || s === '""' ? '' : s;
}

/** Parses one work file line (Taylor's lib/parse.c rules: blanks separate fields). */
export function parseWorkLine(line: string, where = 'work file'): WorkCommand {
  const f = line.trim().split(/[ \t]+/);
  const type = f[0];
  if (f.length < 5) throw dataError(`short work line "${line.trim()}"`, where);
  const [, from, to, user, rawOpts] = f;
  const options = rawOpts?.startsWith('-') ? rawOpts.slice(1) : rawOpts ?? '';
  switch (type) {
    case 'S':
      return { type, from, to, user, options, temp: f[5] ?? 'D.0', mode: f[6] ? parseMode(f[6], where) : 0o666, notify: unquoteNotify(f[7]) };
    case 'R':
    case 'X':
      return { type, from, to, user, options };
    case 'E': {
      if (f.length < 10) throw dataError('short E line', where);
      // f[8] is the size, always 0 in a work file.
      return { type, from, to, user, options, temp: f[5], mode: parseMode(f[6], where), notify: unquoteNotify(f[7]), command: f.slice(9) };
    }
    default:
      throw dataError(`unknown work command "${type}"`, where);
  }
}

export function parseWorkFile(text: string, where = 'work file'): WorkCommand[] {
  return text
    .split('\n')
    .map((l, i) => ({ l, i }))
    .filter(({ l }) => l.trim() !== '')
    .map(({ l, i }) => parseWorkLine(l, `${where}:${i + 1}`));
}

/** The spool data file a command owns (deleted with it), or undefined. */
export function ownedDataFile(c: WorkCommand): string | undefined {
  if ((c.type === 'S' || c.type === 'E') && c.options.includes('C') && isSpoolName(c.temp) && c.temp.startsWith('D.'))
    return c.temp;
  return undefined;
}

// ---------------------------------------------------------------- writing work and data

export interface WorkFile {
  system: string;
  /** File name, e.g. C.N0001. */
  name: string;
  grade: string;
  path: string;
  jobId: string;
  mtimeMs: number;
  commands: WorkCommand[];
}

let tmpCounter = 0;
const tmpName = (): string => `TM.${process.pid}.${Date.now().toString(36)}.${++tmpCounter}`;

async function syncFile(file: string): Promise<void> {
  const fh = await fsp.open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes a spool data file (`D.0001` → `<sys>/D./D.0001`, `D.X0002` → `<sys>/D.X/`):
 * new file (O_EXCL), fsync'd, directory fsync'd. `data` is a Buffer/string or
 * `{ path }` of a file to copy.
 */
export async function writeSpoolData(
  spoolDir: string,
  system: string,
  name: string,
  data: Buffer | string | { path: string },
  mode = 0o600,
): Promise<string> {
  const file = spoolFilePath(spoolDir, system, name);
  await mkdirp(path.dirname(file), 0o755);
  if (typeof data === 'object' && !Buffer.isBuffer(data)) {
    await fsp.copyFile(data.path, file, constants.COPYFILE_EXCL);
    await fsp.chmod(file, mode);
    await syncFile(file);
  } else {
    await writeNewFile(file, data, mode);
  }
  await fsyncDir(path.dirname(file));
  return file;
}

/**
 * Creates the work file `<sys>/C./C.<grade><seq>` holding `cmds`: temp file, fsync,
 * link() into place (fails rather than overwrite), directory fsync.
 */
export async function writeWorkFile(
  spoolDir: string,
  system: string,
  grade: string,
  cmds: WorkCommand[],
  opts: { seq?: string; mode?: number } = {},
): Promise<WorkFile> {
  if (!isGrade(grade)) throw dataError(`bad grade "${grade}"`);
  if (cmds.length === 0) throw dataError('empty work file');
  const text = formatWorkFile(cmds);
  const seq = opts.seq ?? (await nextSequence(spoolDir, system));
  const name = `C.${grade}${seq}`;
  const file = spoolFilePath(spoolDir, system, name);
  const dir = path.dirname(file);
  await mkdirp(dir, 0o755);
  const tmp = path.join(dir, tmpName());
  await writeNewFile(tmp, text, opts.mode ?? 0o600);
  try {
    await fsp.link(tmp, file);
  } finally {
    await fsp.unlink(tmp).catch(() => undefined);
  }
  await fsyncDir(dir);
  const st = await fsp.stat(file);
  return { system, name, grade, path: file, jobId: jobIdOf(system, name), mtimeMs: st.mtimeMs, commands: cmds };
}

// ---------------------------------------------------------------- reading work

export async function readWorkFile(spoolDir: string, system: string, name: string): Promise<WorkFile> {
  const file = spoolFilePath(spoolDir, system, name);
  const [text, st] = await Promise.all([fsp.readFile(file, 'latin1'), fsp.stat(file)]);
  return {
    system,
    name,
    grade: name[2],
    path: file,
    jobId: jobIdOf(system, name),
    mtimeMs: st.mtimeMs,
    commands: parseWorkFile(text, file),
  };
}

/** System directories present in the spool (names not starting with '.'). */
export async function listSpoolSystems(spoolDir: string): Promise<string[]> {
  const ents = await fsp.readdir(spoolDir, { withFileTypes: true }).catch(() => []);
  return ents
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .filter((n) => /^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(n))
    .sort();
}

/**
 * Pending work for `system`, highest grade first, then oldest first. Jobs below
 * `minGrade` (lower priority) are left out. Unparsable work files are reported in
 * `bad` instead of failing the listing.
 */
export async function listPendingWork(
  spoolDir: string,
  system: string,
  opts: { minGrade?: string; bad?: { name: string; error: string }[] } = {},
): Promise<WorkFile[]> {
  const dir = path.join(systemDir(spoolDir, system), 'C.');
  const names = (await fsp.readdir(dir).catch(() => [] as string[])).filter(
    (n) => isSpoolName(n) && n.startsWith('C.') && n.length > 2 && isGrade(n[2]),
  );
  const out: WorkFile[] = [];
  for (const n of names) {
    if (opts.minGrade && compareGrades(n[2], opts.minGrade) > 0) continue;
    try {
      out.push(await readWorkFile(spoolDir, system, n));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // finished meanwhile
      opts.bad?.push({ name: n, error: (err as Error).message });
    }
  }
  out.sort((a, b) => compareGrades(a.grade, b.grade) || a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

// ---------------------------------------------------------------- finishing work

async function unlinkQuiet(file: string): Promise<void> {
  await fsp.unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** Marks one command of a work file done (see markCommandsDone). */
export async function markCommandDone(spoolDir: string, system: string, name: string, index: number): Promise<number> {
  return markCommandsDone(spoolDir, system, name, [index]);
}

/**
 * Marks several commands of one work file done at once (the session does a
 * whole job before it records anything): one rewrite, or one removal, and one
 * directory fsync per job instead of per command. A crash before this leaves
 * the commands to be done again, which the peer recognises (SN8 for a file it
 * already has). Returns the number of commands still pending.
 */
export async function markCommandsDone(spoolDir: string, system: string, name: string, indexes: number[]): Promise<number> {
  let wf: WorkFile;
  try {
    wf = await readWorkFile(spoolDir, system, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0; // killed meanwhile (uustat -k)
    throw err;
  }
  const missing = indexes.find((i) => !wf.commands[i]);
  if (missing !== undefined) throw new GatewayError(`${name}: no command ${missing}`, { exitCode: EX.SOFTWARE });
  const done = new Set(indexes);
  const rest = wf.commands.filter((_, i) => !done.has(i));
  if (rest.length === 0) {
    await unlinkQuiet(wf.path);
    await fsyncDir(path.dirname(wf.path));
  } else {
    await writeFileAtomic(wf.path, formatWorkFile(rest));
  }
  // Delete data only after the command is gone, so a crash cannot leave a command without its data.
  for (const i of indexes) {
    const data = wf.commands[i] && ownedDataFile(wf.commands[i]!);
    if (data) await unlinkQuiet(spoolFilePath(spoolDir, system, data));
  }
  return rest.length;
}

/** Removes a whole job: its work file and every spool data file it owns. */
export async function removeWorkFile(spoolDir: string, system: string, name: string): Promise<boolean> {
  let wf: WorkFile;
  try {
    wf = await readWorkFile(spoolDir, system, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    // Unparsable: still remove the work file itself.
    await unlinkQuiet(spoolFilePath(spoolDir, system, name));
    return true;
  }
  await unlinkQuiet(wf.path);
  await fsyncDir(path.dirname(wf.path)).catch(() => undefined);
  for (const c of wf.commands) {
    const data = ownedDataFile(c);
    if (data) await unlinkQuiet(spoolFilePath(spoolDir, system, data));
  }
  return true;
}

// ---------------------------------------------------------------- X. files

export interface ExecFile {
  /** U: requesting user and system. */
  user?: string;
  system?: string;
  /** F: required files, with the name to link them as. */
  files: { file: string; name?: string }[];
  /** I: standard input file. */
  stdin?: string;
  /** O: standard output destination. */
  stdout?: { file: string; system?: string };
  /** C: command and arguments. */
  command?: string[];
  /** R: where to mail about the job. */
  requester?: string;
  /** Z, N, n, B, e, E flags. */
  mailOnFail?: boolean;
  noMail?: boolean;
  mailOnSuccess?: boolean;
  returnInput?: boolean;
  useShell?: boolean;
  useExec?: boolean;
  /** M: status file instead of mail. */
  statusFile?: string;
  /** Q: arguments are backslash-quoted (kept as written; not unquoted here). */
  quoted?: boolean;
  /** Lines with letters we do not know, kept for logging. */
  unknown: string[];
}

function xArg(v: string, what: string): string {
  if (v === '' || /[\s\0]/.test(v)) throw dataError(`X. file ${what} "${v}" is empty or contains blanks`);
  return v;
}

/** Writes an X. file: U, F, I, O, flags, R, M, C (C last, as Taylor's uux does). */
export function formatExecFile(x: ExecFile): string {
  const lines: string[] = [];
  if (x.user !== undefined) lines.push(`U ${xArg(x.user, 'user')}${x.system !== undefined ? ` ${xArg(x.system, 'system')}` : ''}`);
  for (const f of x.files) lines.push(`F ${xArg(f.file, 'file')}${f.name ? ` ${xArg(f.name, 'file name')}` : ''}`);
  if (x.stdin !== undefined) lines.push(`I ${xArg(x.stdin, 'stdin')}`);
  if (x.stdout) lines.push(`O ${xArg(x.stdout.file, 'stdout')}${x.stdout.system ? ` ${xArg(x.stdout.system, 'stdout system')}` : ''}`);
  if (x.noMail) lines.push('N');
  if (x.mailOnFail) lines.push('Z');
  if (x.mailOnSuccess) lines.push('n');
  if (x.returnInput) lines.push('B');
  if (x.useShell) lines.push('e');
  if (x.useExec) lines.push('E');
  if (x.requester !== undefined) lines.push(`R ${xArg(x.requester, 'requester')}`);
  if (x.statusFile !== undefined) lines.push(`M ${xArg(x.statusFile, 'status file')}`);
  if (x.quoted) lines.push('Q');
  if (x.command) {
    if (x.command.length === 0) throw dataError('X. file with an empty command');
    lines.push(`C ${x.command.map((a) => xArg(a, 'argument')).join(' ')}`);
  }
  return lines.map((l) => `${l}\n`).join('');
}

/** Parses an X. file. Unknown letters are kept in `unknown`; `#` lines are comments. */
export function parseExecFile(text: string): ExecFile {
  const x: ExecFile = { files: [], unknown: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) continue;
    const letter = line[0];
    const args = line.slice(1).trim().split(/[ \t]+/).filter(Boolean);
    const need = (n: number): boolean => {
      if (args.length >= n) return true;
      x.unknown.push(line);
      return false;
    };
    switch (letter) {
      case 'U': if (need(1)) { x.user = args[0]; x.system = args[1]; } break;
      case 'F': if (need(1)) x.files.push({ file: args[0], name: args[1] }); break;
      case 'I': if (need(1)) x.stdin = args[0]; break;
      case 'O': if (need(1)) x.stdout = { file: args[0], system: args[1] }; break;
      case 'C': if (need(1)) x.command = args; break;
      case 'R': if (need(1)) x.requester = args[0]; break;
      case 'M': if (need(1)) x.statusFile = args[0]; break;
      case 'Z': x.mailOnFail = true; break;
      case 'N': x.noMail = true; break;
      case 'n': x.mailOnSuccess = true; break;
      case 'B': x.returnInput = true; break;
      case 'e': x.useShell = true; break;
      case 'E': x.useExec = true; break;
      case 'Q': x.quoted = true; break;
      default: x.unknown.push(line);
    }
  }
  return x;
}

/** Received execution files waiting in `<sys>/X./` (for all systems when none given). */
export async function listExecFiles(spoolDir: string, system?: string): Promise<{ system: string; name: string; path: string; mtimeMs: number }[]> {
  const systems = system ? [system] : await listSpoolSystems(spoolDir);
  const out: { system: string; name: string; path: string; mtimeMs: number }[] = [];
  for (const s of systems) {
    const dir = path.join(systemDir(spoolDir, s), 'X.');
    for (const n of await fsp.readdir(dir).catch(() => [] as string[])) {
      if (!n.startsWith('X.') || !isSpoolName(n)) continue;
      const st = await fsp.stat(path.join(dir, n)).catch(() => undefined);
      if (st?.isFile()) out.push({ system: s, name: n, path: path.join(dir, n), mtimeMs: st.mtimeMs });
    }
  }
  return out.sort((a, b) => a.mtimeMs - b.mtimeMs);
}

// ---------------------------------------------------------------- receiving

/**
 * Where a file offered by `system` is received before being moved into place:
 * `.Temp/<sys>/<temp>` when `temp` is a usable spool temp name (so an interrupted
 * transfer can restart), else a fresh random name in `.Temp/`.
 */
export function receiveTempPath(spoolDir: string, system: string, temp?: string): string {
  checkSystemName(system);
  if (temp && isSpoolName(temp)) return path.join(spoolDir, '.Temp', system, temp);
  return path.join(spoolDir, '.Temp', `TM.${process.pid}.${Date.now().toString(36)}.${++tmpCounter}`);
}

/**
 * Moves a completely received file into its final place durably: fsync the data,
 * then rename (or link, with `noReplace`, which fails with EEXIST rather than
 * overwrite), then fsync both directories.
 */
export async function storeReceivedFile(
  tempPath: string,
  finalPath: string,
  opts: { noReplace?: boolean; mode?: number; synced?: boolean; dirs?: Set<string> } = {},
): Promise<void> {
  // `synced`: the caller already set the mode and fsync'd through its own handle.
  if (!opts.synced) {
    if (opts.mode !== undefined) await fsp.chmod(tempPath, opts.mode);
    await syncFile(tempPath);
  }
  // `dirs`: directories known to exist (a session receiving many files creates each once).
  const dir = path.dirname(finalPath);
  if (!opts.dirs?.has(dir)) {
    await mkdirp(dir, 0o755);
    opts.dirs?.add(dir);
  }
  if (opts.noReplace) {
    await fsp.link(tempPath, finalPath);
    await fsp.unlink(tempPath);
  } else {
    await fsp.rename(tempPath, finalPath);
  }
  // The new name is what must survive a crash. The rename is one journal
  // transaction (ext4, XFS), so this also commits the old name's removal; a
  // second fsync of the temp directory cost ~1 ms per received file for nothing.
  await fsyncDir(path.dirname(finalPath));
}

function receivedMarker(spoolDir: string, system: string, temp: string): string {
  if (!isSpoolName(temp)) throw dataError(`bad temp name "${temp}"`);
  checkSystemName(system);
  return path.join(spoolDir, '.Received', system, temp);
}

/** Records that the file sent under `temp` was received (its acknowledgement may be lost). */
export async function markReceived(spoolDir: string, system: string, temp: string, dirs?: Set<string>): Promise<void> {
  const f = receivedMarker(spoolDir, system, temp);
  if (!dirs?.has(path.dirname(f))) {
    await mkdirp(path.dirname(f), 0o755);
    dirs?.add(path.dirname(f));
  }
  await fsp.writeFile(f, '', { mode: 0o600 });
}

/** True when `temp` was already received: answer SN8 and forget the record. */
export async function takeReceived(spoolDir: string, system: string, temp: string): Promise<boolean> {
  if (!isSpoolName(temp)) return false;
  try {
    await fsp.unlink(receivedMarker(spoolDir, system, temp));
    return true;
  } catch {
    return false;
  }
}

/** Moves a file into `.Corrupt` or `.Failed`, keeping its name (suffixed if taken). */
export async function moveAside(spoolDir: string, file: string, where: '.Corrupt' | '.Failed' | '.Preserve'): Promise<string> {
  const dir = path.join(spoolDir, where);
  await mkdirp(dir, 0o755);
  let dest = path.join(dir, path.basename(file));
  if (await exists(dest)) dest = `${dest}.${Date.now().toString(36)}`;
  await fsp.rename(file, dest);
  await fsyncDir(dir);
  return dest;
}

// ---------------------------------------------------------------- path safety

export interface PathPolicy {
  spoolDir: string;
  /** The remote system (its spool directory receives D./X. files). */
  system: string;
  /** Public directory, what `~` and `~uucp` expand to. */
  pubdir: string;
  /**
   * Allowed directories in Taylor's `remote-send`/`remote-receive` form: `~` for the
   * public directory, `!dir` to exclude; the last entry that applies wins. Default `['~']`.
   */
  allowed?: string[];
}

export type PathCheck = { ok: true; path: string; spool: boolean } | { ok: false; reason: string };

const refuse = (reason: string): PathCheck => ({ ok: false, reason });

function expandTilde(p: string, pubdir: string): string | null {
  if (p === '~' || p === '~uucp') return pubdir;
  if (p.startsWith('~/')) return path.join(pubdir, p.slice(2));
  if (p.startsWith('~uucp/')) return path.join(pubdir, p.slice(6));
  if (p.startsWith('~')) return null;
  return p;
}

function allowedBy(list: string[], target: string, pubdir: string): boolean {
  let ok = false;
  for (const entry of list) {
    const neg = entry.startsWith('!');
    const dir = expandTilde(neg ? entry.slice(1) : entry, pubdir);
    if (!dir || !path.isAbsolute(dir)) continue;
    if (within(dir, target)) ok = !neg;
  }
  return ok;
}

/**
 * Lexical check of a file name supplied by the remote side: a bare spool name
 * (D./X. files, which go in the remote's spool directory), or `~`/`~uucp`/absolute
 * paths inside the allowed directories. Never `..`, never control characters.
 */
export function checkRemoteName(name: string, policy: PathPolicy, purpose: 'read' | 'write'): PathCheck {
  if (name === '') return refuse('empty file name');
  if (/[\0-\x1f\x7f]/.test(name)) return refuse('control character in file name');
  if (name.length > 1024) return refuse('file name too long');
  if (name.split('/').includes('..')) return refuse('".." in file name');
  if (!name.includes('/')) {
    if (purpose === 'write' && isSpoolName(name) && (name.startsWith('D.') || name.startsWith('X.')))
      return { ok: true, path: spoolFilePath(policy.spoolDir, policy.system, name), spool: true };
    if (name !== '~' && name !== '~uucp') return refuse('not a spool file name or an absolute path');
  }
  const expanded = expandTilde(name, policy.pubdir);
  if (expanded === null) return refuse('only ~ and ~uucp may be used for home directories');
  if (!path.isAbsolute(expanded)) return refuse('relative path');
  const abs = path.resolve(expanded);
  if (!allowedBy(policy.allowed ?? ['~'], abs, policy.pubdir)) return refuse(`${abs} is outside the permitted directories`);
  return { ok: true, path: abs, spool: false };
}

async function realpathOrSelf(p: string): Promise<string> {
  return fsp.realpath(p).catch(() => path.resolve(p));
}

/**
 * Full check of a remote-supplied name against the file system: the lexical rules
 * of checkRemoteName, then no symbolic link may lead outside the allowed
 * directories, and an existing target must be a regular file (no devices, FIFOs,
 * sockets, directories or symlinks). For 'read' the file must exist.
 */
export async function resolveRemotePath(name: string, policy: PathPolicy, purpose: 'read' | 'write'): Promise<PathCheck> {
  const lex = checkRemoteName(name, policy, purpose);
  if (!lex.ok || lex.spool) return lex;
  const target = lex.path;
  // Resolve the deepest existing ancestor through any symlinks.
  let existing = path.dirname(target);
  const tail: string[] = [path.basename(target)];
  while (!(await exists(existing))) {
    tail.unshift(path.basename(existing));
    const up = path.dirname(existing);
    if (up === existing) break;
    existing = up;
  }
  const realParent = await realpathOrSelf(existing);
  const realTarget = path.join(realParent, ...tail);
  const allowed = policy.allowed ?? ['~'];
  const realPub = await realpathOrSelf(policy.pubdir);
  const realAllowed = await Promise.all(
    allowed.map(async (e) => {
      const neg = e.startsWith('!');
      const dir = expandTilde(neg ? e.slice(1) : e, policy.pubdir);
      if (!dir || !path.isAbsolute(dir)) return e;
      return (neg ? '!' : '') + (await realpathOrSelf(dir));
    }),
  );
  if (!allowedBy(realAllowed, realTarget, realPub)) return refuse(`${target} leads outside the permitted directories`);
  let st;
  try {
    st = await fsp.lstat(target);
  } catch {
    if (purpose === 'read') return refuse(`${target} does not exist`);
    return { ok: true, path: realTarget, spool: false };
  }
  if (st.isSymbolicLink()) return refuse(`${target} is a symbolic link`);
  if (st.isDirectory()) return refuse(`${target} is a directory`);
  if (!st.isFile()) return refuse(`${target} is a device, FIFO or socket`);
  return { ok: true, path: realTarget, spool: false };
}
