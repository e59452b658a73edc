// Local submission (the sendmail command): recipients from arguments or, with -t,
// from To/Cc/Bcc (Bcc removed); Date, Message-ID and From added when missing,
// as a submission agent does.
import { randomBytes } from 'node:crypto';
import { getFields, hasField, removeFields } from '../message/headers.js';
import { MessageInput, readHeader } from '../message/input.js';
import { rfc5322Date } from '../message/date.js';
import { acceptStreamed, type Gateway } from '../runtime/gateway.js';
import { usageError } from '../util/errors.js';
import { invokingUser } from '../util/privileges.js';
import { addressesOf } from '../message/header-addresses.js';
import { refuseUnknownLocalUsers } from '../runtime/recipient-check.js';
import { logCommandRefusal } from '../smtp/refusal-log.js';

export interface SubmitRequest {
  recipients: string[];
  /** The message (stdin), chunk by chunk: it streams into the queue file, only the header held. */
  input: AsyncIterable<Buffer>;
  fromHeaders: boolean; // -t
  sender?: string; // -f
  fullName?: string; // -F
  /** Ignore dots: -i / -oi. Without it a line with a single dot ends the input. */
  ignoreDots: boolean;
  /** Who submits (the maildrop's pickup: the drop's owner); default the invoking user. */
  user?: string;
  /** Header fields to add (the pickup's X-Authentication-Warning). */
  addFields?: string[];
}

export function currentUser(): string {
  return process.env.USER ?? process.env.LOGNAME ?? invokingUser();
}

export async function submit(gw: Gateway, req: SubmitRequest): Promise<string> {
  const input = new MessageInput(req.ignoreDots ? req.input : cutAtDot(req.input));
  try {
    const h = await readHeader(input);
    const eol = h.eol;
    const user = req.user ?? currentUser();
    const sender = req.sender ?? `${user}@${gw.cfg.visible_name}`;
    let header = h.header && !h.header.endsWith('\n') ? h.header + eol : h.header;
    const recipients = [...req.recipients];
    if (req.fromHeaders) {
      for (const f of ['To', 'Cc', 'Bcc']) for (const v of getFields(header, f)) recipients.push(...(await addressesOf(v)));
      header = removeFields(header, 'Bcc');
    }
    if (recipients.length === 0) throw usageError(req.fromHeaders ? 'no recipients in To:, Cc: or Bcc:' : 'no recipients given (use -t to take them from the header)');
    await refuseUnknownLocalUsers(gw, recipients);
    const add: string[] = [...(req.addFields ?? [])];
    if (!hasField(header, 'From')) add.push(`From: ${req.fullName ? `${quoteName(req.fullName)} ` : ''}<${user}@${gw.cfg.visible_name}>`);
    if (!hasField(header, 'Date')) add.push(`Date: ${rfc5322Date(new Date(gw.clock()))}`);
    if (!hasField(header, 'Message-ID')) add.push(`Message-ID: <${gw.clock().toString(36)}.${randomBytes(5).toString('hex')}@${gw.cfg.visible_name}>`);
    // The header, the fields added, then a separator whatever the input had.
    const head = Buffer.from(header + add.map((l) => l + eol).join('') + eol, 'latin1');
    return await acceptStreamed(gw, { sender, recipients, head, body: input.rest(), eol, origin: 'sendmail', protocol: 'local', receivedFrom: undefined });
  } catch (err) {
    logCommandRefusal(gw.log, 'sendmail', err);
  } finally {
    await input.close();
  }
}

const quoteName = (n: string): string => (/^[\w .-]*$/.test(n) ? n : `"${n.replace(/["\\]/g, '\\$&')}"`);

const EMPTY: Buffer = Buffer.alloc(0);

/**
 * Classic sendmail: without -i a line consisting of a single "." ends the
 * message (and the reading). A line start that may be such a dot line is held
 * back until the next chunk shows how it goes on.
 */
export async function* cutAtDot(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let carry: Buffer = EMPTY;
  let atLineStart = true;
  for await (const chunk of src) {
    const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const text = buf.toString('latin1');
    const m = (atLineStart ? /(^|\n)\.\r?\n/ : /(\n)\.\r?\n/).exec(text);
    if (m) {
      if (m.index + m[1].length) yield buf.subarray(0, m.index + m[1].length);
      return;
    }
    const lineStart: number = text.lastIndexOf('\n') + 1;
    const tail = text.slice(lineStart);
    const held: number = (lineStart > 0 || atLineStart) && (tail === '.' || tail === '.\r') ? tail.length : 0;
    carry = buf.subarray(buf.length - held);
    if (buf.length - held) yield buf.subarray(0, buf.length - held);
    atLineStart = held > 0 || text.endsWith('\n') || (text === '' && atLineStart);
  }
  if (carry.length) yield carry;
}
