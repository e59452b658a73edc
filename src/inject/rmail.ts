// rmail: mail arriving over UUCP. Leading From_ lines give the envelope sender
// (RFC 976); they are removed, and the message is accepted with the recipients
// given as arguments (bang, domain or local form). Taylor's uuxqt and our own
// uuxqt call this same function. The input streams into the queue file: only
// the From_ lines and the header are held in memory.
import { parseFromLines } from '../message/from-line.js';
import { MessageInput, readHeader } from '../message/input.js';
import { acceptStreamed, type Gateway } from '../runtime/gateway.js';
import { usageError } from '../util/errors.js';
import { refuseUnknownLocalUsers } from '../runtime/recipient-check.js';
import { logCommandRefusal } from '../smtp/refusal-log.js';

export interface RmailRequest {
  recipients: string[];
  /** The message (stdin, a D. file), chunk by chunk. */
  input: AsyncIterable<Buffer>;
  /** The UUCP neighbour that handed the job over (uuxqt's UU_MACHINE). */
  fromSystem?: string;
  /** Sender when there is no From_ line (UU_USER, or the invoking user). */
  defaultSender?: string;
  /**
   * For a sender who may not choose the envelope sender (the maildrop's pickup):
   * given what the From_ lines claim, the sender to use and header fields to add.
   */
  senderPolicy?: (claimed: string | undefined) => { sender: string; addFields: string[] };
}

export async function rmail(gw: Gateway, req: RmailRequest): Promise<string> {
  const input = new MessageInput(req.input);
  try {
    if (req.recipients.length === 0) throw usageError('usage: rmail recipient ...');
    const bad = req.recipients.find((r) => r.startsWith('-'));
    if (bad) throw usageError(`recipient starts with '-': ${bad}`);
    const recipients = req.recipients.map(unwrap);
    await refuseUnknownLocalUsers(gw, recipients);
    const from = parseFromLines(await readFromLines(input));
    const policy = req.senderPolicy?.(from.sender);
    const sender = policy?.sender ?? from.sender ?? defaultSender(req);
    const h = await readHeader(input);
    const added = (policy?.addFields ?? []).map((f) => f + h.eol).join('');
    return await acceptStreamed(gw, {
      sender: sender === '<>' ? '' : sender,
      recipients,
      head: Buffer.from(added + h.header + (h.separator || (h.bodyWithoutSeparator ? h.eol : '')), 'latin1'),
      body: input.rest(),
      eol: h.eol,
      origin: 'rmail',
      receivedFrom: req.fromSystem ?? firstHop(sender),
      protocol: 'UUCP',
    });
  } catch (err) {
    logCommandRefusal(gw.log, 'rmail', err);
  } finally {
    await input.close();
  }
}

/** The From_ and >From lines at the start of the input; the first other line is put back. */
async function readFromLines(input: MessageInput): Promise<Buffer> {
  const lines: Buffer[] = [];
  for (let line = await input.readLine(); line !== undefined; line = await input.readLine()) {
    if (!/^>?From /.test(line.toString('latin1', 0, 6))) {
      input.unread(line);
      break;
    }
    lines.push(line);
  }
  return Buffer.concat(lines);
}

function defaultSender(req: RmailRequest): string {
  const user = req.defaultSender ?? 'uucp';
  return req.fromSystem ? `${req.fromSystem}!${user}` : user;
}

const firstHop = (sender: string): string | undefined => (sender.includes('!') ? sender.slice(0, sender.indexOf('!')) : undefined);

/** uux protects bang addresses with parentheses; some senders leave them on. */
const unwrap = (r: string): string => r.replace(/^\((.*)\)$/, '$1');
