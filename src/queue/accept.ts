// The one accept path for every entry point (rmail, sendmail, SMTP, BSMTP, uuxqt,
// bounces): validate, add Received:, write the queue file durably into incoming/.
// Nothing here needs the queue index, so separate processes can hand messages over
// while the daemon owns LevelDB; the queue runner indexes incoming/ when it looks.
import { promises as fsp, renameSync } from 'node:fs';
import path from 'node:path';
import { encodeQueueFile, newQueueId, SpoolLayout, type Envelope } from './spool.js';
import { fsyncDir, writeNewFilesSynced } from '../util/durable.js';
import { validateMessage } from '../message/validate.js';
import { joinMessage, lineEnding, splitMessage } from '../message/headers.js';
import { rfc5322Date } from '../message/date.js';
import { uniqueAddresses } from '../address/unique.js';
import { fromSystemError, GatewayError, EX } from '../util/errors.js';

export interface AcceptRequest {
  sender: string;
  recipients: string[];
  data: Buffer;
  origin: string;
  /** Who handed it to us, for Received: (`from hub`), and the protocol (`UUCP`, `SMTP`). */
  receivedFrom?: string;
  protocol?: string;
  errorsTo?: string;
  /** Skip the Received: header (bounces we generate). */
  noReceived?: boolean;
}

export interface AcceptContext {
  spool: SpoolLayout;
  hostname: string;
  sizeLimit: number;
  clock?: () => number;
}

export async function acceptMessage(ctx: AcceptContext, req: AcceptRequest): Promise<string> {
  const p = prepareMessage(ctx, req);
  await commitMessages(ctx.spool, [p]);
  return p.id;
}

/** A validated queue file, not yet written: for group commits (commitMessages). */
export interface PreparedMessage {
  id: string;
  bytes: Buffer;
}

/** Files open at a time while writing a group. */
const PARALLEL = 64;

/**
 * Group commit (the BSMTP reader, the SMTP server; acceptMessage is a group of
 * one): writes every prepared message to tmp/ and fsyncs each (PARALLEL files
 * open at a time), renames them all into incoming/, then fsyncs incoming/ once.
 * Nothing may be acknowledged before this resolves; if it throws, none of the
 * messages is acknowledged (some may still have reached incoming/, so a caller
 * that retries can deliver one twice: the usual at-least-once window).
 */
export async function commitMessages(spool: SpoolLayout, items: PreparedMessage[]): Promise<void> {
  if (items.length === 0) return;
  const created: string[] = [];
  try {
    for (let i = 0; i < items.length; i += PARALLEL) {
      await writeNewFilesSynced(items.slice(i, i + PARALLEL).map((p) => ({ path: path.join(spool.tmp, p.id), data: p.bytes })), created);
    }
    // A rename is a short directory update: synchronous, like the creates.
    for (const p of items) renameSync(path.join(spool.tmp, p.id), path.join(spool.incoming, p.id));
    await fsyncDir(spool.incoming);
  } catch (err) {
    for (const file of created) await fsp.unlink(file).catch(() => undefined);
    throw fromSystemError(err, `cannot queue ${items.length === 1 ? 'message' : `${items.length} messages`} in ${spool.root}`);
  }
}

/** Validates and builds the queue file for `req` (throws GatewayError when refused). */
export function prepareMessage(ctx: AcceptContext, given: AcceptRequest): PreparedMessage {
  // One record per address: `rmail bob bob …` must not queue (and deliver) bob many times.
  const req = { ...given, recipients: uniqueAddresses(given.recipients) };
  if (req.recipients.length === 0) throw new GatewayError('no recipients', { exitCode: EX.USAGE, status: '5.5.1' });
  validateMessage(req.data);
  if (req.data.length > ctx.sizeLimit)
    throw new GatewayError(`message is ${req.data.length} bytes, over the limit of ${ctx.sizeLimit}`, {
      exitCode: EX.DATAERR,
      status: '5.3.4',
    });
  const now = ctx.clock?.() ?? Date.now();
  const id = newQueueId(now);
  const message = repairSeparator(req.noReceived ? req.data : addReceived(req, ctx.hostname, id, now));
  const envelope: Envelope = {
    id,
    sender: req.sender,
    recipients: req.recipients,
    arrival: now,
    origin: req.origin,
    ...(req.errorsTo ? { errorsTo: req.errorsTo } : {}),
  };
  return { id, bytes: encodeQueueFile(envelope, message) };
}

function addReceived(req: AcceptRequest, host: string, id: string, now: number): Buffer {
  const eol = lineEnding(req.data);
  const from = req.receivedFrom ? `from ${req.receivedFrom}${eol}\t` : '';
  const rcpt = req.recipients.length === 1 ? `${eol}\tfor <${req.recipients[0]}>` : '';
  const line = `Received: ${from}by ${host} with ${req.protocol ?? 'local'} (uugate ${req.origin})${eol}\tid ${id}${rcpt}; ${rfc5322Date(new Date(now))}${eol}`;
  return Buffer.concat([Buffer.from(line, 'latin1'), req.data]);
}

/** A header block that runs straight into body text gets the blank line sendmail would add. */
function repairSeparator(data: Buffer): Buffer {
  const split = splitMessage(data);
  if (split.separator !== '' || split.body.length === 0) return data;
  return joinMessage(split.header, split.body, lineEnding(data));
}
