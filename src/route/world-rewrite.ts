// Rewriting when a message crosses between the UUCP and Internet worlds (smail's
// envelope and header transforms), applied just before a remote transport:
//   - envelope sender for UUCP: a bang path relative to us (the From_ line's
//     "remote from <uucp_name>" lets the receiver put our name in front);
//     for SMTP: domain form, bang paths under visible_name;
//   - From/Sender/To/Cc/Reply-To (and Resent-*) are rewritten only when the
//     message changes worlds or was submitted locally (bare names qualified);
//     the body and every other header stay byte for byte.
import { splitMessage } from '../message/headers.js';
import { isNullAddress } from '../address/parse.js';
import { senderToSmtp, stripLocalHops, toBangPath, type SiteNames } from '../address/rewrite.js';
import { rewriteHeaders } from '../address/headers.js';
import type { DeliveryJob, World } from '../deliver/transport.js';
import type { MailConfig } from '../config/mail-config.js';

/** Which world a message came from, by the entry point that accepted it. */
export function originWorld(origin: string): World {
  if (origin === 'rmail' || origin === 'rsmtp' || origin === 'uuxqt') return 'uucp';
  if (origin === 'sendmail') return 'local';
  return 'inet';
}

export function senderForWorld(sender: string, world: World, site: SiteNames): string {
  if (world === 'local' || isNullAddress(sender)) return sender;
  if (world === 'inet') return senderToSmtp(sender, site);
  const steps = stripLocalHops(sender, site);
  return toBangPath(steps[0].input, site.parse);
}

export function rewriteForWorld(job: DeliveryJob, world: World, site: SiteNames, cfg: MailConfig): DeliveryJob {
  if (world === 'local') return job;
  const envelope = { ...job.envelope, sender: safe(() => senderForWorld(job.envelope.sender, world, site), job.envelope.sender) };
  const from = originWorld(job.envelope.origin);
  if (!cfg.rewrite_headers || from === world) return { ...job, envelope };
  const style = world === 'uucp' ? cfg.uucp_header_style : 'domain';
  const split = splitMessage(job.data);
  const header = rewriteHeaders(split.header, { site, style });
  if (header === split.header) return { ...job, envelope };
  const data = Buffer.concat([Buffer.from(header, 'latin1'), job.data.subarray(Buffer.byteLength(split.header, 'latin1'))]);
  return { ...job, envelope, data };
}

/** A sender that does not parse is passed on unchanged rather than failing the delivery. */
function safe(f: () => string, fallback: string): string {
  try {
    return f();
  } catch {
    return fallback;
  }
}
