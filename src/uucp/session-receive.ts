// Receiving files once a protocol runs: what the peer sends us (S, E) and
// what we ask it for (R). See session-files.ts for the commands and the rules.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { mkdirp, writeAll } from '../util/durable.js';
import { FEATURE } from './features.js';
import { FreeSpace, freeBytes } from './free-space.js';
import { countedSink } from './progress.js';
import type { Protocol } from './protocol/protocol.js';
import { type DigestRetries, type FileDigest, digestFile, digestsMatch, firstBadChunk, parseDigestCommand, verifiedPrefix } from './session-digest.js';
import { type Outcome, TransferLink, type TransferEnv, type TransferStats, fields, opts, parseSize, protocolError } from './session-link.js';
import { formatExecFile } from './spool/exec-file.js';
import { isSpoolName, spoolFilePath } from './spool/names.js';
import { markReceived, receiveTempPath, storeReceivedFile, takeReceived } from './spool/received.js';
import { type PathCheck, checkRemoteName, resolveRemotePath } from './spool/remote-path.js';
import type { UucpSystem } from '../config/uucp/types.js';

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

export class Receiver extends TransferLink {
  /** Temp names remembered in `.Received` during this session (forgotten when it ends cleanly). */
  private readonly remembered: string[] = [];
  private readonly free: FreeSpace;

  constructor(proto: Protocol, sys: UucpSystem, features: number, env: TransferEnv, stats: TransferStats, private readonly retries: DigestRetries) {
    super(proto, sys, features, env, stats);
    this.free = new FreeSpace(env.spoolDir);
  }

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
    if (size >= 0 && (await this.free.bytes()) < size) {
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
      const rx = countedSink(this.env.progress, this.sys.name, to, parseSize(f[8]), offset, out.write);
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
    this.free.took(n);

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

  /** R: ask the peer for a file and store it locally; from a uugate peer, again if its digest does not match. */
  requestFile(from: string, to: string, user: string, options: string): Promise<Outcome> {
    return this.retries.run(from, 'asking for it again', () => this.requestFileOnce(from, to, user, options));
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
      const rx = countedSink(this.env.progress, this.sys.name, from, parseSize(reply.slice(2).trim().split(/\s+/)[1]), 0, out.write);
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
      this.retries.refused = true;
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
}

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

