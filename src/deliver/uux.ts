// The uux transport: mail for a UUCP neighbour becomes an `rmail` job in the UUCP
// spool, which uucico later carries (RFC 976 §2.2; smail's `uux` transport).
//
// One job per message and neighbour, holding up to UUX_MAX_RECIPIENTS recipients
// (more are split over several jobs). The job is written in the classic form every
// UUCP understands, a data file plus a generated X. file sent with two S commands
// (see uucp/uux.ts):
//
//   X. file:  U uucp leaf / F D.leafC0001 / I D.leafC0001 / C rmail bert!foo.bar.com!user amy
//   data:     From alice Fri Nov 27 15:46:07 2026 remote from leaf\n<the message as queued>
//
// - Recipients are `route.address`, already a bang path relative to the neighbour.
//   They go into the C line as they are: no shell ever sees them (Taylor's uuxqt
//   hands each word to rmail as one argument, `!`, `$` and `;` included), so no
//   parentheses are added. Addresses that cannot be one C-line word (blank,
//   control character, empty) or that start with '-' (rmail refuses them) fail
//   permanently, alone.
// - Exactly one From_ line is put in front of the message: `From <path> <asctime>
//   remote from <uucp_name>`, where <path> is the envelope sender as a bang path
//   relative to this host (the receiver puts `<uucp_name>!` in front):
//     local `bob`, `bob@<one of our names>`, `leaf!bob`   -> bob
//     `user@far.example`                                  -> far.example!user
//     `a!b!user` (arrived over UUCP)                      -> a!b!user
//     null sender                                         -> MAILER-DAEMON (as sendmail
//       and smail write it; rmail has no way to carry an empty sender)
// - The result is `ok` as soon as the job is durable in the UUCP spool; from then
//   on uucico owns it. A neighbour missing from uucp/sys is a permanent failure; a
//   spool that cannot be written is a temporary one.
//
// The queue builds it with createUuxTransport(transportContext(gw)), so jobs go to that gateway's spool.
import path from 'node:path';
import { asctime } from '../message/date.js';
import { lineEnding } from '../message/headers.js';
import { senderToUucp, type SiteNames } from '../address/rewrite.js';
import { isNullAddress } from '../address/parse.js';
import type { MailConfig } from '../config/mail-config.js';
import type { Locations } from '../config/locations.js';
import { GatewayError } from '../util/errors.js';
import { ok, perm, temp, type DeliveryJob, type DeliveryResult, type RoutedRecipient, type Transport, type TransportContext } from './transport.js';
import { carriable, findNeighbour } from './uucp-neighbour.js';
import { sevenBitFor, sevenBitNeighbour } from './seven-bit.js';

/** Recipients carried by one rmail job at most (smail's max_addrs for uux is of this order). */
export const UUX_MAX_RECIPIENTS = 20;
/** Job grade for mail: `C`, as sendmail's UUCP mailer uses, ahead of the news default `N`/`d`. */
export const UUX_MAIL_GRADE = 'C';
/** The U-line user of the jobs; the remote mails execution failures to `<uucp_name>!uucp`. */
export const UUX_REQUESTER = 'uucp';

export interface UuxTransportOptions {
  maxRecipients?: number;
  grade?: string;
}

/** The UUCP spool of a gateway: `<spoolDir>/uucp`. */
export function uucpSpoolDir(loc: Locations): string {
  return path.join(loc.spoolDir, 'uucp');
}

/** Our names, for stripping local hops off senders. */
export function siteNamesOf(cfg: MailConfig): SiteNames {
  return {
    hostnames: [cfg.primaryName, ...cfg.hostnames],
    uucpName: cfg.uucp_name,
    visibleName: cfg.visible_name,
  };
}

/** The sender as written in the From_ line (see the header comment). */
export function fromLinePath(sender: string, cfg: MailConfig): string {
  if (isNullAddress(sender)) return 'MAILER-DAEMON';
  const withUs = senderToUucp(sender, siteNamesOf(cfg));
  return withUs.slice(cfg.uucp_name.length + 1);
}

/** `From <path> <asctime> remote from <uucp_name>` plus the message's line ending. */
export function fromLine(sender: string, cfg: MailConfig, when: Date, eol = '\n'): string {
  return `From ${fromLinePath(sender, cfg)} ${asctime(when)} remote from ${cfg.uucp_name}${eol}`;
}

/** Why an address cannot go into the C line, or undefined if it can. */
function badArgument(addr: string): string | undefined {
  if (addr === '') return 'empty address';
  if (/[\s\0-\x1f\x7f]/.test(addr)) return `address "${addr}" contains a blank or control character and cannot be carried in a UUCP command line`;
  if (addr.startsWith('-')) return `address "${addr}" starts with '-' (rmail would take it for an option)`;
  return undefined;
}

function spoolFailure(rcpt: string, err: unknown, system: string): DeliveryResult {
  const code = (err as NodeJS.ErrnoException)?.code ?? '';
  const reason = `cannot queue UUCP job for ${system}: ${(err as Error)?.message ?? String(err)}`;
  if (err instanceof GatewayError && !err.temporary) return perm(rcpt, reason, err.status);
  return temp(rcpt, reason, code === 'ENOSPC' || code === 'EDQUOT' ? '4.3.1' : '4.3.0');
}

/** A uux transport writing into the UUCP spool of the gateway `ctx`. */
export function createUuxTransport(ctx: TransportContext, opts: UuxTransportOptions = {}): Transport {
  const max = Math.max(1, opts.maxRecipients ?? UUX_MAX_RECIPIENTS);
  const grade = opts.grade ?? UUX_MAIL_GRADE;
  return {
    name: 'uux',
    world: 'uucp',
    retryFactor: 20,
    async deliver(job: DeliveryJob): Promise<DeliveryResult[]> {
      const results: DeliveryResult[] = [];
      const byHop = new Map<string, RoutedRecipient[]>();
      for (const r of job.recipients) {
        const hop = r.route.nextHop ?? '';
        if (!byHop.has(hop)) byHop.set(hop, []);
        byHop.get(hop)!.push(r);
      }
      for (const [hop, rcpts] of byHop) results.push(...(await deliverToNeighbour(ctx, job, hop, rcpts, max, grade)));
      return results;
    },
  };
}

async function deliverToNeighbour(
  ctx: TransportContext,
  job: DeliveryJob,
  hop: string,
  rcpts: RoutedRecipient[],
  max: number,
  grade: string,
): Promise<DeliveryResult[]> {
  const { queueExecution } = await import('../uucp/uux.js');
  const { system, results: missing } = await findNeighbour('uux', ctx, hop, rcpts);
  if (!system) return missing;
  const { good, results } = carriable(rcpts, badArgument);
  if (good.length === 0) return results;
  const path0 = fromLinePath(job.envelope.sender, ctx.cfg);
  if (/[\s\0-\x1f\x7f]/.test(path0)) {
    return [...results, ...good.map((r) => perm(r.rcpt, `sender "${job.envelope.sender}" cannot be written in a From_ line`, '5.1.7'))];
  }
  const body = sevenBitNeighbour(ctx.cfg, system.name) ? await sevenBitFor(system.name, job.data, good.map((r) => r.rcpt)) : { data: job.data };
  if ('results' in body) return [...results, ...body.results];
  const data = Buffer.concat([Buffer.from(fromLine(job.envelope.sender, ctx.cfg, new Date(ctx.clock()), lineEnding(job.data)), 'latin1'), body.data]);
  for (let i = 0; i < good.length; i += max) {
    const chunk = good.slice(i, i + max);
    const args = chunk.map((r) => r.route.address);
    try {
      const q = await queueExecution({
        spoolDir: uucpSpoolDir(ctx.loc),
        system: system.name,
        localName: ctx.cfg.uucp_name,
        command: 'rmail',
        args,
        stdin: data,
        grade,
        requester: UUX_REQUESTER,
      });
      for (const r of chunk) results.push(ok(r.rcpt, `queued for ${system.name} as UUCP job ${q.jobId} (rmail ${r.route.address})`));
    } catch (err) {
      for (const r of chunk) results.push(spoolFailure(r.rcpt, err, system.name));
    }
  }
  return results;
}
