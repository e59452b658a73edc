// The one accept path for every entry point (rmail, sendmail, SMTP, BSMTP, uuxqt,
// bounces): validate, add Received:, write the queue file durably into incoming/.
// A message read from a stream (rmail, sendmail, uuxqt's D. files) is written
// as it comes by acceptStream: only its header is ever held in memory.
// Nothing here needs the queue index, so separate processes can hand messages over
// while the daemon owns LevelDB; the queue runner indexes incoming/ when it looks.
import { promises as fsp, renameSync } from 'node:fs';
import path from 'node:path';
import { encodeQueueFile, newQueueId, queueFileHead, SpoolLayout } from './spool.js';
import type { Envelope } from '../message/envelope.js';
import { fsyncDir, writeNewFilesSynced, writeNewFileStreamed } from '../util/durable.js';
import { emptyMessage, validateMessage } from '../message/validate.js';
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
  /** Comments after `from` in Received: (`(using TLSv1.3 ...)`, `(authenticated as alice)`), one a line. */
  receivedDetails?: string[];
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

/** A message whose header has been read and whose body is still arriving. */
export interface StreamedRequest extends Omit<AcceptRequest, 'data' | 'noReceived'> {
  /** The header block and the separator, as they are to be queued. */
  head: Buffer;
  /** The rest of the message, passed on chunk by chunk. */
  body: AsyncIterable<Buffer>;
  /** The message's line end, for the Received: field. */
  eol: string;
}

/**
 * Writes a streamed message into tmp/ while it arrives (refusing it as soon as
 * it goes over the size limit), fsyncs it and renames it into incoming/.
 * Memory stays at the header and one chunk, whatever the message's size.
 */
export async function acceptStream(ctx: AcceptContext, given: StreamedRequest): Promise<string> {
  const req = withUniqueRecipients(given);
  const now = ctx.clock?.() ?? Date.now();
  const id = newQueueId(now);
  const tmp = path.join(ctx.spool.tmp, id);
  async function* queueFile(): AsyncGenerator<Buffer> {
    let size = req.head.length;
    if (size > ctx.sizeLimit) throw tooBig(ctx.sizeLimit);
    yield Buffer.concat([queueFileHead(envelopeOf(id, now, req)), receivedLine(req, ctx.hostname, id, now, req.eol), req.head]);
    for await (const chunk of req.body) {
      size += chunk.length;
      if (size > ctx.sizeLimit) throw tooBig(ctx.sizeLimit);
      yield chunk;
    }
    if (size === 0) throw emptyMessage();
  }
  try {
    await writeNewFileStreamed(tmp, queueFile());
    renameSync(tmp, path.join(ctx.spool.incoming, id));
    await fsyncDir(ctx.spool.incoming);
  } catch (err) {
    await fsp.unlink(tmp).catch(() => undefined);
    throw fromSystemError(err, `cannot queue message in ${ctx.spool.root}`);
  }
  return id;
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
  const req = withUniqueRecipients(given);
  validateMessage(req.data);
  if (req.data.length > ctx.sizeLimit) throw tooBig(ctx.sizeLimit, req.data.length);
  const now = ctx.clock?.() ?? Date.now();
  const id = newQueueId(now);
  const received = () => Buffer.concat([receivedLine(req, ctx.hostname, id, now, lineEnding(req.data)), req.data]);
  const message = repairSeparator(req.noReceived ? req.data : received());
  return { id, bytes: encodeQueueFile(envelopeOf(id, now, req), message) };
}

/** One record per address: `rmail bob bob …` must not queue (and deliver) bob many times. */
function withUniqueRecipients<T extends Pick<AcceptRequest, 'recipients'>>(given: T): T {
  const req = { ...given, recipients: uniqueAddresses(given.recipients) };
  if (req.recipients.length === 0) throw new GatewayError('no recipients', { exitCode: EX.USAGE, status: '5.5.1' });
  return req;
}

/** Over message_size_limit: permanent (552 5.3.4, exit 65). A streamed message's size is not known, only that it went past. */
const tooBig = (limit: number, size?: number): GatewayError =>
  new GatewayError(`message ${size === undefined ? 'is' : `is ${size} bytes,`} over the limit of ${limit} bytes (message_size_limit)`, {
    exitCode: EX.DATAERR,
    status: '5.3.4',
  });

const envelopeOf = (id: string, now: number, req: Omit<AcceptRequest, 'data'>): Envelope => ({
  id,
  sender: req.sender,
  recipients: req.recipients,
  arrival: now,
  origin: req.origin,
  ...(req.errorsTo ? { errorsTo: req.errorsTo } : {}),
});

function receivedLine(req: Omit<AcceptRequest, 'data'>, host: string, id: string, now: number, eol: string): Buffer {
  const details = (req.receivedDetails ?? []).map((d) => `${d}${eol}\t`).join('');
  const from = req.receivedFrom ? `from ${req.receivedFrom}${eol}\t${details}` : '';
  const rcpt = req.recipients.length === 1 ? `${eol}\tfor <${req.recipients[0]}>` : '';
  return Buffer.from(`Received: ${from}by ${host} with ${req.protocol ?? 'local'} (uugate ${req.origin})${eol}\tid ${id}${rcpt}; ${rfc5322Date(new Date(now))}${eol}`, 'latin1');
}

/** A header block that runs straight into body text gets the blank line sendmail would add. */
function repairSeparator(data: Buffer): Buffer {
  const split = splitMessage(data);
  if (split.separator !== '' || split.body.length === 0) return data;
  return joinMessage(split.header, split.body, lineEnding(data));
}
