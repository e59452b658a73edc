// The bsmtp transport (world 'uucp'): mail for a UUCP neighbour listed in
// `bsmtp_neighbors` is collected into batched SMTP and sent as one `rsmtp` job
// per batch (smail's bsmtp transport with the uucp flag; docs/bsmtp.md "Batch format").
//
//   spool/bsmtp/<neighbour>/pending     transactions waiting (MAIL, RCPT..., DATA, stuffed message, ".")
//   spool/bsmtp/<neighbour>/flushing    a batch being turned into an rsmtp job
//
// - Each message is appended to `pending` and fdatasync'd (the file's directory
//   is fsync'd when the file is created); the result is `ok` only then. A crash
//   in the middle of an append leaves a partial transaction at the end: every
//   complete one ends with the line ".", which cannot occur inside stuffed data,
//   so the next append first cuts the file back to its last "." line.
// - A batch is flushed when it holds `bsmtp_batch_max` messages or
//   `bsmtp_batch_bytes` bytes, and at the end of every queue run (Transport
//   flush()): `pending` is renamed to `flushing`, `HELO <uucp_name>` and `QUIT`
//   are put around it (not for neighbours in `bsmtp_no_helo`, which get
//   hbsmtp-style batches), it is queued with queueExecution as `rsmtp` (grade C,
//   data + X. file, like the uux transport's rmail jobs), then removed. A crash
//   between queueing and removing sends that batch twice (the receiver gets
//   duplicates, nothing is lost); a `flushing` file left behind is sent first.
// - Addresses: recipients are `route.address` (bang paths relative to the
//   neighbour, as the router gives them); the sender is `<uucp_name>!<path>` with
//   <path> as in the uux transport's From_ line (smail's uucp flag), and the null
//   sender stays `<>`.
// - Lines end in LF, or CRLF with `bsmtp_crlf`.
// - Neighbours in `bsmtp_gzip` get the batch gzip'd, queued as `bsmtp_gzip_command`
//   (default `rgsmtp`, the usual name for gzip batches; a uugate peer reads them
//   under any batch name).
import { promises as fsp, constants } from 'node:fs';
import path from 'node:path';
import { isNullAddress } from '../address/parse.js';
import { fsyncDir, mkdirp, writeAll } from '../util/durable.js';
import { badBsmtpAddress, bsmtpBatch, bsmtpTransaction } from '../bsmtp/writer.js';
import { packBatch } from '../bsmtp/gzip.js';
import { fromLinePath, uucpSpoolDir, UUX_MAIL_GRADE, UUX_REQUESTER } from './uux.js';
import { ok, perm, temp, type DeliveryJob, type DeliveryResult, type RoutedRecipient, type Transport, type TransportContext } from './transport.js';
import { carriable, findNeighbour } from './uucp-neighbour.js';
import { sevenBitFor, sevenBitNeighbour } from './seven-bit.js';

export const BSMTP_COMMAND = 'rsmtp';

const listed = (names: string[], sys: string): boolean => names.some((n) => n.toLowerCase() === sys.toLowerCase());

/** The envelope sender as written in MAIL FROM for a UUCP neighbour. */
export function bsmtpSender(sender: string, cfg: TransportContext['cfg']): string {
  if (isNullAddress(sender)) return '';
  return `${cfg.uucp_name}!${fromLinePath(sender, cfg)}`;
}

export function bsmtpDir(ctx: Pick<TransportContext, 'loc'>): string {
  return path.join(ctx.loc.spoolDir, 'bsmtp');
}

interface Pending {
  messages: number;
  bytes: number;
}

export interface BsmtpTransport extends Transport {
  flush(): Promise<void>;
  /** Sends the pending batch of one neighbour now; returns the rsmtp job id(s). */
  flushNeighbour(sys: string): Promise<string[]>;
}

export function createBsmtpTransport(ctx: TransportContext): BsmtpTransport {
  const root = bsmtpDir(ctx);
  const locks = new Map<string, Promise<unknown>>();
  const counts = new Map<string, Pending>();
  /** Runs f with neighbour `sys`'s batch to itself (the queue delivers messages in parallel). */
  const serial = <T>(sys: string, f: () => Promise<T>): Promise<T> => {
    const prev = locks.get(sys) ?? Promise.resolve();
    const run = prev.then(f, f);
    locks.set(sys, run.catch(() => undefined));
    return run;
  };

  async function append(sys: string, record: Buffer): Promise<Pending> {
    const dir = path.join(root, sys);
    await mkdirp(dir, 0o700);
    const file = path.join(dir, 'pending');
    const fh = await fsp.open(file, constants.O_RDWR | constants.O_CREAT, 0o600);
    try {
      let size = (await fh.stat()).size;
      if (size === 0) await fsyncDir(dir);
      let count = counts.get(sys);
      const clean = await cleanEnd(fh, size);
      if (clean !== size || !count) {
        if (clean !== size) await fh.truncate(clean);
        size = clean;
        count = { messages: clean ? await countTransactions(fh, clean) : 0, bytes: clean };
      }
      try {
        await writeAll(fh, record, size);
        await fh.datasync();
      } catch (err) {
        // A record that did not go out whole is cut away: the batch stays a run of whole transactions.
        await fh.truncate(size).catch(() => undefined);
        throw err;
      }
      count = { messages: count.messages + 1, bytes: size + record.length };
      counts.set(sys, count);
      return count;
    } finally {
      await fh.close();
    }
  }

  async function flushLocked(sys: string): Promise<string[]> {
    const dir = path.join(root, sys);
    const pending = path.join(dir, 'pending');
    const flushing = path.join(dir, 'flushing');
    const jobs: string[] = [];
    // A batch left by an interrupted flush goes first.
    if (await nonEmpty(flushing)) jobs.push(await sendBatch(sys, flushing));
    if (!(await nonEmpty(pending))) return jobs;
    // Cut a partial last transaction (a crash during an append) before sending.
    const fh = await fsp.open(pending, 'r+');
    try {
      const size = (await fh.stat()).size;
      const clean = await cleanEnd(fh, size);
      if (clean !== size) await fh.truncate(clean);
      if (clean === 0) return jobs;
    } finally {
      await fh.close();
    }
    await fsp.rename(pending, flushing);
    await fsyncDir(dir);
    counts.delete(sys);
    jobs.push(await sendBatch(sys, flushing));
    return jobs;
  }

  async function sendBatch(sys: string, file: string): Promise<string> {
    const { queueExecution } = await import('../uucp/uux.js');
    const body = await fsp.readFile(file);
    const noHelo = listed(ctx.cfg.bsmtp_no_helo, sys);
    const data = bsmtpBatch([body], { crlf: ctx.cfg.bsmtp_crlf, helo: noHelo ? undefined : ctx.cfg.uucp_name });
    const gzipped = listed(ctx.cfg.bsmtp_gzip, sys);
    const q = await queueExecution({
      spoolDir: uucpSpoolDir(ctx.loc),
      system: sys,
      localName: ctx.cfg.uucp_name,
      command: gzipped ? ctx.cfg.bsmtp_gzip_command : BSMTP_COMMAND,
      args: [],
      stdin: gzipped ? await packBatch(data) : data,
      grade: UUX_MAIL_GRADE,
      requester: UUX_REQUESTER,
    });
    await fsp.unlink(file);
    await fsyncDir(path.dirname(file));
    return q.jobId;
  }

  const transport: BsmtpTransport = {
    name: 'bsmtp',
    world: 'uucp',
    retryFactor: 20,
    async deliver(job: DeliveryJob): Promise<DeliveryResult[]> {
      const byHop = new Map<string, RoutedRecipient[]>();
      for (const r of job.recipients) {
        const hop = r.route.nextHop ?? '';
        if (!byHop.has(hop)) byHop.set(hop, []);
        byHop.get(hop)!.push(r);
      }
      const results: DeliveryResult[] = [];
      for (const [hop, rcpts] of byHop) results.push(...(await toNeighbour(hop, job, rcpts)));
      return results;
    },
    async flush(): Promise<void> {
      let names: string[];
      try {
        names = await fsp.readdir(root);
      } catch {
        return;
      }
      const errors: string[] = [];
      for (const sys of names) {
        if (sys.startsWith('.')) continue;
        // On failure the batch stays in the spool and the next run tries again.
        await serial(sys, () => flushLocked(sys)).catch((err: Error) => errors.push(`${sys}: ${err.message}`));
      }
      if (errors.length) throw new Error(`bsmtp: cannot queue batches (${errors.join('; ')})`);
    },
    flushNeighbour: (sys) => serial(sys, () => flushLocked(sys)),
  };

  async function toNeighbour(hop: string, job: DeliveryJob, rcpts: RoutedRecipient[]): Promise<DeliveryResult[]> {
    const { system, results: missing } = await findNeighbour('bsmtp', ctx, hop, rcpts);
    if (!system) return missing;
    const { good, results } = carriable(rcpts, (a) => badBsmtpAddress(a) ?? (a === '' ? 'empty address' : undefined));
    if (!good.length) return results;
    const sender = bsmtpSender(job.envelope.sender, ctx.cfg);
    const bad = badBsmtpAddress(sender);
    if (bad) return [...results, ...good.map((r) => perm(r.rcpt, `sender: ${bad}`, '5.1.7'))];
    const sys = system.name;
    const body = sevenBitNeighbour(ctx.cfg, sys) ? await sevenBitFor(sys, job.data, good.map((r) => r.rcpt)) : { data: job.data };
    if ('results' in body) return [...results, ...body.results];
    const record = bsmtpTransaction(sender, good.map((r) => r.route.address), body.data, { crlf: ctx.cfg.bsmtp_crlf });
    try {
      const count = await serial(sys, async () => {
        const c = await append(sys, record);
        if (c.messages >= ctx.cfg.bsmtp_batch_max || c.bytes >= ctx.cfg.bsmtp_batch_bytes) {
          // The message is safe in the batch file already; a failed flush is retried by the next one.
          await flushLocked(sys).catch(() => undefined);
        }
        return c;
      });
      for (const r of good) results.push(ok(r.rcpt, `batched for ${sys} (rsmtp ${r.route.address}; message ${count.messages} of its batch)`));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException)?.code ?? '';
      for (const r of good) results.push(temp(r.rcpt, `cannot write the BSMTP batch for ${sys}: ${(err as Error).message}`, code === 'ENOSPC' || code === 'EDQUOT' ? '4.3.1' : '4.3.0'));
    }
    return results;
  }

  return transport;
}

async function nonEmpty(file: string): Promise<boolean> {
  try {
    return (await fsp.stat(file)).size > 0;
  } catch {
    return false;
  }
}

/** Length of the file up to the end of its last complete transaction (a "." line). */
async function cleanEnd(fh: fsp.FileHandle, size: number): Promise<number> {
  if (size === 0) return 0;
  const tailLen = Math.min(size, 5);
  const tail = Buffer.alloc(tailLen);
  await fh.read(tail, 0, tailLen, size - tailLen);
  const t = tail.toString('latin1');
  if (size >= 3 && (t.endsWith('\n.\n') || t.endsWith('\n.\r\n'))) return size;
  // Rare (after a crash): find the last "." line in the whole file.
  const all = Buffer.alloc(size);
  await fh.read(all, 0, size, 0);
  const lf = all.lastIndexOf('\n.\n');
  const crlf = all.lastIndexOf('\n.\r\n');
  if (crlf >= 0 && crlf + 4 > lf + 3) return crlf + 4;
  return lf >= 0 ? lf + 3 : 0;
}

/** Complete transactions in the first `size` bytes (read once per process and neighbour). */
async function countTransactions(fh: fsp.FileHandle, size: number): Promise<number> {
  const all = Buffer.alloc(size);
  await fh.read(all, 0, size, 0);
  let n = 0;
  for (let i = all.indexOf('\n.\n'); i >= 0; i = all.indexOf('\n.\n', i + 2)) n++;
  for (let i = all.indexOf('\n.\r\n'); i >= 0; i = all.indexOf('\n.\r\n', i + 2)) n++;
  return n;
}
