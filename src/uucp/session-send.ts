// Sending files once a protocol runs: ours (S, E from the work files) and
// those the peer asks for (R). See session-files.ts for the commands and the rules.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { FEATURE } from './features.js';
import { countedSource } from './progress.js';
import type { Protocol } from './protocol/protocol.js';
import { type DigestRetries, type FileDigest, digestBytes, digestCommand, digestHandle } from './session-digest.js';
import { type Outcome, TransferLink, type TransferEnv, type TransferStats, fields, parseSize, protocolError } from './session-link.js';
import { formatExecFile } from './spool/exec-file.js';
import { isSpoolName, spoolFilePath } from './spool/names.js';
import { type PathCheck, resolveRemotePath } from './spool/remote-path.js';
import type { ExecuteCommand, SendCommand } from './spool/work-file.js';
import type { UucpSystem } from '../config/uucp/types.js';

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

/** Files up to this size are read in one go when sent. */
const SMALL_FILE = 64 * 1024;

export class Sender extends TransferLink {
  constructor(proto: Protocol, sys: UucpSystem, features: number, env: TransferEnv, stats: TransferStats, private readonly retries: DigestRetries) {
    super(proto, sys, features, env, stats);
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
      const n = await this.proto.sendFile(countedSource(this.env.progress, this.sys.name, from, st.size, fh.createReadStream({ autoClose: false, highWaterMark: 64 * 1024 })));
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

  /** S from a work file. */
  sendFile(cmd: SendCommand): Promise<Outcome> {
    return this.sendJob('S', cmd, { path: this.localSource(cmd) });
  }

  /** E from a work file: as one E to a peer that has it, else as a D. and an X. file. */
  sendExec(cmd: ExecuteCommand): Promise<Outcome> {
    if (this.features & FEATURE.EXEC) return this.sendJob('E', cmd, { path: this.localSource(cmd) });
    return this.sendExecAsFiles(cmd);
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

  /** Sends a file; to a uugate peer whose digest check fails, again (restarting after the chunks it kept). */
  private sendJob(kind: 'S' | 'E', c: JobFile, source: { path: string } | { bytes: Buffer }): Promise<Outcome> {
    // The source is the same on every try: hashed once.
    let digest: Promise<FileDigest> | undefined;
    const digestOf = (fh: fsp.FileHandle | undefined, size: number): Promise<FileDigest> =>
      (digest ??= 'path' in source ? digestHandle(fh!, size) : Promise.resolve(digestBytes(source.bytes)));
    return this.retries.run(c.from, 'sending it again', () => this.sendJobOnce(kind, c, source, digestOf));
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
      this.retries.restartedAt = offset;
      log(`${this.sys.name}: sending ${kind === 'E' ? (c.command ?? []).join(' ') : c.from} (${size} bytes${offset ? `, from byte ${offset}` : ''}${end < size ? `, ${end - offset} to repair` : ''})`);
      let data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
      if (!('path' in source)) data = [source.bytes.subarray(offset, end)];
      else if (end - offset <= SMALL_FILE) {
        // A mail-sized file in one read (a stream would read it, then read again for EOF).
        const buf = Buffer.allocUnsafe(end - offset);
        const { bytesRead } = await fh!.read(buf, 0, buf.length, offset);
        data = [buf.subarray(0, bytesRead)];
      } else data = fh!.createReadStream({ start: offset, end: end - 1, autoClose: false, highWaterMark: 64 * 1024 });
      const n = await this.proto.sendFile(countedSource(this.env.progress, this.sys.name, c.from, size, data, offset));
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
    this.retries.refused = (this.features & FEATURE.DIGEST) !== 0 && conf.startsWith('CN5');
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
}
