// Local submission (the sendmail command): recipients from arguments or, with -t,
// from To/Cc/Bcc (Bcc removed); Date, Message-ID and From added when missing,
// as a submission agent does.
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { getFields, hasField, joinMessage, lineEnding, removeFields, splitMessage } from '../message/headers.js';
import { rfc5322Date } from '../message/date.js';
import { accept, type Gateway } from '../runtime/gateway.js';
import { usageError } from '../util/errors.js';
import { addressesOf } from '../message/header-addresses.js';
import { refuseUnknownLocalUsers } from '../runtime/recipient-check.js';

export interface SubmitRequest {
  recipients: string[];
  data: Buffer;
  fromHeaders: boolean; // -t
  sender?: string; // -f
  fullName?: string; // -F
  /** Ignore dots: -i / -oi. Without it a line with a single dot ends the input. */
  ignoreDots: boolean;
}

export function currentUser(): string {
  return process.env.USER ?? process.env.LOGNAME ?? os.userInfo().username;
}

export async function submit(gw: Gateway, req: SubmitRequest): Promise<string> {
  const data = req.ignoreDots ? req.data : cutAtDot(req.data);
  const split = splitMessage(data);
  const eol = lineEnding(data);
  const user = currentUser();
  const sender = req.sender ?? `${user}@${gw.cfg.visible_name}`;
  let header = split.header;
  const recipients = [...req.recipients];
  if (req.fromHeaders) {
    for (const f of ['To', 'Cc', 'Bcc']) for (const v of getFields(header, f)) recipients.push(...(await addressesOf(v)));
    header = removeFields(header, 'Bcc');
  }
  if (recipients.length === 0) throw usageError(req.fromHeaders ? 'no recipients in To:, Cc: or Bcc:' : 'no recipients given (use -t to take them from the header)');
  await refuseUnknownLocalUsers(gw, recipients);
  const add: string[] = [];
  if (!hasField(header, 'From')) add.push(`From: ${req.fullName ? `${quoteName(req.fullName)} ` : ''}<${user}@${gw.cfg.visible_name}>`);
  if (!hasField(header, 'Date')) add.push(`Date: ${rfc5322Date(new Date(gw.clock()))}`);
  if (!hasField(header, 'Message-ID')) add.push(`Message-ID: <${gw.clock().toString(36)}.${randomBytes(5).toString('hex')}@${gw.cfg.visible_name}>`);
  const headerOut = header + add.map((l) => l + eol).join('');
  const message = joinMessage(headerOut, split.body, eol);
  return accept(gw, { sender, recipients, data: message, origin: 'sendmail', protocol: 'local', receivedFrom: undefined });
}

const quoteName = (n: string): string => (/^[\w .-]*$/.test(n) ? n : `"${n.replace(/["\\]/g, '\\$&')}"`);

/** Classic sendmail: without -i a line consisting of a single "." ends the message. */
function cutAtDot(data: Buffer): Buffer {
  const m = /(^|\n)\.\r?\n/.exec(data.toString('latin1'));
  return m ? data.subarray(0, m.index + m[1].length) : data;
}
