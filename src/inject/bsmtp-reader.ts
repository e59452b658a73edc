// Reading batched SMTP (BSMTP): `uugate rsmtp`, `sendmail -bS`, and uuxqt running
// an `rsmtp` request in-process. The batch goes through the same SMTP engine as a
// live session (engine.ts), in batch mode (Exim's -bS semantics: no HELO needed,
// HELO and EHLO act as RSET, VRFY/EXPN/HELP/ETRN are no-ops, QUIT stops reading;
// paths as strict as the server's, but addresses need no domain). A batch has
// nobody to answer (docs/bsmtp.md "Reading batches"), so refusals become outcomes:
//
//   - a refused RCPT (unknown local user, bad syntax) → that recipient is bounced
//     to the message's own sender (an RFC 3464 DSN from MAILER-DAEMON, null
//     sender); the message goes on to the recipients that were accepted;
//   - a message refused as a whole (NUL byte, over-long line, over the size
//     limit, no valid recipient) or a transaction abandoned before DATA →
//     bounced to its sender; the batch goes on;
//   - a problem with nobody to tell (garbage between messages, MAIL refused) is
//     reported (stderr, log);
//   - a batch that ends inside a message (no final ".") keeps every complete
//     message; the cut one is bounced to its sender and reported as truncated;
//   - a temporary failure (disk full, spool not writable) stops reading: nothing
//     from the first unacknowledged message on is accepted, and `restOffset`
//     says where that rest starts (uuxqt keeps just the rest for the next run).
//
// Durability with group commits: messages (and the bounces the batch causes) are
// prepared in memory and committed `groupSize` at a time (queue/accept.ts
// commitMessages: each file fsync'd, one directory fsync per group). Nothing is
// reported as accepted before its group is on disk.
//
// Exit status (bsmtpExitCode): 0 every message accepted; 65 something was
// bounced, refused or cut off (the rest was accepted); 75 a temporary failure:
// the messages from `restOffset` on were not acknowledged.
import { SmtpSession, failureVerdict, type Transaction, type Verdict } from '../smtp/engine.js';
import { badRecipient } from '../smtp/relay.js';
import { acceptContext, type Gateway } from '../runtime/gateway.js';
import { openRouter } from '../runtime/routing.js';
import { commitMessages, prepareMessage, type PreparedMessage } from '../queue/accept.js';
import type { FailedRecipient } from '../queue/bounce.js';
import { bounceRequest } from '../queue/bounce-send.js';
import { GatewayError } from '../util/errors.js';
import { commandAt, lineCounter, type BsmtpProblem, type BsmtpSummary } from '../bsmtp/reader.js';

export interface BsmtpReadOptions {
  /** Envelope origin recorded in the queue (default `rsmtp`, which marks UUCP-world mail). */
  origin?: string;
  /** For Received: `from <name>` (the UUCP neighbour); the batch's HELO name otherwise. */
  receivedFrom?: string;
  /** Messages per group commit (default 256). */
  groupSize?: number;
}

/** Recipients per message: a batch has nobody to retry the rest, so the limit is only a guard. */
const MAX_RECIPIENTS = 10_000;
const LF = 0x0a;
const EMPTY = Buffer.alloc(0);
const QUEUED: Verdict = { code: 250, status: '2.6.0', text: 'queued' };

const replyText = (v: Verdict): string => `${v.code} ${v.status} ${v.text}`;
const failed = (rcpt: string, why: Verdict): FailedRecipient => ({ rcpt, status: why.status, reason: replyText(why) });

export async function readBsmtp(gw: Gateway, input: Buffer, opts: BsmtpReadOptions = {}): Promise<BsmtpSummary> {
  const summary: BsmtpSummary = { accepted: [], bounces: [], problems: [], truncated: false };
  const ctx = acceptContext(gw);
  const origin = opts.origin ?? 'rsmtp';
  const groupSize = Math.max(1, opts.groupSize ?? 256);
  const lineOf = lineCounter(input);
  const routing = await openRouter(gw);

  // The current group: prepared files, and what to report once they are on disk.
  let group: PreparedMessage[] = [];
  let groupMessages: string[] = [];
  let groupBounces: string[] = [];
  let groupProblems: BsmtpProblem[] = [];
  let groupStart: number | undefined; // offset of the first message in the group
  const commit = async (): Promise<void> => {
    if (group.length === 0 && groupProblems.length === 0) return;
    await commitMessages(gw.spool, group);
    summary.accepted.push(...groupMessages);
    summary.bounces.push(...groupBounces);
    summary.problems.push(...groupProblems);
    group = [];
    groupMessages = [];
    groupBounces = [];
    groupProblems = [];
    groupStart = undefined;
  };

  const problem = (p: BsmtpProblem): void => {
    groupProblems.push(p);
  };
  const bounce = (tx: Transaction, original: Buffer, list: FailedRecipient[]): string => {
    const now = gw.clock();
    const p = prepareMessage({ ...ctx, sizeLimit: Infinity }, bounceRequest(gw.cfg, { to: tx.sender, original, arrival: now, failed: list, now }));
    group.push(p);
    groupBounces.push(p.id);
    groupStart ??= tx.offset;
    return p.id;
  };
  /** The whole message failed: its refused recipients and the accepted ones are told why. */
  const failMessage = (tx: Transaction, original: Buffer, why: Verdict): void => {
    const refused = tx.refused.map((r) => failed(r.addr, r.why));
    const list = [...refused, ...tx.recipients.map((r) => failed(r, why))];
    const id = bounce(tx, original, list.length ? list : [failed('(none)', why)]);
    const also = refused.length ? `; refused ${refused.map((r) => `<${r.rcpt}> (${r.reason})`).join(', ')}` : '';
    problem({ line: lineOf(tx.offset), sender: tx.sender, what: `${replyText(why)}${also}`, bounce: id });
  };
  /** A complete message: prepared for the group (a permanent refusal is bounced); refused recipients bounced. */
  const take = (tx: Transaction, data: Buffer): void => {
    let p: PreparedMessage;
    try {
      p = prepareMessage(ctx, { sender: tx.sender, recipients: tx.recipients, data, origin, protocol: 'BSMTP', receivedFrom: opts.receivedFrom ?? (tx.helo || undefined) });
    } catch (err) {
      if (err instanceof GatewayError && !err.temporary) return failMessage(tx, data, failureVerdict(err));
      throw err;
    }
    group.push(p);
    groupMessages.push(p.id);
    groupStart ??= tx.offset;
    if (!tx.refused.length) return;
    const id = bounce(tx, data, tx.refused.map((r) => failed(r.addr, r.why)));
    problem({ line: lineOf(tx.offset), sender: tx.sender, what: `refused ${tx.refused.map((r) => `<${r.addr}>`).join(', ')} (${replyText(tx.refused[0].why)})`, bounce: id });
  };

  const session: SmtpSession = new SmtpSession(
    { hostname: gw.cfg.visible_name, client: 'batch', sizeLimit: gw.cfg.message_size_limit, maxRecipients: MAX_RECIPIENTS, mode: 'batch' },
    {
      send: () => undefined,
      hold: () => undefined,
      // Only unknown users are refused while reading; anything else, a
      // routing error included, is for the queue run to route (and retry).
      rcpt: async (addr) => badRecipient(addr, await routing.router.route({ addr, provenance: 'envelope' }).catch(() => undefined)),
      message: async (tx, data) => {
        try {
          take(tx, data);
          if (group.length >= groupSize) await commit();
        } catch (err) {
          // Nothing from this group on is acknowledged: reading stops here.
          summary.temporary = (err as Error).message;
          summary.restOffset = groupStart ?? tx.offset;
          session.abort();
        }
        return QUEUED;
      },
      refused: (offset, why) => problem({ line: lineOf(offset), what: `${commandAt(input, offset)}: ${replyText(why)}` }),
      dropped: (tx, data, offset, why) => {
        if (tx) failMessage(tx, data, why);
        else problem({ line: lineOf(offset), what: `message without a sender discarded: ${replyText(why)}` });
      },
    },
  );

  try {
    session.receive(input);
    const left = await session.finish();
    if (summary.temporary) return summary;
    // The end of the batch: anything still open was cut off.
    summary.truncated = left.tx !== undefined || left.dataAt !== undefined;
    if (left.tx) {
      const dataStart = left.dataAt === undefined ? undefined : input.indexOf(LF, left.dataAt) + 1;
      const why: Verdict = dataStart === undefined ? { code: 554, status: '5.5.1', text: 'batch ended before DATA' } : { code: 554, status: '5.6.0', text: 'batch ended inside the message (no final ".")' };
      failMessage(left.tx, dataStart === undefined ? EMPTY : input.subarray(dataStart), why);
    } else if (left.dataAt !== undefined) {
      problem({ line: lineOf(left.dataAt), what: 'batch ended inside a message without a sender (no final ".")' });
    }
    await commit().catch((err: unknown) => {
      summary.temporary = (err as Error).message;
      summary.restOffset = groupStart ?? input.length;
    });
  } finally {
    await routing.close();
  }
  return summary;
}
