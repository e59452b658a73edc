// Who gets a bounce and how it is queued. Failures go to the message's envelope
// sender (or to owner-NAME for list members); a bounce for a null sender becomes a
// double bounce to the postmaster; a failed double bounce is dropped and logged.
import { buildDsn } from './bounce.js';
import { acceptMessage } from './accept.js';
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
  const double = to === '';
  const recipients = double ? ['postmaster'] : [to, ...(cfg.error_copy_postmaster ? ['postmaster'] : [])];
  const data = buildDsn({
    reportingMta: cfg.visible_name,
    fromAddress: `MAILER-DAEMON@${cfg.visible_name}`,
    to: double ? `postmaster@${cfg.visible_name}` : to,
    original: msg.data,
    arrival: state.arrival,
    failed: failed.map((r) => ({ rcpt: r.addr, status: r.status ?? '5.0.0', reason: r.lastError ?? 'failed' })),
    now,
    wholeOriginal: double,
  });
  return acceptMessage(
    { spool, hostname: cfg.primaryName, sizeLimit: Infinity, clock: () => now },
    { sender: '', recipients, data, origin: double ? DOUBLE_BOUNCE : 'bounce', noReceived: true },
  );
}
