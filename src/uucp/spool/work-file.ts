// Work files: <sys>/C./C.<grade><seq>, one protocol command per line, in the
// form Taylor's uucp and uux write (Taylor's lib/parse.c reads them):
//
//   S <from> <to> <user> -<options> <temp> <mode> <notify>      send a file
//   R <from> <to> <user> -<options>                             fetch a file
//   X <from> <to> <user> -<options>                             ask the remote to send (uucp a!x b!y)
//   E <from> <to> <user> -<options> <temp> <mode> <notify> <size> <command...>   send and execute
//
// Fields are separated by blanks; <mode> is octal; <temp> is the spool data file
// (D.<seq>, or D.0 when none); an empty <notify> is written "" on E lines.
// A finished command is marked done by rewriting the file without it
// (durably, as every spool file is written: names.ts).
import { promises as fsp, constants } from 'node:fs';
import path from 'node:path';
import { fsyncDir, fsyncFile, mkdirp, writeFileAtomic, writeNewFile } from '../../util/durable.js';
import { EX, GatewayError, dataError } from '../../util/errors.js';
import { compareGrades, isGrade, isSpoolName, jobIdOf, nextSequence, spoolFilePath, systemDir, tmpName } from './names.js';

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
    await fsyncFile(file);
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
