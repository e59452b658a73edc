// The UUCP file commands once a protocol runs (docs/uucp.md "File commands"; Taylor
// manual "UUCP Protocol Commands"; Taylor's send.c/rec.c read for behaviour):
//
//   S from to user -opts temp mode notify [size]   → SY [0x<offset>] | SN2 SN4 SN6 SN7 SN8 SN9 SN10
//   E from to user -opts temp mode notify size cmd → EY | EN...       (data is the command's stdin)
//        ... file data, then end of file ...       → CY | CYM | CN5   (from the receiver)
//   R from to user -opts [maxsize]                 → RY 0<mode> [0x<size>] | RN2 RN6 RN9
//        ... file data ...                         → CY | CN5         (from the requester)
//   X from to user -opts                           → XY | XN
//
// Receiving: the name is checked (spool D./X. names, or paths inside the
// directories `remote-receive` allows; never `..`, devices or symlinks out),
// the data goes to `.Temp/<sys>/<temp>`, is fsync'd and moved into place, and
// only then is CY sent: a file we acknowledged survives a crash. A file whose
// acknowledgement may have been lost is remembered in `.Received` so a resend
// gets SN8. Sending: a work command is marked done only after CY (or SN8).
//
// Damage g's checksum missed: from a peer that sends no digest, a file during
// which the line damaged packets is refused when the chance that one slipped
// through passes MAX_UNDETECTED_RISK (damageWatch). Not with CN: Taylor then
// drops the job for good and mails the user; we close the protocol and hang
// up before the CY instead, so the sender keeps the job and retries at its
// next call.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { mkdirp, writeAll } from '../util/durable.js';
import { EX, GatewayError } from '../util/errors.js';
import type { UucpSystem } from '../config/uucp/types.js';
import type { Protocol } from './protocol/protocol.js';
import { FEATURE } from './features.js';
import {
  DIGEST_TRIES,
  digestBytes,
  digestCommand,
  digestFile,
  digestHandle,
  digestsMatch,
  firstBadChunk,
  parseDigestCommand,
  verifiedPrefix,
  type FileDigest,
} from './session-digest.js';
import { type ExecuteCommand, type SendCommand, type WorkCommand } from './spool/work-file.js';
import { type PathCheck, type PathPolicy, checkRemoteName, resolveRemotePath } from './spool/remote-path.js';
import { formatExecFile } from './spool/exec-file.js';
import { isSpoolName, spoolFilePath } from './spool/names.js';
import { markReceived, receiveTempPath, storeReceivedFile, takeReceived } from './spool/received.js';
import type { Trace } from './trace.js';
import type { ProgressSink } from './progress.js';

export interface TransferStats {
  bytesSent: number;
  bytesReceived: number;
  filesSent: number;
  filesReceived: number;
  /** Execution (X.) files that arrived, directly or made from E commands. */
  execReceived: number;
}

export const emptyStats = (): TransferStats => ({ bytesSent: 0, bytesReceived: 0, filesSent: 0, filesReceived: 0, execReceived: 0 });

export interface TransferEnv {
  spoolDir: string;
  pubdir: string;
  localName: string;
  trace: Trace;
  log: (message: string) => void;
  progress?: ProgressSink;
}

export type Outcome = 'done' | 'keep';

const protocolError = (m: string): GatewayError => new GatewayError(m, { exitCode: EX.PROTOCOL, temporary: true });

/**
 * Above this chance that damage passed the protocol's check unseen, a file no
 * digest protects is refused: a bad file in a thousand on a line that bad. For
 * g (a miss rate of 2.5 % per damaged packet, g/packet.ts) one damaged packet
 * is already past it: such a file crosses only on a clean run.
 */
export const MAX_UNDETECTED_RISK = 1e-3;

/**
 * Watches the damage caught while a file comes in over a protocol whose check
 * can miss some (`weakCheck`), unless a digest will check the file: the
 * returned function says why the file must be refused, or undefined.
 */
function damageWatch(p: Protocol, digest: boolean): () => string | undefined {
  const check = digest ? undefined : p.weakCheck;
  if (!check) return () => undefined;
  const start = check.damaged();
  return () => {
    const n = check.damaged() - start;
    const risk = check.risk(n);
    if (risk <= MAX_UNDETECTED_RISK) return undefined;
    return `${n} damaged packet${n === 1 ? '' : 's'} on the way: ${(risk * 100).toPrecision(2)} % likely that ${p.name}'s checksum let damage through`;
  };
}

/** A size field: hex with 0x (Taylor ≥ 1.04), else decimal; -1 when absent or garbled. */
function parseSize(s: string | undefined): number {
  if (s === undefined) return -1;
  if (/^0x[0-9a-f]+$/i.test(s)) return parseInt(s.slice(2), 16);
  if (/^\d+$/.test(s)) return parseInt(s, 10);
  return -1;
}

/** Splits a received S/E/R/X command (SVR4's `dummy` word before the size is skipped). */
function fields(cmd: string): string[] {
  const f = cmd.split(/[ \t]+/).filter((w) => w !== '');
  if ((f[0] === 'S' || f[0] === 'E') && f[8] === 'dummy') f.splice(8, 1);
  return f;
}

const opts = (s: string | undefined): string => (s ?? '').replace(/^-/, '');

/** What an S or E command says about the file it sends. */
interface JobFile {
  from: string;
  to: string;
  user: string;
  options: string;
  temp: string;
  mode: number;
  notify: string;
  command?: string[];
}

export class Transfers {
  /** Temp names remembered in `.Received` during this session (forgotten when it ends cleanly). */
  readonly remembered: string[] = [];

  constructor(
    private readonly proto: Protocol,
    private readonly sys: UucpSystem,
    private readonly features: number,
    private readonly env: TransferEnv,
    readonly stats: TransferStats,
  ) {}

  /** A receive sink that also reports progress (when someone listens); `done()` ends the report. */
  private counted(name: string, size: number, from: number, sink: (c: Uint8Array) => Promise<void> | void): { write: (c: Uint8Array) => Promise<void> | void; done: () => void } {
    const report = this.env.progress;
    if (!report) return { write: sink, done: () => undefined };
    const p = { system: this.sys.name, name, direction: 'receive' as const, size, bytes: from, done: false, started: Date.now() };
    return {
      write: (chunk) => {
        p.bytes += chunk.length;
        report(p);
        return sink(chunk);
      },
      done: () => report({ ...p, done: true }),
    };
  }

  /** A send source that reports progress, and a final event once it is exhausted. */
  private countedSource(name: string, size: number, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, from = 0): AsyncIterable<Uint8Array> | Iterable<Uint8Array> {
    const report = this.env.progress;
    if (!report) return source;
    const p = { system: this.sys.name, name, direction: 'send' as const, size, bytes: from, done: false, started: Date.now() };
    return (async function* () {
      for await (const chunk of source) {
        p.bytes += chunk.length;
        report(p);
        yield chunk;
      }
      report({ ...p, done: true });
    })();
  }

  private get pubdir(): string {
    return this.sys.pubdir ?? this.env.pubdir;
  }

  private policy(allowed: string[]): PathPolicy {
    return { spoolDir: this.env.spoolDir, system: this.sys.name, pubdir: this.pubdir, allowed };
  }

  private async send(cmd: string): Promise<void> {
    this.env.trace.log('uucp-proto', `sending "${cmd}"`);
    await this.proto.sendCommand(cmd);
  }

  async read(what: string): Promise<string> {
    const c = await this.proto.readCommand();
    this.env.trace.log('uucp-proto', `got "${c}" (${what})`);
    return c;
  }

  // ============================================================ remote requests

  /** The peer wants to send us a file (S) or run a command with a file as input (E). */
  async remoteSend(cmd: string): Promise<void> {
    const f = fields(cmd);
    const kind = f[0] as 'S' | 'E';
    const [, from, to, , , temp, modeS] = f;
    const log = this.env.log;
    if (!from || !to) {
      log(`garbled command "${cmd}"`);
      return this.send(`${kind}N2`);
    }
    const size = this.features & FEATURE.SIZES ? parseSize(f[8]) : -1;
    const target = await this.receiveTarget(kind, from, to);
    if (!target.ok) {
      log(`${this.sys.name}: refused to receive ${to}: ${target.reason}`);
      return this.send(`${kind}N2`);
    }
    if (temp && isSpoolName(temp) && (await takeReceived(this.env.spoolDir, this.sys.name, temp))) {
      log(`${this.sys.name}: ${to} was already received (our acknowledgement was lost)`);
      await this.remember(temp);
      return this.send(`${kind}N8`);
    }
    if (size >= 0 && (await this.freeBytesCached()) < size) {
      log(`${this.sys.name}: ${to} (${size} bytes) is too big to receive now`);
      return this.send(`${kind}N6`);
    }

    const tempPath = receiveTempPath(this.env.spoolDir, this.sys.name, temp);
    await this.mkdirOnce(path.dirname(tempPath));
    // A partial file from an interrupted call under the same temp name: restart it.
    let offset = 0;
    // S files and E jobs (Taylor sends mail as E) both restart at the offset we hold.
    const restartable = (this.features & FEATURE.RESTART) !== 0 && !!temp && isSpoolName(temp);
    if (restartable) offset = (await fsp.stat(tempPath).catch(() => undefined))?.size ?? 0;
    // A whole file that failed its digest in this call: ask for its first damaged chunk only.
    const repair = restartable ? this.repairRange(tempPath, offset) : undefined;
    if (repair) offset = repair.at;
    const fh = await fsp.open(tempPath, repair ? 'r+' : offset > 0 ? 'a' : 'w', 0o600);
    const out = bufferedWriter(fh, repair?.at);
    const suspect = damageWatch(this.proto, (this.features & FEATURE.DIGEST) !== 0);
    let n: number;
    try {
      await this.send(repair ? `${kind}Y 0x${repair.at.toString(16)} 0x${repair.length.toString(16)}` : offset > 0 ? `${kind}Y 0x${offset.toString(16)}` : `${kind}Y`);
      log(`${this.sys.name}: receiving ${kind === 'E' ? f.slice(9).join(' ') : to}${offset ? ` from byte ${offset}` : ''}${repair ? ` (${repair.length} bytes to repair)` : ''}`);
      const rx = this.counted(to, parseSize(f[8]), offset, out.write);
      n = await this.proto.receiveFile(rx.write);
      await out.flush();
      rx.done();
    } catch (err) {
      // What arrived came in order: keep it for a restart, unless damage g may have missed makes it suspect.
      const keep = restartable && !suspect();
      if (keep) await out.flush().catch(() => undefined);
      await fh.close().catch(() => undefined);
      if (!keep) await fsp.unlink(tempPath).catch(() => undefined);
      throw err;
    }
    const refusal = suspect();
    if (refusal) {
      await fh.close().catch(() => undefined);
      await fsp.unlink(tempPath).catch(() => undefined);
      log(`${this.sys.name}: ${to} refused: ${refusal}; hanging up so that the sender keeps it`);
      // Closed, not just dropped: g's CLOSE ends the peer's call at once (a pty line may never hang up).
      await this.proto.shutdown().catch(() => undefined);
      throw protocolError(`${to} refused: ${refusal}`);
    }
    // A uugate peer sends the file's SHA-256 next: damage g missed is refused here.
    const check = this.features & FEATURE.DIGEST ? await this.digestCheck(tempPath, to) : 'ok';
    if (check !== 'ok') {
      await fh.close().catch(() => undefined);
      await this.keepForRetry(restartable, tempPath, check);
      return this.send('CN5');
    }
    this.failedDigests.delete(tempPath);
    const mode = target.spool ? 0o600 : parseInt(modeS ?? '666', 8) & 0o111 ? 0o755 : 0o644;
    // Mode and fsync through the handle we hold: no reopening the file to sync it.
    let synced = false;
    try {
      await fh.chmod(mode);
      await fh.sync();
      synced = true;
    } catch {
      /* storeReceivedFile does it by name, and reports what fails */
    }
    await fh.close();
    this.stats.bytesReceived += n;
    this.freeCache = this.freeCache && { ...this.freeCache, bytes: this.freeCache.bytes - n };

    try {
      await storeReceivedFile(tempPath, target.path, { mode, synced, dirs: this.dirs });
      if (kind === 'E') await this.writeExecFile(f, to);
    } catch (err) {
      log(`${this.sys.name}: ${to}: could not move into place: ${(err as Error).message}`);
      await fsp.unlink(tempPath).catch(() => undefined);
      return this.send('CN5');
    }
    this.stats.filesReceived++;
    if (kind === 'E' || (target.spool && to.startsWith('X.'))) this.stats.execReceived++;
    if (temp && isSpoolName(temp)) await this.remember(temp);
    log(`${this.sys.name}: received ${to} (${n} bytes)`);
    await this.send('CY');
  }

  /**
   * Reads the sender's digest command and checks the file as received
   * (restarted prefix included): 'ok', or both digests.
   */
  private async digestCheck(tempPath: string, to: string): Promise<'ok' | { got: FileDigest; want: FileDigest }> {
    const cmd = await this.read('file digest');
    const want = parseDigestCommand(cmd);
    if (!want) throw protocolError(`expected the file digest, got "${cmd}"`);
    const got = await digestFile(tempPath, want.chunk);
    if (digestsMatch(got, want)) return 'ok';
    const prefix = verifiedPrefix(got, want);
    this.env.log(`${this.sys.name}: ${to} was damaged in transit (SHA-256 differs; ${got.size} of ${want.size} bytes, the first ${prefix} good): refused, the sender tries again`);
    return { got, want };
  }

  /** Whole files that failed the check in this call, by temp path: their size and first damaged chunk. */
  private readonly failedDigests = new Map<string, { size: number; at: number; length: number }>();

  /** After a digest mismatch: keep the whole file for a repair, else the good prefix for a restart, else nothing. */
  private async keepForRetry(restartable: boolean, tempPath: string, d: { got: FileDigest; want: FileDigest }): Promise<void> {
    this.failedDigests.delete(tempPath);
    const bad = restartable ? firstBadChunk(d.got, d.want) : undefined;
    const prefix = verifiedPrefix(d.got, d.want);
    if (bad) this.failedDigests.set(tempPath, { size: d.want.size, ...bad });
    else if (restartable && prefix > 0) await fsp.truncate(tempPath, prefix);
    else await fsp.unlink(tempPath).catch(() => undefined);
  }

  /** The first damaged chunk of a whole file held from a failed try in this call (the file is unchanged since), if any. */
  private repairRange(tempPath: string, held: number): { at: number; length: number } | undefined {
    const failed = this.failedDigests.get(tempPath);
    return failed && held === failed.size ? failed : undefined;
  }

  private async remember(temp: string): Promise<void> {
    await markReceived(this.env.spoolDir, this.sys.name, temp, this.dirs);
    this.remembered.push(temp);
  }

  /** Called when the conversation ended cleanly: every CY we sent was seen. */
  async forgetReceived(): Promise<void> {
    const all = this.remembered.splice(0);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < all.length) await takeReceived(this.env.spoolDir, this.sys.name, all[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(8, all.length) }, worker));
  }

  /** Directories this session created or found (spool .Temp/, .Received/, D./, X.): made once. */
  private readonly dirs = new Set<string>();

  private async mkdirOnce(dir: string): Promise<void> {
    if (this.dirs.has(dir)) return;
    await mkdirp(dir, 0o755);
    this.dirs.add(dir);
  }

  /** statfs at most once a second; bytes received since are taken off. */
  private freeCache?: { at: number; bytes: number };

  private async freeBytesCached(): Promise<number> {
    const now = Date.now();
    if (!this.freeCache || now - this.freeCache.at > 1000) this.freeCache = { at: now, bytes: await freeBytes(this.env.spoolDir) };
    return this.freeCache.bytes;
  }

  /** Where a file the peer sends goes, or why it may not. */
  private async receiveTarget(kind: 'S' | 'E', from: string, to: string): Promise<PathCheck> {
    if (kind === 'E' && !(isSpoolName(to) && to.startsWith('D.')))
      return { ok: false, reason: 'an execution request may only carry a D. file' };
    const policy = this.policy(this.sys.remoteReceive);
    let name = to;
    const lex = checkRemoteName(name, policy, 'write');
    if (lex.ok && !lex.spool) {
      const isDir = name.endsWith('/') || (await fsp.stat(lex.path).catch(() => undefined))?.isDirectory();
      if (isDir) {
        const base = path.posix.basename(from);
        if (!base || base === '..' || base === '.') return { ok: false, reason: `no file name in "${from}"` };
        name = `${name.replace(/\/+$/, '')}/${base}`;
      }
    }
    return resolveRemotePath(name, policy, 'write');
  }

  /** An E command's execution file: the data file name with X for D (as Taylor does). */
  private async writeExecFile(f: string[], to: string): Promise<void> {
    const [, , , user, o, , , notify] = f;
    const o2 = opts(o);
    const command = f.slice(9);
    if (command.length === 0) throw protocolError('E command without a command');
    const xName = `X.${to.slice(2)}`;
    const text = formatExecFile({
      user: user ?? 'uucp',
      system: this.sys.name,
      files: [{ file: to }],
      stdin: to,
      command,
      noMail: o2.includes('N'),
      mailOnFail: o2.includes('Z'),
      requester: o2.includes('R') && notify && notify !== '""' ? notify : undefined,
      useShell: o2.includes('e'),
      unknown: [],
    });
    const tmp = receiveTempPath(this.env.spoolDir, this.sys.name);
    await mkdirp(path.dirname(tmp), 0o755);
    await fsp.writeFile(tmp, text, { mode: 0o600 });
    await storeReceivedFile(tmp, spoolFilePath(this.env.spoolDir, this.sys.name, xName), { mode: 0o600 });
  }

  /** The peer requests one of our files (R). */
  async remoteReceive(cmd: string): Promise<void> {
    const f = fields(cmd);
    const [, from, to] = f;
    const log = this.env.log;
    if (!from || !to) {
      log(`garbled command "${cmd}"`);
      return this.send('RN2');
    }
    let check: PathCheck;
    if (!from.includes('/') && isSpoolName(from)) check = { ok: false, reason: 'spool files may not be requested' };
    else check = await resolveRemotePath(from, this.policy(this.sys.remoteSend), 'read');
    if (!check.ok) {
      log(`${this.sys.name}: refused to send ${from}: ${check.reason}`);
      return this.send('RN2');
    }
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(check.path, 'r');
    } catch (err) {
      log(`${this.sys.name}: cannot open ${check.path}: ${(err as Error).message}`);
      return this.send('RN2');
    }
    try {
      const st = await fh.stat();
      const max = this.features & FEATURE.SIZES ? parseSize(f[5]) : -1;
      if (max >= 0 && st.size > max) {
        log(`${this.sys.name}: ${from} is too large for the requester (${st.size} > ${max})`);
        return await this.send('RN6');
      }
      await this.send(`RY 0${(st.mode & 0o777).toString(8)} 0x${st.size.toString(16)}`);
      log(`${this.sys.name}: sending ${check.path} (${st.size} bytes)`);
      const n = await this.proto.sendFile(this.countedSource(from, st.size, fh.createReadStream({ autoClose: false, highWaterMark: 64 * 1024 })));
      this.stats.bytesSent += n;
      // To a uugate requester the digest follows, as for S.
      if (this.features & FEATURE.DIGEST) await this.send(digestCommand(await digestHandle(fh, n)));
    } finally {
      await fh.close().catch(() => undefined);
    }
    const conf = await this.read('confirmation');
    if (conf.startsWith('CY')) this.stats.filesSent++;
    else log(`${this.sys.name}: ${from}: the requester could not store it (${conf})`);
  }

  /** X: remote execution of a uux-forwarding request; we do not do it. */
  async remoteExec(cmd: string): Promise<void> {
    this.env.log(`${this.sys.name}: refused X request "${cmd}"`);
    await this.send('XN');
  }

  // ============================================================ our own work

  /** Carries out one command of a work file; 'done' means it may be removed. */
  async doWork(cmd: WorkCommand): Promise<Outcome> {
    switch (cmd.type) {
      case 'S':
        return this.sendJob('S', cmd, { path: this.localSource(cmd) });
      case 'E':
        if (this.features & FEATURE.EXEC) return this.sendJob('E', cmd, { path: this.localSource(cmd) });
        return this.sendExecAsFiles(cmd);
      case 'R':
        return this.requestFile(cmd.from, cmd.to, cmd.user, cmd.options);
      case 'X': {
        await this.send(`X ${cmd.from} ${cmd.to} ${cmd.user} -${cmd.options}`);
        const r = await this.read('reply to X');
        if (!r.startsWith('XY')) this.env.log(`${this.sys.name}: X request ${cmd.from} refused (${r})`);
        return 'done';
      }
    }
  }

  private localSource(cmd: SendCommand | ExecuteCommand): string {
    if (cmd.options.includes('C') && isSpoolName(cmd.temp)) return spoolFilePath(this.env.spoolDir, this.sys.name, cmd.temp);
    if (cmd.from.startsWith('~')) return path.join(this.pubdir, cmd.from.replace(/^~(uucp)?\/?/, ''));
    return cmd.from;
  }

  /** For a peer without E: the data as a D. file, then a generated X. file (Taylor does the same). */
  private async sendExecAsFiles(cmd: ExecuteCommand): Promise<Outcome> {
    const data = await this.sendJob('S', { ...cmd, options: cmd.options.includes('C') ? 'C' : 'c' }, { path: this.localSource(cmd) });
    if (data === 'keep') return 'keep';
    const xName = `X.${cmd.to.slice(2)}`;
    const o = cmd.options;
    const x = formatExecFile({
      user: cmd.user,
      system: this.env.localName,
      files: [{ file: cmd.to }],
      stdin: cmd.to,
      command: cmd.command,
      noMail: o.includes('N'),
      mailOnFail: o.includes('Z'),
      requester: o.includes('R') && cmd.notify ? cmd.notify : undefined,
      useShell: o.includes('e'),
      unknown: [],
    });
    const fake = { from: xName, to: xName, user: cmd.user, options: 'C', temp: xName, mode: 0o666, notify: '' };
    return this.sendJob('S', fake, { bytes: Buffer.from(x, 'latin1') });
  }

  /** True when the last transfer ended in CN5 for a digest mismatch (between uugate sites). */
  private digestRefused = false;
  /** Where the last file sent restarted (the peer's verified prefix after a mismatch). */
  private restartedAt = 0;

  /**
   * Runs a transfer again while the digest check fails, until DIGEST_TRIES
   * tries in a row started no further on than an earlier one.
   */
  private async withDigestRetries(what: string, again: string, transfer: () => Promise<Outcome>): Promise<Outcome> {
    let from = 0;
    for (let attempt = 1, stuck = 0; ; attempt++) {
      this.digestRefused = false;
      this.restartedAt = 0;
      const outcome = await transfer();
      if (this.restartedAt > from) {
        from = this.restartedAt;
        stuck = 0;
      } else stuck++;
      if (outcome !== 'keep' || !this.digestRefused || stuck >= DIGEST_TRIES) return outcome;
      this.env.log(`${this.sys.name}: ${what}: ${again} (try ${attempt + 1})`);
    }
  }

  /** Sends a file; to a uugate peer whose digest check fails, again (restarting after the chunks it kept). */
  private sendJob(kind: 'S' | 'E', c: JobFile, source: { path: string } | { bytes: Buffer }): Promise<Outcome> {
    // The source is the same on every try: hashed once.
    let digest: Promise<FileDigest> | undefined;
    const digestOf = (fh: fsp.FileHandle | undefined, size: number): Promise<FileDigest> =>
      (digest ??= 'path' in source ? digestHandle(fh!, size) : Promise.resolve(digestBytes(source.bytes)));
    return this.withDigestRetries(c.from, 'sending it again', () => this.sendJobOnce(kind, c, source, digestOf));
  }

  private async sendJobOnce(
    kind: 'S' | 'E',
    c: JobFile,
    source: { path: string } | { bytes: Buffer },
    digestOf: (fh: fsp.FileHandle | undefined, size: number) => Promise<FileDigest>,
  ): Promise<Outcome> {
    const log = this.env.log;
    let size: number;
    let fh: fsp.FileHandle | undefined;
    let closing: Promise<void> | undefined;
    if ('path' in source) {
      try {
        fh = await fsp.open(source.path, 'r');
        size = (await fh.stat()).size;
      } catch (err) {
        // Nothing to send will ever appear: the job is dropped (Taylor mails the requester).
        log(`${this.sys.name}: ${c.from}: cannot open ${source.path}: ${(err as Error).message}; job removed`);
        return 'done';
      }
    } else size = source.bytes.length;
    try {
      const withSize = (this.features & FEATURE.SIZES) !== 0 || kind === 'E';
      const notify = c.notify || (withSize ? '""' : '');
      const words = [kind, c.from, c.to, c.user, `-${c.options}`, c.temp, `0${c.mode.toString(8)}`, notify];
      if (withSize) words.push(`0x${size.toString(16)}`);
      if (kind === 'E') words.push(...(c.command ?? []));
      await this.send(words.join(' ').trimEnd());
      const reply = await this.read(`reply to ${kind}`);
      if (reply[0] !== kind || (reply[1] !== 'Y' && reply[1] !== 'N')) throw protocolError(`bad reply to ${kind}: "${reply}"`);
      if (reply[1] === 'N') return this.refused(kind, c.from, reply.slice(2).trim());
      // `SY 0x<offset>` restarts; a uugate receiver repairing a damaged chunk adds ` 0x<length>`.
      const [at, len] = reply.slice(2).trim().split(/\s+/);
      let offset = parseSize(at || undefined);
      if (offset < 0 || offset > size) offset = 0;
      let end = this.features & FEATURE.DIGEST ? offset + parseSize(len) : size;
      if (end <= offset || end > size) end = size;
      this.restartedAt = offset;
      log(`${this.sys.name}: sending ${kind === 'E' ? (c.command ?? []).join(' ') : c.from} (${size} bytes${offset ? `, from byte ${offset}` : ''}${end < size ? `, ${end - offset} to repair` : ''})`);
      let data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
      if (!('path' in source)) data = [source.bytes.subarray(offset, end)];
      else if (end - offset <= SMALL_FILE) {
        // A mail-sized file in one read (a stream would read it, then read again for EOF).
        const buf = Buffer.allocUnsafe(end - offset);
        const { bytesRead } = await fh!.read(buf, 0, buf.length, offset);
        data = [buf.subarray(0, bytesRead)];
      } else data = fh!.createReadStream({ start: offset, end: end - 1, autoClose: false, highWaterMark: 64 * 1024 });
      const n = await this.proto.sendFile(this.countedSource(c.from, size, data, offset));
      this.stats.bytesSent += n;
      // A uugate peer checks the whole file (0..size, the part it held from before too).
      if (this.features & FEATURE.DIGEST) await this.send(digestCommand(await digestOf(fh, size)));
    } finally {
      // Closed while the peer stores the file and confirms.
      closing = fh?.close().catch(() => undefined);
    }
    const conf = await this.read('confirmation');
    await closing;
    if (conf.startsWith('CY')) {
      this.stats.filesSent++;
      return 'done';
    }
    this.digestRefused = (this.features & FEATURE.DIGEST) !== 0 && conf.startsWith('CN5');
    log(`${this.sys.name}: ${c.from}: the remote could not store it (${conf}); will retry`);
    return 'keep';
  }

  private refused(kind: string, from: string, code: string): Outcome {
    const texts: Record<string, [string, Outcome]> = {
      '2': ['permission denied', 'done'],
      '4': ['remote cannot create work files', 'keep'],
      '6': ['too large for receiver now', 'keep'],
      '7': ['too large for receiver', 'done'],
      '8': ['already received', 'done'],
      '9': ['remote has no free channel', 'keep'],
      '10': ['too large for receiver', 'done'],
    };
    const [text, outcome] = texts[code] ?? ['unknown reason', 'keep'];
    if (code !== '8') this.env.log(`${this.sys.name}: ${kind} ${from} refused: ${text}${outcome === 'done' ? '; job removed' : '; will retry'}`);
    return outcome;
  }

  /** R: ask the peer for a file and store it locally; from a uugate peer, again if its digest does not match. */
  private requestFile(from: string, to: string, user: string, options: string): Promise<Outcome> {
    return this.withDigestRetries(from, 'asking for it again', () => this.requestFileOnce(from, to, user, options));
  }

  private async requestFileOnce(from: string, to: string, user: string, options: string): Promise<Outcome> {
    const log = this.env.log;
    let local = to.startsWith('~') ? path.join(this.pubdir, to.replace(/^~(uucp)?\/?/, '')) : to;
    if (!path.isAbsolute(local)) {
      log(`${this.sys.name}: R ${from}: local name ${to} is not absolute; job removed`);
      return 'done';
    }
    if (local.endsWith('/') || (await fsp.stat(local).catch(() => undefined))?.isDirectory()) local = path.join(local, path.posix.basename(from));
    const check = checkRemoteName(local, this.policy(this.sys.localReceive), 'write');
    if (!check.ok) {
      log(`${this.sys.name}: R ${from}: may not receive into ${local}: ${check.reason}; job removed`);
      return 'done';
    }
    await mkdirp(path.dirname(check.path), 0o755);
    let req = `R ${from} ${to} ${user} -${options}`;
    if (this.features & FEATURE.SIZES) req += ` 0x${Math.max(0, await freeBytes(path.dirname(check.path))).toString(16)}`;
    await this.send(req);
    const reply = await this.read('reply to R');
    if (!reply.startsWith('RY')) {
      const never = reply.startsWith('RN2');
      log(`${this.sys.name}: R ${from} refused (${reply})${never ? '; job removed' : '; will retry'}`);
      return never ? 'done' : 'keep';
    }
    const mode = parseInt(reply.slice(2).trim().split(/\s+/)[0] || '666', 8) || 0o666;
    const tempPath = receiveTempPath(this.env.spoolDir, this.sys.name);
    await mkdirp(path.dirname(tempPath), 0o755);
    const fh = await fsp.open(tempPath, 'w', 0o600);
    const suspect = damageWatch(this.proto, (this.features & FEATURE.DIGEST) !== 0);
    let n: number;
    try {
      const out = bufferedWriter(fh);
      const rx = this.counted(from, parseSize(reply.slice(2).trim().split(/\s+/)[1]), 0, out.write);
      n = await this.proto.receiveFile(rx.write);
      rx.done();
      await out.flush();
    } catch (err) {
      await fh.close().catch(() => undefined);
      await fsp.unlink(tempPath).catch(() => undefined);
      throw err;
    }
    await fh.close();
    // Our own request: CN5 leaves the job queued here, and the sender has nothing to lose.
    const refusal = suspect();
    if (refusal) {
      await fsp.unlink(tempPath).catch(() => undefined);
      log(`${this.sys.name}: R ${from} refused: ${refusal}; will retry`);
      await this.send('CN5');
      return 'keep';
    }
    // R has no restart offset: a damaged file is asked for again from byte 0.
    if (this.features & FEATURE.DIGEST && (await this.digestCheck(tempPath, from)) !== 'ok') {
      await fsp.unlink(tempPath).catch(() => undefined);
      await this.send('CN5');
      this.digestRefused = true;
      return 'keep';
    }
    this.stats.bytesReceived += n;
    try {
      await storeReceivedFile(tempPath, check.path, { mode: mode & 0o111 ? 0o755 : 0o644 });
    } catch (err) {
      log(`${this.sys.name}: ${check.path}: could not move into place: ${(err as Error).message}`);
      await fsp.unlink(tempPath).catch(() => undefined);
      await this.send('CN5');
      return 'keep';
    }
    this.stats.filesReceived++;
    log(`${this.sys.name}: received ${from} as ${check.path} (${n} bytes)`);
    await this.send('CY');
    return 'done';
  }
}

/** Files up to this size are read in one go when sent. */
const SMALL_FILE = 64 * 1024;

/**
 * Collects received packets (32–4096 bytes each) into 64 KiB writes: one
 * file system call per packet costs more than the line at small packet sizes.
 * The chunks g hands over are never written again, so they are kept as they
 * are until the write copies them together. write() returns a promise only
 * when it flushes, so packets already received are stored without a turn of
 * the event loop each. Memory stays bounded by the buffer size.
 */
function bufferedWriter(fh: fsp.FileHandle, at?: number): { write: (chunk: Uint8Array) => Promise<void> | void; flush: () => Promise<void> } {
  const LIMIT = 64 * 1024;
  let parts: Uint8Array[] = [];
  let size = 0;
  const flush = async (): Promise<void> => {
    if (size === 0) return;
    const data = Buffer.concat(parts, size);
    parts = [];
    size = 0;
    // At a position when repairing in place; else where the handle stands (append or a new file).
    const pos = at;
    if (at !== undefined) at += data.length;
    await writeAll(fh, data, pos);
  };
  return {
    write: (chunk) => {
      parts.push(chunk);
      size += chunk.length;
      if (size >= LIMIT) return flush();
    },
    flush,
  };
}

/** Free bytes for an unprivileged writer in the file system holding `dir` (-1 if unknown). */
async function freeBytes(dir: string): Promise<number> {
  try {
    const s = await fsp.statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return Number.MAX_SAFE_INTEGER;
  }
}
