// Reading batched SMTP (BSMTP): `uugate rsmtp`, `sendmail -bS`, and uuxqt running
// an `rsmtp` request in-process. The batch goes through the same SmtpDialogue as a
// live SMTP session, in batch mode (Exim's -bS semantics: no HELO needed, HELO and
// EHLO act as RSET, VRFY/EXPN/HELP/ETRN are no-ops, QUIT stops reading); the
// replies it would send are captured instead and turned into outcomes, because a
// batch has nobody to answer (protocol-facts §6.2):
//
//   - a refused RCPT (unknown local user, bad syntax) → that recipient is bounced
//     to the message's own sender (an RFC 3464 DSN from MAILER-DAEMON, null
//     sender); the message goes on to the recipients that were accepted;
//   - a message refused as a whole (NUL byte, over-long line, over the size
//     limit, no valid recipient) → bounced to its sender; the batch goes on;
//   - a problem with nobody to tell (garbage between messages, MAIL refused) is
//     reported (stderr, log) and counted;
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
import { SmtpDialogue } from './dialogue.js';
import { acceptContext, type Gateway } from '../runtime/gateway.js';
import { openRouter } from '../runtime/routing.js';
import { commitMessages, prepareMessage, type AcceptRequest, type PreparedMessage } from '../queue/accept.js';
import { buildDsn, type FailedRecipient } from '../queue/bounce.js';
import { DOUBLE_BOUNCE } from '../queue/bounce-send.js';
import { GatewayError, EX } from '../util/errors.js';

export interface BsmtpReadOptions {
  /** Envelope origin recorded in the queue (default `rsmtp`, which marks UUCP-world mail). */
  origin?: string;
  /** For Received: `from <name>` (the UUCP neighbour); the batch's HELO name otherwise. */
  receivedFrom?: string;
  /** Messages per group commit (default 256). */
  groupSize?: number;
}

export interface BsmtpProblem {
  /** Line of the batch where the message (or the problem) starts, counting from 1. */
  line: number;
  sender?: string;
  what: string;
  /** Queue id of the bounce sent about it, if any. */
  bounce?: string;
}

export interface BsmtpSummary {
  /** Queue ids of the messages accepted (bounces not included). */
  accepted: string[];
  /** Queue ids of the bounces this batch caused. */
  bounces: string[];
  problems: BsmtpProblem[];
  /** Transactions (MAIL commands) seen. */
  transactions: number;
  truncated: boolean;
  /** Set when reading stopped at a temporary failure. */
  temporary?: string;
  /** Byte offset of the first unacknowledged message (with `temporary`). */
  restOffset?: number;
}

export function bsmtpExitCode(s: BsmtpSummary): number {
  if (s.temporary) return EX.TEMPFAIL;
  return s.problems.length ? EX.DATAERR : EX.OK;
}

/** One line per problem, as `rsmtp` prints them on stderr. */
export function formatProblems(s: BsmtpSummary): string {
  const lines = s.problems.map((p) => `line ${p.line}: ${p.sender !== undefined ? `<${p.sender}>: ` : ''}${p.what}${p.bounce ? ` (bounced as ${p.bounce})` : ''}`);
  if (s.temporary) lines.push(`temporary failure, nothing accepted from byte ${s.restOffset} on: ${s.temporary}`);
  return lines.map((l) => `${l}\n`).join('');
}

interface Transaction {
  line: number;
  offset: number;
  sender: string;
  refused: FailedRecipient[];
  accepted: string[];
  dataStart?: number;
}

class TemporaryStop extends Error {}

export async function readBsmtp(gw: Gateway, input: Buffer, opts: BsmtpReadOptions = {}): Promise<BsmtpSummary> {
  const summary: BsmtpSummary = { accepted: [], bounces: [], problems: [], transactions: 0, truncated: false };
  const ctx = acceptContext(gw);
  const origin = opts.origin ?? 'rsmtp';
  const groupSize = Math.max(1, opts.groupSize ?? 256);
  const routing = await openRouter(gw);

  // The current group: prepared files, and what to report once they are on disk.
  let group: PreparedMessage[] = [];
  let groupMessages: string[] = [];
  let groupBounces: string[] = [];
  let groupProblems: BsmtpProblem[] = [];
  let groupStart: number | undefined; // offset of the first message in the group
  const commit = async (): Promise<void> => {
    if (group.length === 0 && groupProblems.length === 0) return;
    try {
      await commitMessages(gw.spool, group);
    } catch (err) {
      throw new TemporaryStop((err as Error).message);
    }
    summary.accepted.push(...groupMessages);
    summary.bounces.push(...groupBounces);
    summary.problems.push(...groupProblems);
    group = [];
    groupMessages = [];
    groupBounces = [];
    groupProblems = [];
    groupStart = undefined;
  };

  let tx: Transaction | undefined;
  let lineNo = 0;
  let lineOffset = 0;
  let lastReply = '';

  const problem = (p: BsmtpProblem): void => {
    groupProblems.push(p);
  };
  const bounce = (sender: string, original: Buffer, failed: FailedRecipient[]): string => {
    const p = prepareMessage({ ...ctx, sizeLimit: Infinity }, bounceRequest(gw, sender, original, failed));
    group.push(p);
    groupBounces.push(p.id);
    groupStart ??= tx?.offset;
    return p.id;
  };
  const failMessage = (t: Transaction, original: Buffer, reply: string, rcpts: string[]): void => {
    const failed = [...t.refused, ...rcpts.map((r) => ({ rcpt: r, status: statusOf(reply), reason: reply }))];
    const list = failed.length ? failed : [{ rcpt: '(none)', status: statusOf(reply), reason: reply }];
    const id = bounce(t.sender, original, list);
    const refused = t.refused.length ? `; refused ${t.refused.map((r) => `<${r.rcpt}> (${r.reason})`).join(', ')}` : '';
    problem({ line: t.line, sender: t.sender, what: `${reply}${refused}`, bounce: id });
  };

  const dialogue = new SmtpDialogue(
    {
      hostname: gw.cfg.visible_name,
      batch: true,
      sizeLimit: gw.cfg.message_size_limit,
      maxRecipients: 10000,
      checkRecipient: async (addr) => {
        const d = await routing.router.route({ addr, provenance: 'envelope' });
        if (d.kind === 'fail' && !d.temporary && d.status === '5.1.1') return `550 5.1.1 <${addr}>: ${d.reason}`;
        return undefined;
      },
      accept: async (sender, recipients, data, helo) => {
        const t = tx!;
        let p: PreparedMessage;
        try {
          p = prepareMessage(ctx, { sender, recipients, data, origin, protocol: 'BSMTP', receivedFrom: opts.receivedFrom ?? (helo || undefined) });
        } catch (err) {
          if (err instanceof GatewayError && !err.temporary) {
            failMessage(t, data, `554 ${err.status} ${err.message}`, recipients);
            return 'refused';
          }
          throw err;
        }
        group.push(p);
        groupMessages.push(p.id);
        groupStart ??= t.offset;
        if (t.refused.length) {
          const id = bounce(sender, data, t.refused);
          problem({ line: t.line, sender, what: `refused ${t.refused.map((r) => `<${r.rcpt}>`).join(', ')} (${t.refused[0].reason})`, bounce: id });
        }
        return p.id;
      },
      discarded: async (sender, data, reply) => {
        const t = tx;
        if (t && sender !== undefined) failMessage(t, data, reply, t.accepted);
        else problem({ line: t?.line ?? lineNo, what: `message without a sender discarded: ${reply}` });
      },
    },
    (reply) => {
      lastReply = reply;
    },
  );

  try {
    while (lineOffset < input.length && !dialogue.done) {
      const nl = input.indexOf(0x0a, lineOffset);
      const end = nl < 0 ? input.length : nl;
      const next = nl < 0 ? input.length : nl + 1;
      const line = input.subarray(lineOffset, end > lineOffset && input[end - 1] === 0x0d ? end - 1 : end);
      lineNo++;
      if (dialogue.inData) {
        lastReply = '';
        await dialogue.line(line);
        if (!dialogue.inData) {
          // End of a message: the hooks decided its outcome; a 451 is a temporary failure.
          if (lastReply.startsWith('451')) throw new TemporaryStop(lastReply);
          tx = undefined;
          if (group.length >= groupSize) await commit();
        }
      } else {
        const verb = line.toString('latin1', 0, 4).toUpperCase();
        if (verb === 'MAIL' && tx) {
          // The previous transaction never reached DATA.
          failMessage(tx, Buffer.alloc(0), '554 5.5.1 transaction abandoned: MAIL without DATA', tx.accepted);
          await dialogue.line(Buffer.from('RSET'));
          tx = undefined;
        }
        lastReply = '';
        await dialogue.line(line);
        if (verb === 'MAIL') {
          summary.transactions++;
          if (lastReply.startsWith('250')) tx = { line: lineNo, offset: lineOffset, sender: /<([^>]*)>/.exec(line.toString('latin1'))?.[1] ?? '', refused: [], accepted: [] };
          else problem({ line: lineNo, what: `${line.toString('latin1').slice(0, 80)}: ${lastReply}` });
        } else if (verb === 'RCPT' && tx && lastReply.startsWith('2')) {
          tx.accepted.push(/<([^>]*)>/.exec(line.toString('latin1'))?.[1] ?? '');
        } else if (verb === 'RCPT' && tx) {
          tx.refused.push({ rcpt: /<([^>]*)>/.exec(line.toString('latin1'))?.[1] ?? line.toString('latin1').slice(8), status: statusOf(lastReply), reason: lastReply });
        } else if (verb === 'RSET' || verb === 'HELO' || verb === 'EHLO') {
          if (tx) failMessage(tx, Buffer.alloc(0), `554 5.5.1 transaction abandoned by ${verb}`, tx.accepted);
          tx = undefined;
        } else if (verb === 'DATA') {
          if (tx) tx.dataStart = next;
          else if (!dialogue.inData) problem({ line: lineNo, what: `DATA: ${lastReply}` });
        } else if (/^[45]/.test(lastReply) && verb !== 'RCPT') {
          problem({ line: lineNo, what: `${line.toString('latin1').slice(0, 80)}: ${lastReply}` });
        }
      }
      lineOffset = next;
    }
    // End of input: anything still open was cut off.
    if (tx) {
      summary.truncated = true;
      const original = tx.dataStart !== undefined ? input.subarray(tx.dataStart) : Buffer.alloc(0);
      failMessage(tx, original, tx.dataStart !== undefined ? '554 5.6.0 batch ended inside the message (no final ".")' : '554 5.5.1 batch ended before DATA', tx.accepted);
    } else if (dialogue.inData) {
      summary.truncated = true;
      problem({ line: lineNo, what: 'batch ended inside a message without a sender (no final ".")' });
    }
    await commit();
  } catch (err) {
    if (!(err instanceof TemporaryStop)) throw err;
    summary.temporary = err.message;
    summary.restOffset = groupStart ?? tx?.offset ?? lineOffset;
  } finally {
    await routing.close();
  }
  return summary;
}

/** A DSN about `failed` for `sender` (a null sender's goes to the postmaster, as a double bounce). */
export function bounceRequest(gw: Gateway, sender: string, original: Buffer, failed: FailedRecipient[]): AcceptRequest {
  const double = sender === '';
  const data = buildDsn({
    reportingMta: gw.cfg.visible_name,
    fromAddress: `MAILER-DAEMON@${gw.cfg.visible_name}`,
    to: double ? `postmaster@${gw.cfg.visible_name}` : sender,
    original: original.length ? original : Buffer.from('\n'),
    arrival: gw.clock(),
    failed,
    now: gw.clock(),
    wholeOriginal: double,
  });
  return { sender: '', recipients: [double ? 'postmaster' : sender], data, origin: double ? DOUBLE_BOUNCE : 'bounce', noReceived: true };
}

const statusOf = (reply: string): string => /^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})/.exec(reply)?.[1] ?? (reply.startsWith('4') ? '4.0.0' : '5.0.0');
