// Execute files: <sys>/X./X.<...>, a request another system left for uuxqt
// (Taylor manual "Execution File Format"), one line per item, a letter first:
//
//   U <user> [<system>]      who asked            F <file> [<name>]   a file the command needs
//   I <file>                 standard input       O <file> [<system>] where standard output goes
//   C <command> [<args>...]  the command          R <address>         whom to mail about it
//   M <file>                 status file          Z N n B e E Q       flags (mail on failure, no
//                                                                     mail, mail on success, return
//                                                                     input, shell, exec, quoted)
//
// Arguments are separated by blanks; `#` starts a comment line; a letter we do
// not know is kept (for the log), not fatal. uuxqt.ts decides what a line the
// parser kept as unknown means.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { dataError } from '../../util/errors.js';
import { isSpoolName, listSpoolSystems, systemDir } from './names.js';

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
