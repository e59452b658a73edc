// Delivery status notifications (RFC 3464): one multipart/report per failed
// message, listing every failed recipient, with the original headers attached.
import { randomBytes } from 'node:crypto';
import { splitMessage } from '../message/headers.js';
import { rfc5322Date } from '../message/date.js';

export interface FailedRecipient {
  rcpt: string;
  status: string;
  reason: string;
}

export interface DsnInput {
  reportingMta: string;
  fromAddress: string; // MAILER-DAEMON@host
  to: string; // envelope sender of the failed message, or the postmaster
  original: Buffer;
  arrival: number;
  failed: FailedRecipient[];
  now: number;
  /** Attach the whole original (message/rfc822) rather than its headers: double bounces. */
  wholeOriginal?: boolean;
}

export function buildDsn(d: DsnInput): Buffer {
  const boundary = `uugate-${randomBytes(8).toString('hex')}`;
  const date = rfc5322Date(new Date(d.now));
  const list = d.failed.map((f) => `  <${f.rcpt}>: ${f.reason}`).join('\n');
  const perRcpt = d.failed
    .map((f) => `Final-Recipient: rfc822; ${f.rcpt}\nAction: failed\nStatus: ${f.status}\nDiagnostic-Code: X-uugate; ${oneLine(f.reason)}\nLast-Attempt-Date: ${date}\n`)
    .join('\n');
  const original = d.wholeOriginal ? d.original.toString('latin1') : splitMessage(d.original).header;
  const header = original.replace(/\r\n/g, '\n');
  const text = [
    `From: Mail Delivery System <${d.fromAddress}>`,
    `To: ${d.to ? `<${d.to}>` : 'undisclosed-recipients:;'}`,
    `Subject: Undelivered Mail Returned to Sender`,
    `Date: ${date}`,
    `Message-ID: <${d.now.toString(36)}.${randomBytes(4).toString('hex')}@${d.reportingMta}>`,
    `Auto-Submitted: auto-replied`,
    `MIME-Version: 1.0`,
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    ``,
    `This is a MIME-encapsulated message.`,
    ``,
    `--${boundary}`,
    `Content-Type: text/plain; charset=us-ascii`,
    ``,
    `This is the mail gateway at ${d.reportingMta}.`,
    ``,
    `Your message could not be delivered to the following recipient${d.failed.length > 1 ? 's' : ''}:`,
    ``,
    list,
    ``,
    `--${boundary}`,
    `Content-Type: message/delivery-status`,
    ``,
    `Reporting-MTA: dns; ${d.reportingMta}`,
    `Arrival-Date: ${rfc5322Date(new Date(d.arrival))}`,
    ``,
    perRcpt,
    `--${boundary}`,
    `Content-Type: ${d.wholeOriginal ? 'message/rfc822' : 'text/rfc822-headers'}`,
    ``,
    header.replace(/\n$/, ''),
    ``,
    `--${boundary}--`,
    ``,
  ];
  return Buffer.from(text.join('\n'), 'latin1');
}

const oneLine = (s: string): string => s.replace(/\s*[\r\n]+\s*/g, ' ');
