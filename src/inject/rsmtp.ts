// rsmtp, one way for both callers: `uugate rsmtp` (a batch on standard input)
// and uuxqt (a batch a UUCP neighbour sent). The batch is unpacked if gzip'd,
// read into the queue (inject/bsmtp-reader.ts) and each problem logged; what to
// do with the outcome (exit status, delivery, keeping the unread rest) stays
// with the caller.
import { unpackBatch } from '../bsmtp/gzip.js';
import { formatProblems, type BsmtpSummary } from '../bsmtp/reader.js';
import type { Gateway } from '../runtime/gateway.js';
import { GatewayError } from '../util/errors.js';
import { readBsmtp } from './bsmtp-reader.js';

export interface RsmtpOptions {
  /** Where the batch came from, for the unpacking error (`standard input`, a spool file). */
  where: string;
  /** For Received: `from <name>` (the UUCP neighbour). */
  receivedFrom?: string;
  /** How the log names this run (`rsmtp`, `rsmtp from hub (X.hubX0001)`). */
  logAs: string;
}

export interface RsmtpRun {
  summary: BsmtpSummary;
  /** The batch as read (unpacked): `summary.restOffset` counts in it. */
  batch: Buffer;
  /** Queue ids to deliver: the messages accepted and the bounces the batch caused. */
  ids: string[];
  /** The problems as `rsmtp` prints them on standard error. */
  report: string;
}

/** Reads one batch; a batch that cannot be unpacked is a permanent error (`unreadable`), nothing is queued. */
export async function rsmtp(gw: Gateway, input: Buffer, opts: RsmtpOptions): Promise<RsmtpRun | { unreadable: GatewayError }> {
  let batch: Buffer;
  try {
    batch = await unpackBatch(input, opts.where);
  } catch (err) {
    if (err instanceof GatewayError) return { unreadable: err };
    throw err;
  }
  const summary = await readBsmtp(gw, batch, { origin: 'rsmtp', receivedFrom: opts.receivedFrom });
  for (const p of summary.problems) gw.log.log({ event: 'failed', sender: p.sender, reason: `${opts.logAs} line ${p.line}: ${p.what}${p.bounce ? `; bounced as ${p.bounce}` : ''}` });
  return { summary, batch, ids: [...summary.accepted, ...summary.bounces], report: formatProblems(summary) };
}
