// The contract between the queue and every transport: a message, the recipients
// routed to this transport (and next hop), and one result per recipient.
import type { Envelope } from '../message/envelope.js';
import type { MailConfig } from '../config/mail-config.js';
import type { Locations } from '../config/locations.js';
import type { UucpConfigSource } from '../config/uucp/load.js';

/**
 * What a transport may use of the gateway it delivers for: the settings, where
 * config and spool live, and the clock. runtime/ builds it (transportContext), so
 * no transport reaches into the wiring.
 */
export interface TransportContext {
  loc: Locations;
  cfg: MailConfig;
  clock: () => number;
  /** uucp/, read once per process (the UUCP transports look their neighbour up in it). */
  uucp: UucpConfigSource;
}

export type Outcome = 'ok' | 'temp' | 'perm';

export interface DeliveryResult {
  rcpt: string; // the envelope recipient as queued
  outcome: Outcome;
  status: string; // RFC 3463, e.g. 2.0.0, 4.4.1, 5.1.1
  reason: string;
}

/** Where the router sent one recipient. */
export interface Route {
  transport: string;
  /** The address as the next hop should see it (rewritten for its world). */
  address: string;
  nextHop?: string;
  /** Local destination: a maildir (ending '/'), mbox or file path, or a program argv. */
  destination?: string;
  argv?: string[];
  /** AutoTURN (route/autoturn.ts): the maildir the message waits in, and the Delivered-To prefix its flush selects. */
  autoturn?: AutoturnTarget;
  /** The Unix account a system mailbox belongs to: the delivery runs as it (deliver/lspawn.ts). */
  account?: string;
  /** Router or director that decided, and the reasoning, for logs and `uugate route`. */
  router: string;
  why: string[];
}

export interface AutoturnTarget {
  maildir: string;
  prefix: string;
}

export interface RoutedRecipient {
  rcpt: string;
  route: Route;
}

export interface DeliveryJob {
  envelope: Envelope;
  data: Buffer;
  recipients: RoutedRecipient[];
}

/** Which world a transport delivers into: it decides envelope and header forms. */
export type World = 'local' | 'uucp' | 'inet';

export interface Transport {
  readonly name: string;
  /** Default 'local': no rewriting. */
  readonly world?: World;
  /** c in the retry schedule: the n-th retry comes about (c·n)² seconds after arrival. */
  readonly retryFactor: number;
  deliver(job: DeliveryJob): Promise<DeliveryResult[]>;
  /** Called at the end of every queue run: transports that batch (bsmtp) send what they hold. */
  flush?(): Promise<void>;
}

export const ok = (rcpt: string, reason: string): DeliveryResult => ({ rcpt, outcome: 'ok', status: '2.0.0', reason });
export const temp = (rcpt: string, reason: string, status = '4.3.0'): DeliveryResult => ({ rcpt, outcome: 'temp', status, reason });
export const perm = (rcpt: string, reason: string, status = '5.3.0'): DeliveryResult => ({ rcpt, outcome: 'perm', status, reason });

/** Classifies a thrown file-system error: a missing or full disk is temporary. */
export function fsFailure(rcpt: string, err: unknown, what: string): DeliveryResult {
  const code = (err as NodeJS.ErrnoException)?.code ?? '';
  const reason = `${what}: ${(err as Error)?.message ?? String(err)}`;
  if (['EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'ELOOP'].includes(code)) return perm(rcpt, reason, '5.2.0');
  return temp(rcpt, reason, code === 'ENOSPC' || code === 'EDQUOT' ? '4.2.2' : '4.3.0');
}
