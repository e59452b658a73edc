// uuxqt: runs the execution requests (X. files) other systems left in our UUCP
// spool, with Taylor UUCP's rules (uucp.texi "Execution File Format"; Taylor's
// uuxqt.c behaviour; our rules in docs/uucp.md "uuxqt", the X. file in "Execute files"):
//
//   <spool>/uucp/<sys>/X./X.<...>   the request     <spool>/uucp/<sys>/D./D.<...>   its files
//
// 1. Parse the X. file. One without a command, with a known line missing its
//    argument or with bad quoting is corrupt: it goes to .Corrupt, logged.
// 2. The requesting system is the spool directory's, never the U line's. A
//    directory for a system not in uucp/sys is left alone (logged).
// 3. If an F or I file has not arrived yet, the request waits for a later run.
// 4. The command must be in the system's `commands` (default `rmail rsmtp`;
//    `ALL` allows anything), matched by name or by a full path listed there.
// 5. The commands in the caller's handler table run in-process (exec-command.ts;
//    the mail side's rmail, rsmtp, rgsmtp, rcsmtp and rbsmtp: inject/uuxqt.ts),
//    the queue delivering what they accepted after the run. Other commands run as programs from the system's
//    command-path (default /bin /usr/bin /usr/local/bin): no shell, argv from the
//    C line, stdin the I file, cwd a fresh directory under .Xqtdir (F files with
//    a name are linked there), environment PATH, UU_MACHINE, UU_USER only.
// 6. A refused or failed request is reported by mail from the null sender, as
//    Taylor does: to the R address, else the U user; `<sys>!` is put in front
//    unless the address has an '@' (R is relative to the requesting system).
//    N suppresses it (Z overrides N); n asks for a mail on success too. The mail
//    carries the command, the reason, and the input for rmail and rsmtp (a
//    compressed batch unpacked) and with B; of an input over message_size_limit
//    only the start, so that the refusal of a huge message reaches its sender.
//    A failure nobody is told about keeps its files in .Failed.
// 7. Files are removed only once the outcome is safe: the message or the error
//    mail was accepted durably. A temporary failure (rmail or a program exiting
//    75, a full disk, a busy queue) leaves everything for the next run.
//
// One uuxqt at a time per spool: the lock file <spool>/uucp/LCK.XQT.0.
import { promises as fsp, constants } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log/logger.js';
import { rfc5322Date } from '../message/date.js';
import { fsyncDir, mkdirp } from '../util/durable.js';
import { GatewayError } from '../util/errors.js';
import type { UucpConfig, UucpSystem } from '../config/uucp/types.js';
import type { ExecHandlers, ExecRequest, ExecResult } from './exec-command.js';
import { acquireLock } from './lock.js';
import { type ExecFile, listExecFiles, parseExecFile } from './spool/exec-file.js';
import { isSpoolName, spoolFilePath } from './spool/names.js';
import { moveAside } from './spool/received.js';

export interface UuxqtOptions {
  /** Only requests from this system (`uuxqt -s`). */
  system?: string;
}

/** What uuxqt needs from whoever runs it. */
export interface UuxqtEnv {
  /** The UUCP spool (<spool>/uucp). */
  spoolDir: string;
  /** The uucp/sys file, as the log names it. */
  sysFile: string;
  /** The parsed uucp/ configuration (read once the lock is held). */
  config(): Promise<UucpConfig>;
  log: Pick<Logger, 'log' | 'panic'>;
  clock(): number;
  /** Our names in the notification mails (visible_name, uucp_name). */
  visibleName: string;
  uucpName: string;
  /** message_size_limit: an input over it is returned by its start only. */
  sizeLimit: number;
  /** Commands carried out in-process, by name. */
  commands: ExecHandlers;
  /** Queues a notification mail; its queue id. Throws a GatewayError, temporary or not. */
  sendMail(mail: NoticeMail): Promise<string>;
}

/** A notification mail about a request, from the null sender. */
export interface NoticeMail {
  sender: string;
  recipients: string[];
  data: Buffer;
  origin: string;
  noReceived: boolean;
}

export interface UuxqtSummary {
  /** Another uuxqt holds the lock; nothing was done. */
  busy: boolean;
  /** Requests carried out (rmail accepted, program exited 0). */
  executed: number;
  /** Requests refused or failed for good (requester told, or kept in .Failed). */
  failed: number;
  /** Temporary failures, left for the next run. */
  deferred: number;
  /** Requests whose files have not all arrived. */
  waiting: number;
  /** X. files moved to .Corrupt. */
  corrupt: number;
  /** Requests in the directory of a system not in uucp/sys. */
  skipped: number;
  /** Queue ids accepted (messages and notification mails), for the caller to deliver. */
  accepted: string[];
}

export const UUXQT_LOCK = 'LCK.XQT.0';
/** Requests executed at the same time. */
export const UUXQT_PARALLEL = 8;
export const DEFAULT_COMMAND_PATH = ['/bin', '/usr/bin', '/usr/local/bin'];

const emptySummary = (): UuxqtSummary => ({ busy: false, executed: 0, failed: 0, deferred: 0, waiting: 0, corrupt: 0, skipped: 0, accepted: [] });

export async function uuxqt(env: UuxqtEnv, opts: UuxqtOptions = {}): Promise<UuxqtSummary> {
  const { spoolDir } = env;
  const summary = emptySummary();
  await mkdirp(spoolDir, 0o755);
  const lock = await acquireLock(spoolDir, UUXQT_LOCK);
  if (!lock.ok) {
    summary.busy = true;
    return summary;
  }
  try {
    const uucp = await env.config();
    const files = await listExecFiles(spoolDir, opts.system);
    const one = async (f: (typeof files)[number]): Promise<void> => {
      const system = uucp.findSystem(f.system);
      if (!system) {
        summary.skipped++;
        env.log.log({ event: 'info', reason: `uuxqt: ${f.name} left in ${f.system}/X./: system ${f.system} is not in ${env.sysFile}` });
        return;
      }
      try {
        await runOne({ env, spoolDir, sys: f.system, system, name: f.name, file: f.path }, summary);
      } catch (err) {
        // An unexpected file-system error: leave this request as it is and go on.
        summary.deferred++;
        env.log.panic(`uuxqt: ${f.system}/X./${f.name}: ${(err as Error)?.message ?? String(err)}; left for the next run`);
      }
    };
    // Requests are independent (own X. and D. files); each one's accept
    // waits on fsyncs, so a few run at once and share the queue's group
    // commits (1,000 rmail requests: ~9 ms each one by one).
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < files.length) await one(files[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(UUXQT_PARALLEL, files.length) }, worker));
  } finally {
    await lock.lock.release();
  }
  return summary;
}

// ---------------------------------------------------------------- one request

interface Job {
  env: UuxqtEnv;
  spoolDir: string;
  /** Spool directory name: the system the request came from. */
  sys: string;
  system: UucpSystem;
  name: string;
  file: string;
}

type Outcome = ExecResult;

async function runOne(job: Job, summary: UuxqtSummary): Promise<void> {
  const { env } = job;
  let text: string;
  try {
    text = await fsp.readFile(job.file, 'latin1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // taken by someone else meanwhile
    throw err;
  }
  let x: ExecFile;
  try {
    x = checkExecFile(parseExecFile(text));
  } catch (err) {
    const dest = await moveAside(job.spoolDir, job.file, '.Corrupt');
    summary.corrupt++;
    env.log.log({ event: 'failed', reason: `uuxqt: ${job.sys}/X./${job.name} is corrupt (${(err as Error).message}); moved to ${dest}` });
    return;
  }
  const cmdline = x.command!.join(' ');
  const data = dataFiles(x);
  for (const d of data) {
    if (!(await exists(spoolFilePath(job.spoolDir, job.sys, d)))) {
      summary.waiting++;
      return;
    }
  }

  const outcome = await execute(job, x);
  const what = `uuxqt: ${job.name} from ${job.sys} (${cmdline})`;
  if (outcome.kind === 'temp') {
    summary.deferred++;
    env.log.log({ event: 'deferred', reason: `${what}: ${outcome.reason}; left for the next run` });
    return;
  }

  const mailTo = notifyAddress(job.sys, x);
  if (outcome.kind === 'ok') {
    if (outcome.id) summary.accepted.push(outcome.id);
    if (outcome.ids) summary.accepted.push(...outcome.ids);
    summary.executed++;
    env.log.log({ event: 'info', id: outcome.id, reason: `${what}: ${outcome.detail}` });
    if (x.mailOnSuccess && !x.noMail && mailTo) {
      // The request is done whatever happens to this courtesy mail.
      try {
        summary.accepted.push(await env.sendMail(notice(job, x, mailTo, true, outcome.detail)));
      } catch (err) {
        env.log.log({ event: 'failed', reason: `${what}: success mail to ${mailTo} not sent: ${(err as Error).message}` });
      }
    }
    await removeRequest(job, data);
    return;
  }

  env.log.log({ event: 'failed', reason: `${what}: ${outcome.reason}` });
  const wantMail = !!mailTo && (!x.noMail || !!x.mailOnFail);
  if (wantMail) {
    const input = job.env.commands.get(x.command![0])?.returnsInput || x.returnInput ? await returnedInput(job, x) : undefined;
    const sent = await sendFailure(job, x, mailTo!, outcome, input);
    if (sent.kind === 'temp') {
      summary.deferred++;
      env.log.log({ event: 'deferred', reason: `${what}: error mail to ${mailTo} not queued (${sent.reason}); left for the next run` });
      return;
    }
    summary.failed++;
    if (sent.kind === 'ok') {
      summary.accepted.push(sent.id);
      env.log.log({ event: 'info', id: sent.id, reason: `${what}: error mail queued for ${mailTo}` });
      if (!sent.inputLeftOut) {
        await removeRequest(job, data);
        return;
      }
    } else {
      env.log.log({ event: 'failed', reason: `${what}: error mail to ${mailTo} refused (${sent.reason})` });
    }
  }
  if (!wantMail) summary.failed++;
  const kept = await keepFailed(job, data);
  env.log.log({ event: 'info', reason: `${what}: ${wantMail ? 'input not returned' : 'nobody told (N, or no address)'}; request kept in ${kept}` });
}

/** Data files of the request: spool F files and the I file. */
function dataFiles(x: ExecFile): string[] {
  const out = new Set<string>();
  for (const f of x.files) if (isDataName(f.file)) out.add(f.file);
  if (x.stdin !== undefined && isDataName(x.stdin)) out.add(x.stdin);
  return [...out];
}

const isDataName = (n: string): boolean => isSpoolName(n) && n.startsWith('D.');

/** Validates what parseExecFile read; throws on anything that makes the file corrupt. */
function checkExecFile(x: ExecFile): ExecFile {
  const broken = x.unknown.find((l) => 'UFIOCRM'.includes(l[0]));
  if (broken !== undefined) throw new Error(`malformed line "${broken}"`);
  if (!x.command || x.command.length === 0) throw new Error('no C line (no command)');
  if (x.quoted) {
    const uq = (s: string | undefined): string | undefined => (s === undefined ? s : unquote(s));
    x = {
      ...x,
      user: uq(x.user),
      system: uq(x.system),
      files: x.files.map((f) => ({ file: unquote(f.file), name: uq(f.name) })),
      stdin: uq(x.stdin),
      stdout: x.stdout && { file: unquote(x.stdout.file), system: uq(x.stdout.system) },
      command: x.command.map(unquote),
      requester: uq(x.requester),
    };
  }
  if (x.command![0] === '' || x.command![0].includes('/')) throw new Error(`bad command name "${x.command![0]}"`);
  for (const f of x.files) if (f.name !== undefined && !isPlainName(f.name)) throw new Error(`bad file name "${f.name}" in F line`);
  return x;
}

const isPlainName = (n: string): boolean => n !== '' && n !== '.' && n !== '..' && !n.includes('/') && !/[\0-\x1f]/.test(n);

/** Taylor 1.07's Q quoting: `\\` is a backslash, `\ooo` an octal byte; nothing else may follow `\`. */
export function unquote(s: string): string {
  return s.replace(/\\(\\|[0-7]{3}|.?)/g, (_m, e: string) => {
    if (e === '\\') return '\\';
    if (/^[0-7]{3}$/.test(e)) return String.fromCharCode(Number.parseInt(e, 8) & 0xff);
    throw new Error(`bad backslash quoting in "${s}"`);
  });
}

/** Where mail about the request goes: R, else the U user; `<sys>!` in front unless it has '@'. */
export function notifyAddress(sys: string, x: Pick<ExecFile, 'requester' | 'user'>): string | undefined {
  const addr = x.requester ?? x.user;
  if (!addr) return undefined;
  return addr.includes('@') ? addr : `${sys}!${addr}`;
}

async function exists(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isFile();
  } catch {
    return false;
  }
}

/** The request's standard input file, if it has one in the spool. */
const inputFile = (job: Job, x: ExecFile): string | undefined =>
  x.stdin !== undefined && isDataName(x.stdin) ? spoolFilePath(job.spoolDir, job.sys, x.stdin) : undefined;

async function inputSize(job: Job, x: ExecFile): Promise<number> {
  const file = inputFile(job, x);
  return file ? (await fsp.stat(file)).size : 0;
}

/** The first `upTo` bytes of the request's input (all of it by default). */
async function readInput(job: Job, x: ExecFile, upTo = Infinity): Promise<Buffer> {
  const file = inputFile(job, x);
  if (!file) return Buffer.alloc(0);
  const fh = await fsp.open(file, 'r');
  try {
    const data = Buffer.alloc(Math.min((await fh.stat()).size, upTo));
    let n = 0;
    while (n < data.length) {
      const { bytesRead } = await fh.read(data, n, data.length - n, n);
      if (bytesRead === 0) break; // the file shrank meanwhile
      n += bytesRead;
    }
    return data.subarray(0, n);
  } finally {
    await fh.close();
  }
}

/** How much of an input over message_size_limit an error mail shows (its start, to the last whole line; half the limit at most, so the mail fits). */
const RETURNED_START = 64 * 1024;

/** A failed request's input, as its error mail carries it. */
interface ReturnedInput {
  /** The bytes the mail shows (unless `unusable`). */
  data: Buffer;
  /** The input as the mail's notes name it: "The input (120 bytes)". */
  what: string;
  /** Said above the input. */
  note?: string;
  /** Why the input cannot be shown at all. */
  unusable?: string;
}

/**
 * The input to return with an error mail. A compressed batch goes back
 * unpacked: the requester's administrator wants to read which messages did not
 * get through, and gzip bytes in a mail are no use to a reader (being binary,
 * our own accept refuses them anyway). A batch that does not unpack is named by
 * its size and the reason instead, and the request is kept here.
 */
async function returnedInput(job: Job, x: ExecFile): Promise<ReturnedInput> {
  const size = await inputSize(job, x);
  const limit = job.env.sizeLimit;
  const unpack = job.env.commands.get(x.command![0])?.unpack;
  if (size > limit) {
    const what = `The input (${size} bytes, over the size limit of ${limit})`;
    if (unpack) return { data: Buffer.alloc(0), what, unusable: 'a batch is returned whole or not at all' };
    const start = await readInput(job, x, Math.min(RETURNED_START, Math.floor(limit / 2)));
    const data = start.subarray(0, start.lastIndexOf(0x0a) + 1);
    return { data, what, note: `The input is ${size} bytes, over the size limit of ${limit} bytes; only its first ${data.length} bytes are shown.` };
  }
  const raw = await readInput(job, x);
  const plain = { data: raw, what: `The input (${raw.length} bytes)` };
  if (!unpack) return plain;
  let batch: Buffer;
  try {
    batch = await unpack(raw, x.stdin);
  } catch (err) {
    return { data: raw, what: `The input, a compressed batch of ${raw.length} bytes,`, unusable: (err as Error).message };
  }
  if (batch === raw) return plain; // not compressed: unpackBatch hands it back as it is
  return {
    data: batch,
    what: `The input, a gzip-compressed batch of ${raw.length} bytes (${batch.length} unpacked),`,
    note: `The batch arrived gzip-compressed (${raw.length} bytes); it is shown unpacked (${batch.length} bytes).`,
  };
}

/** Removes the X. file, then its data (a crash in between leaves only harmless data). */
async function removeRequest(job: Job, data: string[]): Promise<void> {
  await unlinkQuiet(job.file);
  await fsyncDir(path.dirname(job.file));
  for (const d of data) await unlinkQuiet(spoolFilePath(job.spoolDir, job.sys, d));
}

/** Moves the X. file and its data into .Failed (data first: the X. file marks the request). */
async function keepFailed(job: Job, data: string[]): Promise<string> {
  for (const d of data) await moveAside(job.spoolDir, spoolFilePath(job.spoolDir, job.sys, d), '.Failed').catch(() => undefined);
  return moveAside(job.spoolDir, job.file, '.Failed');
}

async function unlinkQuiet(file: string): Promise<void> {
  await fsp.unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

// ---------------------------------------------------------------- running the command

async function execute(job: Job, x: ExecFile): Promise<Outcome> {
  const [cmd, ...args] = x.command!;
  const entry = permittedEntry(cmd, job.system.commands);
  if (entry === undefined)
    return { kind: 'fail', reason: `command "${cmd}" is not permitted for system ${job.sys} (commands: ${job.system.commands.join(' ') || 'none'})` };
  if (x.stdin !== undefined && !isDataName(x.stdin))
    return { kind: 'fail', reason: `standard input "${x.stdin}" is not a file in the spool` };
  const handler = job.env.commands.get(cmd);
  if (handler) return handler.run(execRequest(job, x, cmd, args));
  if (x.stdout) return { kind: 'fail', reason: `sending standard output (O ${x.stdout.file}${x.stdout.system ? ` ${x.stdout.system}` : ''}) is not supported` };
  return runProgram(job, x, cmd, entry, args);
}

/** The `commands` entry allowing cmd: the name itself, a path ending in /cmd, or ALL. */
function permittedEntry(cmd: string, commands: string[]): string | undefined {
  for (const c of commands) if (c === cmd || (c.includes('/') && path.basename(c) === cmd)) return c;
  return commands.includes('ALL') ? cmd : undefined;
}

/** The request as a handler sees it. */
function execRequest(job: Job, x: ExecFile, command: string, args: string[]): ExecRequest {
  return {
    command,
    args,
    system: job.sys,
    name: job.name,
    user: x.user,
    stdin: x.stdin,
    inputFile: inputFile(job, x),
    inputSize: () => inputSize(job, x),
    readInput: (upTo) => readInput(job, x, upTo),
  };
}

async function findExecutable(cmd: string, entry: string, dirs: string[]): Promise<string | undefined> {
  const candidates = entry.includes('/') ? [entry] : dirs.map((d) => path.join(d, cmd));
  for (const c of candidates) {
    try {
      await fsp.access(c, constants.X_OK);
      if ((await fsp.stat(c)).isFile()) return c;
    } catch {
      /* try the next */
    }
  }
  return undefined;
}

async function runProgram(job: Job, x: ExecFile, cmd: string, entry: string, args: string[]): Promise<Outcome> {
  const dirs = job.system.commandPath ?? DEFAULT_COMMAND_PATH;
  const exe = await findExecutable(cmd, entry, dirs);
  if (!exe) return { kind: 'fail', reason: `command "${cmd}" not found in the command path (${dirs.join(' ')})` };
  const work = path.join(job.spoolDir, '.Xqtdir', `${job.name}.${process.pid}.${randomBytes(3).toString('hex')}`);
  let input: fsp.FileHandle | undefined;
  try {
    await mkdirp(work, 0o755);
    for (const f of x.files) {
      const name = f.name;
      if (name === undefined || !isDataName(f.file)) continue;
      const from = spoolFilePath(job.spoolDir, job.sys, f.file);
      await fsp.link(from, path.join(work, name)).catch(() => fsp.copyFile(from, path.join(work, name)));
    }
    if (x.stdin !== undefined) input = await fsp.open(spoolFilePath(job.spoolDir, job.sys, x.stdin), 'r');
  } catch (err) {
    await input?.close();
    await fsp.rm(work, { recursive: true, force: true });
    return { kind: 'temp', reason: `cannot prepare ${work}: ${(err as Error).message}` };
  }
  try {
    const r = await spawnCollect(exe, args, {
      cwd: work,
      env: { PATH: dirs.join(':'), UU_MACHINE: job.sys, UU_USER: x.user ?? 'uucp' },
      stdin: input?.fd,
    });
    if (r.error) return { kind: 'fail', reason: `cannot run ${exe}: ${r.error.message}` };
    if (r.code === 0) return { kind: 'ok', detail: `${exe} exited 0` };
    if (r.code === 75) return { kind: 'temp', reason: `${exe} exited 75 (temporary failure)${r.stderr ? `: ${r.stderr.trim()}` : ''}` };
    return { kind: 'fail', reason: `${exe} ${r.signal ? `was killed by ${r.signal}` : `exited ${r.code}`}`, stderr: r.stderr };
  } finally {
    await input?.close();
    await fsp.rm(work, { recursive: true, force: true });
  }
}

interface SpawnResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  error?: Error;
}

const STDERR_LIMIT = 16 * 1024;

function spawnCollect(exe: string, args: string[], o: { cwd: string; env: NodeJS.ProcessEnv; stdin?: number }): Promise<SpawnResult> {
  return new Promise((resolve) => {
    const child = spawn(exe, args, { cwd: o.cwd, env: o.env, stdio: [o.stdin ?? 'ignore', 'ignore', 'pipe'], shell: false });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < STDERR_LIMIT) stderr += d.toString('latin1').slice(0, STDERR_LIMIT - stderr.length);
    });
    child.on('error', (error) => resolve({ code: null, signal: null, stderr, error }));
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

// ---------------------------------------------------------------- notification mail

/** Builds the mail about a request (Taylor's subjects: "Execution failed" / "Execution succeeded"). */
function notice(job: Job, x: ExecFile, to: string, success: boolean, detail: string, stderr?: string, input?: Buffer, inputNote?: string): NoticeMail {
  const { visibleName, uucpName } = job.env;
  const now = job.env.clock();
  const lines = [
    `From: UUCP execution daemon <MAILER-DAEMON@${visibleName}>`,
    `To: ${to}`,
    `Subject: Execution ${success ? 'succeeded' : 'failed'}`,
    `Date: ${rfc5322Date(new Date(now))}`,
    `Message-ID: <${now.toString(36)}.${randomBytes(4).toString('hex')}@${visibleName}>`,
    `Auto-Submitted: auto-replied`,
    ``,
    success
      ? `Your execution request from ${job.sys} was carried out at ${uucpName}.`
      : `Your execution request from ${job.sys} could not be carried out at ${uucpName}.`,
    ``,
    `  Command:   ${x.command!.join(' ')}`,
    `  Request:   ${job.name} (from ${x.user ?? 'an unnamed user'}${x.system ? ` on ${x.system}` : ''})`,
    `  ${success ? 'Result:  ' : 'Reason:  '} ${detail}`,
  ];
  if (stderr !== undefined) {
    const shown = stderr.replace(/\s+$/, '');
    lines.push('', shown ? 'Standard error output was:' : 'There was no output on standard error.');
    if (shown) lines.push(...shown.split('\n').map((l) => `  ${l.replace(/[\0\r]/g, '?').slice(0, 900)}`));
  }
  if (inputNote) lines.push('', inputNote);
  let text = lines.join('\n') + '\n';
  if (input) text += `\n----- The input of the request follows -----\n`;
  const data = input ? Buffer.concat([Buffer.from(text, 'latin1'), input]) : Buffer.from(text, 'latin1');
  return { sender: '', recipients: [to], data, origin: 'uuxqt', noReceived: true };
}

async function sendFailure(
  job: Job,
  x: ExecFile,
  to: string,
  outcome: Extract<Outcome, { kind: 'fail' }>,
  input: ReturnedInput | undefined,
): Promise<{ kind: 'ok'; id: string; inputLeftOut?: boolean } | { kind: 'temp' | 'perm'; reason: string }> {
  const attempt = async (req: ReturnType<typeof notice>) => {
    try {
      return { kind: 'ok' as const, id: await job.env.sendMail(req) };
    } catch (err) {
      const reason = (err as Error)?.message ?? String(err);
      return { kind: err instanceof GatewayError && !err.temporary ? ('perm' as const) : ('temp' as const), reason };
    }
  };
  /** The mail without the input, which is kept (in .Failed) for the administrator. */
  const leftOut = async (what: string, why: string) => {
    const note = `${what} could not be included (${why}); it is kept at ${job.env.uucpName} for the administrator.`;
    const r = await attempt(notice(job, x, to, false, outcome.reason, outcome.stderr, undefined, note));
    return r.kind === 'ok' ? { ...r, inputLeftOut: true } : r;
  };
  if (input?.unusable) return leftOut(input.what, input.unusable);
  const first = await attempt(notice(job, x, to, false, outcome.reason, outcome.stderr, input?.data.length ? input.data : undefined, input?.note));
  if (first.kind !== 'perm' || !input?.data.length) return first;
  // The input itself could not travel as mail (too big, NUL bytes, long lines): say so instead.
  return leftOut(input.what, first.reason);
}
