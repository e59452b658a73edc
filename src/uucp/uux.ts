// Queueing a remote execution (what `uux` does) into the Taylor-layout spool.
//
// Default form, understood by every UUCP: a data file and a generated X. file,
// sent with two S commands (as Taylor's `uux -b` writes them):
//
//   C.N0002:  S D.0001 D.leafN0001 user -C D.0001 0666 \n
//             S D.X0002 X.leafN0002 user -C D.X0002 0666 \n
//   D.X0002:  U user leaf\nF D.leafN0001\nI D.leafN0001\nC rmail bob\n
//
// With `useE`, one E command instead (only for peers announcing E support):
//
//   E D.0001 D.leafN0001 user -C D.0001 0666 "" 0 rmail bob
//
// Arguments go into the C line literally; nothing here runs a shell. An argument
// that cannot be carried in a C line (blank, control character, empty) is refused.
import { GatewayError, EX, usageError } from '../util/errors.js';
import { type ExecFile, formatExecFile } from './spool/exec-file.js';
import { type WorkCommand, type WorkFile, writeSpoolData, writeWorkFile } from './spool/work-file.js';
import { checkSystemName, isGrade, nextSequences, spoolFilePath } from './spool/names.js';
import { promises as fsp } from 'node:fs';

export interface QueueExecutionOptions {
  spoolDir: string;
  /** Remote system to run the command on. */
  system: string;
  /** Our UUCP name, as the remote knows us (used in the remote file names). */
  localName: string;
  command: string;
  args: string[];
  /** Standard input: the bytes, or `{ path }` of a file to copy into the spool. */
  stdin?: Buffer | string | { path: string };
  /** Job grade (default 'N', like Taylor's uux). */
  grade?: string;
  /** Local user requesting the job (default 'uucp'). */
  requester?: string;
  /** Where the remote should mail about the job (X. `R` line, E `R` option). */
  notify?: string;
  /** `N`: never mail about the job. */
  noMail?: boolean;
  /** `Z`: mail only on failure. */
  mailOnFail?: boolean;
  /** Write one E command instead of S data + S X. (peer must support E). */
  useE?: boolean;
  /** File mode for spool files (default 0600). */
  mode?: number;
}

export interface QueuedExecution {
  jobId: string;
  workFile: WorkFile;
  /** Spool paths written: data file, then the D.X file (S form). */
  dataFiles: string[];
}

function checkWord(v: string, what: string): void {
  if (v === '' || /[\s\0-\x1f\x7f]/.test(v))
    throw new GatewayError(`${what} "${v}" cannot be carried in a UUCP command line (empty, blank or control character)`, {
      exitCode: EX.DATAERR,
      status: '5.6.0',
    });
}

/** Queues one execution request. Data files are durable before the work file appears. */
export async function queueExecution(o: QueueExecutionOptions): Promise<QueuedExecution> {
  checkSystemName(o.system);
  checkSystemName(o.localName);
  const grade = o.grade ?? 'N';
  if (!isGrade(grade)) throw usageError(`bad grade "${grade}"`);
  const user = o.requester ?? 'uucp';
  checkWord(user, 'requester');
  checkWord(o.command, 'command');
  for (const a of o.args) checkWord(a, 'argument');
  if (o.notify !== undefined) checkWord(o.notify, 'notify address');

  const mode = o.mode ?? 0o600;
  const hasInput = o.stdin !== undefined;
  const written: string[] = [];
  try {
    if (o.useE) {
      const [seq] = await nextSequences(o.spoolDir, o.system, 1);
      const temp = `D.${seq}`;
      // E requires a data file; an empty one stands for "no input".
      written.push(await writeSpoolData(o.spoolDir, o.system, temp, hasInput ? o.stdin! : Buffer.alloc(0), mode));
      let opts = 'C';
      if (o.noMail) opts += 'N';
      if (o.mailOnFail) opts += 'Z';
      if (o.notify) opts += 'R';
      const cmd: WorkCommand = {
        type: 'E',
        from: temp,
        to: `D.${o.localName}${grade}${seq}`,
        user,
        options: opts,
        temp,
        mode: 0o666,
        notify: o.notify ?? '',
        command: [o.command, ...o.args],
      };
      const wf = await writeWorkFile(o.spoolDir, o.system, grade, [cmd], { seq, mode });
      return { jobId: wf.jobId, workFile: wf, dataFiles: written };
    }

    const [dseq, xseq] = await nextSequences(o.spoolDir, o.system, 2);
    const remoteData = `D.${o.localName}${grade}${dseq}`;
    const remoteX = `X.${o.localName}${grade}${xseq}`;
    const cmds: WorkCommand[] = [];
    if (hasInput) cmds.push({ type: 'S', from: `D.${dseq}`, to: remoteData, user, options: 'C', temp: `D.${dseq}`, mode: 0o666, notify: '' });
    const x: ExecFile = {
      user,
      system: o.localName,
      files: hasInput ? [{ file: remoteData }] : [],
      stdin: hasInput ? remoteData : undefined,
      noMail: o.noMail,
      mailOnFail: o.mailOnFail,
      requester: o.notify,
      command: [o.command, ...o.args],
      unknown: [],
    };
    // Both data files at once (their fsyncs overlap); both are durable before the work file appears.
    const writes = [
      ...(hasInput ? [writeSpoolData(o.spoolDir, o.system, `D.${dseq}`, o.stdin!, mode)] : []),
      writeSpoolData(o.spoolDir, o.system, `D.X${xseq}`, formatExecFile(x), mode),
    ];
    const settled = await Promise.allSettled(writes);
    for (const r of settled) if (r.status === 'fulfilled') written.push(r.value);
    for (const r of settled) if (r.status === 'rejected') throw r.reason;
    cmds.push({ type: 'S', from: `D.X${xseq}`, to: remoteX, user, options: 'C', temp: `D.X${xseq}`, mode: 0o666, notify: '' });
    const wf = await writeWorkFile(o.spoolDir, o.system, grade, cmds, { seq: xseq, mode });
    return { jobId: wf.jobId, workFile: wf, dataFiles: written };
  } catch (err) {
    // Leave no orphan data behind when the work file could not be written.
    for (const f of written) await fsp.unlink(f).catch(() => undefined);
    throw err;
  }
}

/** Path of a spool file written by queueExecution (convenience for callers and tests). */
export function spoolPath(spoolDir: string, system: string, name: string): string {
  return spoolFilePath(spoolDir, system, name);
}

// ---------------------------------------------------------------- command line

export interface UuxRequest {
  /** Remote system; '' for the local system (`!cmd` or plain `cmd`). */
  system: string;
  command: string;
  args: string[];
  /** `-` / `-p`: read standard input. */
  readStdin: boolean;
  /** `-r`: queue only, do not start a call. */
  queueOnly: boolean;
  grade?: string;
  /** `-a addr`. */
  requester?: string;
  /** `-n` none, `-z` on error only, default Taylor behaviour otherwise. */
  notify: 'default' | 'none' | 'error';
  /** `-j`: print the job id. */
  printJobId: boolean;
  /** `-b`: return standard input with the error. */
  returnInput: boolean;
  /** `-I file` (Taylor config), kept for the CLI. */
  configFile?: string;
}

/** Removes one pair of protecting parentheses, as uux does: `(a!b)` → `a!b`. */
function stripParens(a: string): string {
  return a.length >= 2 && a.startsWith('(') && a.endsWith(')') ? a.slice(1, -1) : a;
}

/**
 * Parses uux's command line (after the program name): options, then
 * `system!command args...`. Arguments are taken literally (parentheses removed);
 * unlike real uux, `sys!file` arguments are not file transfers. Pure.
 */
export function parseUuxArgs(argv: string[]): UuxRequest {
  const r: UuxRequest = {
    system: '',
    command: '',
    args: [],
    readStdin: false,
    queueOnly: false,
    notify: 'default',
    printJobId: false,
    returnInput: false,
  };
  let i = 0;
  const value = (opt: string): string => {
    const v = argv[++i];
    if (v === undefined) throw usageError(`uux: option ${opt} needs an argument`);
    return v;
  };
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      i++;
      break;
    }
    if (a === '-') {
      r.readStdin = true;
      continue;
    }
    if (!a.startsWith('-') || a.length < 2) break;
    // Grouped single-letter options, e.g. -rn or -ga.
    for (let j = 1; j < a.length; j++) {
      const c = a[j];
      const attached = a.slice(j + 1);
      const take = (): string => {
        if (attached) {
          j = a.length;
          return attached;
        }
        return value(`-${c}`);
      };
      switch (c) {
        case 'p': r.readStdin = true; break;
        case 'r': r.queueOnly = true; break;
        case 'n': r.notify = 'none'; break;
        case 'z': r.notify = 'error'; break;
        case 'j': r.printJobId = true; break;
        case 'b': r.returnInput = true; break;
        case 'c': case 'C': case 'l': break; // copy/link choices: nothing to copy here
        case 'g': {
          const g = take();
          if (!isGrade(g)) throw usageError(`uux: bad grade "${g}"`);
          r.grade = g;
          break;
        }
        case 'a': r.requester = take(); break;
        case 'I': r.configFile = take(); break;
        case 's': case 'x': take(); break; // status file / debug: accepted, ignored
        default: throw usageError(`uux: unknown option -${c}`);
      }
    }
  }
  const rest = argv.slice(i);
  if (rest.length === 0) throw usageError('uux: no command given');
  // The command may be given as one quoted word: "hub!rmail bob".
  const words = rest[0].trim().split(/\s+/).concat(rest.slice(1));
  const first = words[0];
  const bang = first.indexOf('!');
  if (bang >= 0) {
    r.system = first.slice(0, bang);
    r.command = first.slice(bang + 1);
  } else {
    r.command = first;
  }
  if (r.system !== '') checkSystemName(r.system);
  if (r.command === '' || r.command.includes('/') || r.command.includes('!'))
    throw usageError(`uux: bad command "${r.command}"`);
  r.args = words.slice(1).filter((w) => w !== '').map(stripParens);
  for (const a of r.args) if (a === '' || /[\s\0]/.test(a)) throw usageError(`uux: bad argument "${a}"`);
  return r;
}
