// A `Refused` line in spool/log/logfile for each SMTP reply that turns a
// client down (4xx/5xx), and for each message rmail or sendmail refuses (exit
// 64, 65, 67), with its entry point and its reason in a small fixed set so
// that they can label a metric: relay, size, rate, timeout, syntax,
// unknown-user, no-route, other. The client's address is in the line for the
// report; never a label.
import type { Logger } from '../log/logger.js';
import { EX, GatewayError } from '../util/errors.js';

export type RefusingEntry = 'smtp' | 'submission' | 'rmail' | 'sendmail';

export function refusalReason(code: number, status: string): string {
  if (status === '5.7.1') return 'relay';
  if (code === 552 || status === '5.3.4' || status === '4.3.4') return 'size';
  if (status === '4.7.0' || status === '4.5.3') return 'rate';
  if (status === '4.4.2') return 'timeout';
  if (status.startsWith('5.5.') || status === '5.1.3' || status === '5.1.7' || status === '5.6.0') return 'syntax';
  if (status === '5.1.1') return 'unknown-user';
  if (status === '5.1.2') return 'no-route';
  return 'other';
}

/** Logs the refusals among the replies in `text` (several when pipelined). */
export function logRefusals(log: Logger, text: string, client: string, entry: RefusingEntry): void {
  for (const m of text.matchAll(/^([45]\d\d) (\d\.\d{1,3}\.\d{1,3})?\s*(.*?)\r?$/gm)) {
    const code = Number(m[1]);
    const status = m[2] ?? '';
    if (status === '4.3.2') continue; // we are shutting down: no fault of the client's
    log.log({ event: 'refused', status: status || undefined, fields: { entry, reason: refusalReason(code, status), client }, reason: `${code} ${m[3]}` });
  }
}

/** Exit statuses that turn the message down; the others (75, 78...) are the gateway's trouble. */
const REFUSING_EXITS: ReadonlySet<number> = new Set([EX.USAGE, EX.DATAERR, EX.NOUSER]);

/** Logs `err` when it is rmail's or sendmail's refusal of the message; rethrows it either way. */
export function logCommandRefusal(log: Logger, entry: RefusingEntry, err: unknown): never {
  if (err instanceof GatewayError && !err.temporary && REFUSING_EXITS.has(err.exitCode)) {
    log.log({ event: 'refused', status: err.status, fields: { entry, reason: refusalReason(550, err.status) }, reason: `exit ${err.exitCode}: ${err.message}` });
  }
  throw err;
}
