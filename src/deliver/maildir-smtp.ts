// The maildir-smtp transport (world 'inet'): mail for a dial-up SMTP client site
// (config/autoturn, see route/autoturn.ts) waits in a maildir, one file per
// recipient, in exactly the layout serialmail's maildirsmtp (and our
// `uugate maildir2smtp`) reads back (docs/bsmtp.md "AutoTURN"):
//
//   Return-Path: <sender>              line 1: the envelope sender (domain form)
//   Delivered-To: <prefix><recipient>  line 2: the table's prefix, then the recipient
//   <the message>
//
// Written with the maildir algorithm (tmp/, fsync, link into new/), so a flush
// never sees half a message. `ok` once the file is in new/.
import { deliverToMaildir } from './maildir.js';
import { fsFailure, ok, perm, temp, type DeliveryJob, type DeliveryResult, type Transport } from './transport.js';

/** The two lines maildir2smtp reads: sender, then prefix + recipient. */
export function autoturnPrefix(sender: string, prefix: string, recipient: string): Buffer {
  return Buffer.from(`Return-Path: <${sender}>\nDelivered-To: ${prefix}${recipient}\n`, 'latin1');
}

/** The maildir and prefix come in the route (the autoturn router read config/autoturn). */
export const maildirSmtpTransport: Transport = {
  name: 'maildir-smtp',
  world: 'inet',
  retryFactor: 10,
  async deliver(job: DeliveryJob): Promise<DeliveryResult[]> {
    const data = crlfToLf(job.data);
    const results: DeliveryResult[] = [];
    for (const r of job.recipients) {
      const e = r.route.autoturn;
      if (!e) {
        results.push(temp(r.rcpt, `maildir-smtp: no config/autoturn entry for ${r.route.nextHop ?? '(no next hop)'}`, '4.3.5'));
        continue;
      }
      if (/[\s<>\0-\x1f]/.test(r.route.address) || /[\s<>\0-\x1f]/.test(job.envelope.sender)) {
        results.push(perm(r.rcpt, `address cannot be written in Return-Path/Delivered-To: <${job.envelope.sender}> / <${r.route.address}>`, '5.1.3'));
        continue;
      }
      try {
        const file = await deliverToMaildir(e.maildir, [autoturnPrefix(job.envelope.sender, e.prefix, r.route.address), data]);
        results.push(ok(r.rcpt, `kept for ${r.route.nextHop} in ${file} (flushed by maildir2smtp)`));
      } catch (err) {
        results.push(fsFailure(r.rcpt, err, `delivery to maildir ${e.maildir}`));
      }
    }
    return results;
  },
};

/** Maildir files use LF; maildir2smtp turns LF into CRLF when it sends. */
function crlfToLf(data: Buffer): Buffer {
  return data.includes('\r\n') ? Buffer.from(data.toString('latin1').replace(/\r\n/g, '\n'), 'latin1') : data;
}
