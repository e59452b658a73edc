// uuxqt as the gateway runs it: the UUCP side (uucp/uuxqt.ts) carries out the
// requests; the mail commands it runs in-process are here. rmail accepts one
// message (From_ lines give the sender; the D. file streams into the queue,
// refused past message_size_limit); rsmtp, rgsmtp, rcsmtp and rbsmtp read a
// batch through inject/rsmtp.ts (gzip batches unpacked by bsmtp/gzip.ts; a
// batch is read whole, so one over MAX_UNPACKED_BATCH is refused). What they
// accepted, and uuxqt's notification mails, are delivered after the run.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { BATCH_COMMANDS, MAX_UNPACKED_BATCH, batchTooBig, unpackBatch } from '../bsmtp/gzip.js';
import { deliverAccepted } from '../runtime/after-accept.js';
import { accept, type Gateway } from '../runtime/gateway.js';
import type { UucpConfig } from '../config/uucp/types.js';
import type { ExecHandler, ExecHandlers, ExecRequest, ExecResult } from '../uucp/exec-command.js';
import { uuxqt, type UuxqtSummary } from '../uucp/uuxqt.js';
import { writeFileAtomic } from '../util/durable.js';
import { GatewayError } from '../util/errors.js';
import { rmail } from './rmail.js';
import { rsmtp } from './rsmtp.js';

export interface UuxqtOptions {
  /** Only requests from this system (`uuxqt -s`). */
  system?: string;
  /** Parsed uucp/ configuration; the gateway's when absent. */
  uucp?: UucpConfig;
}

/** Runs the execution requests in the gateway's UUCP spool, then delivers what they accepted. */
export async function runUuxqt(gw: Gateway, opts: UuxqtOptions = {}): Promise<UuxqtSummary> {
  const summary = await uuxqt(
    {
      spoolDir: path.join(gw.loc.spoolDir, 'uucp'),
      sysFile: path.join(gw.loc.uucpDir, 'sys'),
      config: async () => opts.uucp ?? (await gw.uucp()),
      log: gw.log,
      clock: gw.clock,
      visibleName: gw.cfg.visible_name,
      uucpName: gw.cfg.uucp_name,
      sizeLimit: gw.cfg.message_size_limit,
      commands: mailCommands(gw),
      sendMail: (mail) => accept(gw, mail),
    },
    { system: opts.system },
  );
  if (summary.accepted.length) await deliverAccepted(gw, summary.accepted);
  return summary;
}

/** The commands uuxqt hands to the mail side: rmail and the batch commands. */
export function mailCommands(gw: Gateway): ExecHandlers {
  const batch: ExecHandler = { run: (req) => runRsmtp(gw, req), returnsInput: true, unpack: unpackBatch };
  return new Map<string, ExecHandler>([['rmail', { run: (req) => runRmail(gw, req), returnsInput: true }], ...[...BATCH_COMMANDS].map((c) => [c, batch] as const)]);
}

const cannotRead = (req: ExecRequest, err: unknown): ExecResult => ({ kind: 'temp', reason: `cannot read ${req.stdin}: ${(err as Error).message}` });

/**
 * A batch's input, read whole; the temporary failure when it cannot be read
 * (the request waits), a permanent one when it is too big ever to be read.
 */
async function batchInput(req: ExecRequest): Promise<Buffer | ExecResult> {
  try {
    const size = await req.inputSize();
    if (size > MAX_UNPACKED_BATCH) return { kind: 'fail', reason: `${req.command}: ${batchTooBig(size).message}` };
    return await req.readInput();
  } catch (err) {
    return cannotRead(req, err);
  }
}

async function runRmail(gw: Gateway, req: ExecRequest): Promise<ExecResult> {
  const file = req.inputFile;
  let fh: fsp.FileHandle | undefined;
  try {
    fh = file ? await fsp.open(file, 'r') : undefined;
  } catch (err) {
    return cannotRead(req, err);
  }
  // The D. file streams into the queue file: rmail holds only its header.
  const input = fh ? fh.createReadStream({ autoClose: false }) : (async function* () {})();
  try {
    const id = await rmail(gw, { recipients: req.args, input, fromSystem: req.system, defaultSender: req.user ?? 'uucp' });
    return { kind: 'ok', id, detail: `accepted as ${id}` };
  } catch (err) {
    if (err instanceof GatewayError) {
      if (err.temporary) return { kind: 'temp', reason: `rmail: ${err.message} (exit ${err.exitCode})` };
      return { kind: 'fail', reason: `rmail: ${err.message} (exit ${err.exitCode})` };
    }
    // Not ours to judge: keep the request and let the administrator see it.
    gw.log.panic(`uuxqt: rmail threw on ${req.name} from ${req.system}: ${(err as Error)?.stack ?? String(err)}`);
    return { kind: 'temp', reason: `internal error in rmail: ${(err as Error)?.message ?? String(err)}` };
  } finally {
    await fh?.close();
  }
}

/**
 * rsmtp (and rgsmtp & co.) in-process: the batch, unpacked if gzip'd, is read by inject/bsmtp-reader.ts. Refused recipients
 * and messages were bounced to their own senders, so the request is done ("ok")
 * unless nothing in it could be read or reported (then the requester is told).
 * A temporary failure keeps only the unacknowledged rest of the batch: the I
 * file is replaced by it (durably) and the request waits for the next run.
 */
async function runRsmtp(gw: Gateway, req: ExecRequest): Promise<ExecResult> {
  const input = await batchInput(req);
  if (!Buffer.isBuffer(input)) return input;
  const r = await rsmtp(gw, input, { where: req.stdin ?? 'batch', receivedFrom: req.system, logAs: `rsmtp from ${req.system} (${req.name})` });
  if ('unreadable' in r) return { kind: 'fail', reason: `${req.command}: ${r.unreadable.message}` };
  const { summary: s, batch: data, ids } = r;
  if (s.temporary) {
    if (s.restOffset && req.inputFile !== undefined) {
      try {
        await writeFileAtomic(req.inputFile, data.subarray(s.restOffset));
      } catch (err) {
        gw.log.panic(`uuxqt: rsmtp ${req.name}: cannot keep the rest of the batch (${(err as Error).message}); it will be read again from the start`);
      }
    }
    return { kind: 'temp', reason: `rsmtp: ${s.accepted.length} message(s) accepted, then: ${s.temporary}` };
  }
  const unreported = s.problems.filter((p) => !p.bounce);
  if (unreported.length && !s.accepted.length && !s.bounces.length)
    return { kind: 'fail', reason: `rsmtp: nothing could be read from the batch:\n${r.report}` };
  const detail = `rsmtp: ${s.accepted.length} message(s) accepted${s.bounces.length ? `, ${s.bounces.length} bounce(s) sent` : ''}${s.truncated ? ', batch truncated' : ''}${unreported.length ? `, ${unreported.length} problem(s) logged` : ''}`;
  return { kind: 'ok', detail, ids };
}
