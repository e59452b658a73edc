// Who gets a bounce and how it is queued. Failures go to the message's envelope
// sender (or to owner-NAME for list members); a bounce for a null sender becomes a
// double bounce to the postmaster; a failed double bounce is dropped and logged.
// bounceRequest is the one place a bounce is built: the queue runner's and the
// BSMTP reader's (and maildir2smtp's) alike.
import { buildDsn, type FailedRecipient } from './bounce.js';
import { acceptMessage, type AcceptRequest } from './accept.js';
import type { SpoolLayout, QueuedMessage } from './spool.js';
import type { MessageState, RcptState } from './index-db.js';
import type { MailConfig } from '../config/mail-config.js';

export const DOUBLE_BOUNCE = 'double-bounce';

/** Queues the DSN(s) for `failed`; returns the bounce queue id(s), or undefined if dropped. */
export async function sendBounce(
  cfg: MailConfig,
  spool: SpoolLayout,
  msg: QueuedMessage,
  state: MessageState,
  failed: RcptState[],
  now: number,
): Promise<string | undefined> {
  const byTarget = new Map<string, RcptState[]>();
  for (const r of failed) {
    const to = r.errorsTo ?? msg.envelope.sender;
    byTarget.set(to, [...(byTarget.get(to) ?? []), r]);
  }
  const ids: string[] = [];
  for (const [to, list] of byTarget) {
    const id = await bounceTo(cfg, spool, msg, state, list, to, now);
    if (id) ids.push(id);
  }
  return ids.length ? ids.join(',') : undefined;
}

async function bounceTo(cfg: MailConfig, spool: SpoolLayout, msg: QueuedMessage, state: MessageState, failed: RcptState[], to: string, now: number): Promise<string | undefined> {
  if (msg.envelope.origin === DOUBLE_BOUNCE) return undefined;
  const list = failed.map((r) => ({ rcpt: r.addr, status: r.status ?? '5.0.0', reason: r.lastError ?? 'failed' }));
  return acceptMessage(
    { spool, hostname: cfg.primaryName, sizeLimit: Infinity, clock: () => now },
    bounceRequest(cfg, { to, original: msg.data, arrival: state.arrival, failed: list, now }),
  );
}

export interface BounceInput {
  /** Who is told: the failed message's sender ('' makes a double bounce to the postmaster). */
  to: string;
  original: Buffer;
  arrival: number;
  failed: FailedRecipient[];
  now: number;
}

/**
 * A DSN from MAILER-DAEMON (null sender) about `failed`, ready to queue; with
 * error_copy_postmaster the postmaster gets a copy. A double bounce carries the
 * whole original.
 */
export function bounceRequest(cfg: MailConfig, b: BounceInput): AcceptRequest {
  const double = b.to === '';
  const recipients = double ? ['postmaster'] : [b.to, ...(cfg.error_copy_postmaster ? ['postmaster'] : [])];
  const data = buildDsn({
    reportingMta: cfg.visible_name,
    fromAddress: `MAILER-DAEMON@${cfg.visible_name}`,
    to: double ? `postmaster@${cfg.visible_name}` : b.to,
    // A batch cut before its data has nothing to attach but a blank line.
    original: b.original.length ? b.original : Buffer.from('\n'),
    arrival: b.arrival,
    failed: b.failed,
    now: b.now,
    wholeOriginal: double,
  });
  return { sender: '', recipients, data, origin: double ? DOUBLE_BOUNCE : 'bounce', noReceived: true };
}
