// rmail: mail arriving over UUCP. Leading From_ lines give the envelope sender
// (RFC 976); they are removed, and the message is accepted with the recipients
// given as arguments (bang, domain or local form). Taylor's uuxqt and our own
// uuxqt call this same function.
import { parseFromLines } from '../message/from-line.js';
import { validateMessage } from '../message/validate.js';
import { accept, type Gateway } from '../runtime/gateway.js';
import { usageError } from '../util/errors.js';
import { refuseUnknownLocalUsers } from '../runtime/recipient-check.js';

export interface RmailRequest {
  recipients: string[];
  data: Buffer;
  /** The UUCP neighbour that handed the job over (uuxqt's UU_MACHINE). */
  fromSystem?: string;
  /** Sender when there is no From_ line (UU_USER, or the invoking user). */
  defaultSender?: string;
}

export async function rmail(gw: Gateway, req: RmailRequest): Promise<string> {
  if (req.recipients.length === 0) throw usageError('usage: rmail recipient ...');
  const bad = req.recipients.find((r) => r.startsWith('-'));
  if (bad) throw usageError(`recipient starts with '-': ${bad}`);
  const recipients = req.recipients.map(unwrap);
  await refuseUnknownLocalUsers(gw, recipients);
  validateMessage(req.data); // offsets in errors then count from the start of stdin
  const from = parseFromLines(req.data);
  const sender = from.sender ?? defaultSender(req);
  return accept(gw, {
    sender: sender === '<>' ? '' : sender,
    recipients,
    data: req.data.subarray(from.length),
    origin: 'rmail',
    receivedFrom: req.fromSystem ?? firstHop(sender),
    protocol: 'UUCP',
  });
}

function defaultSender(req: RmailRequest): string {
  const user = req.defaultSender ?? 'uucp';
  return req.fromSystem ? `${req.fromSystem}!${user}` : user;
}

const firstHop = (sender: string): string | undefined => (sender.includes('!') ? sender.slice(0, sender.indexOf('!')) : undefined);

/** uux protects bang addresses with parentheses; some senders leave them on. */
const unwrap = (r: string): string => r.replace(/^\((.*)\)$/, '$1');
