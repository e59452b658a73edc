// The mail and UUCP traffic figures, rebuilt from log lines (log-parse.ts).
// One Traffic feeds the daemon's metrics and status page (followed line by
// line, saved as a snapshot with the log offset) and `uugate stats` (a whole
// log read once, with `detail` for the per-address tables). What it keeps
// grows with the neighbours, transports, days and distinct reasons seen,
// never with the number of lines: message sizes are remembered only for the
// last RECENT_IDS messages, which is enough to price their deliveries.
import type { LogLine } from './log-parse.js';

export const DURATION_BUCKETS = [0.05, 0.25, 1, 5, 15, 60, 300];
const RECENT_IDS = 50_000;
const MAX_REASONS = 500;

export type Tally = Record<string, number>;

export interface Volume {
  in: number;
  out: number;
  bytesIn: number;
  bytesOut: number;
}

export interface CallFigures {
  results: Tally;
  bytesSent: number;
  bytesReceived: number;
  filesSent: number;
  filesReceived: number;
  resent: number;
  damaged: number;
  /** Sum of call lengths (ms) and of bytes over calls that moved data. */
  ms: number;
  lastSuccess?: number;
  last?: { time: number; result: string; ms: number; bytes: number; dir: string };
}

export interface DeliveryFigures {
  results: Tally;
  bytes: number;
  /** Counts per DURATION_BUCKETS bound (not cumulative), the last one for +Inf. */
  buckets: number[];
  seconds: number;
}

export interface TrafficState {
  received: Record<string, { messages: number; bytes: number }>;
  deliveries: Record<string, DeliveryFigures>;
  calls: Record<string, CallFigures>;
  /** Refused lines: entry point (smtp, submission, rmail, sendmail) → reason class → count. */
  refused: Record<string, Tally>;
  /** SMTP connections closed: listener (smtp, submission) → TLS used (yes, no) → count. */
  smtpConnections: Record<string, Tally>;
  /** AUTH attempts: listener → result (ok, fail) → count. */
  smtpAuth: Record<string, Tally>;
  /** Reason text (addresses and ids blanked) → count, for deferrals, bounces and refusals. */
  deferReasons: Tally;
  bounceReasons: Tally;
  refusalTexts: Tally;
  bounces: number;
  /** Mail per UUCP neighbour: in (rmail run by uuxqt), out (uux jobs queued for it). */
  neighbours: Record<string, Volume>;
  /** Keyed by the bucket's start (epoch ms, local hours and days). */
  hours: Record<string, Volume>;
  days: Record<string, Volume>;
}

export interface TrafficDetail {
  senders: Tally;
  recipients: Tally;
  domains: Tally;
  hourOfDay: Volume[];
}

const emptyVolume = (): Volume => ({ in: 0, out: 0, bytesIn: 0, bytesOut: 0 });

export function emptyTraffic(): TrafficState {
  return { received: {}, deliveries: {}, calls: {}, refused: {}, smtpConnections: {}, smtpAuth: {}, deferReasons: {}, bounceReasons: {}, refusalTexts: {}, bounces: 0, neighbours: {}, hours: {}, days: {} };
}

/** The text with mail addresses (in <>, with an @ or a UUCP bang path) replaced by <…>. */
export const blankAddresses = (text: string): string => text.replace(/<[^>]*>|\S+@\S+|[\w.-]+![\w.!%-]+/g, '<…>');

/** A reason as a table key: addresses, queue ids and numbers would make every line its own row. */
export function reasonKey(text: string | undefined): string {
  return blankAddresses(text ?? 'unknown')
    .replace(/\b[0-9a-z]{6,}-[0-9a-z]{2,}-[0-9a-z]{2,}\b/g, 'ID')
    .replace(/\d+(\.\d+)*/g, (d) => (/^\d\.\d+\.\d+$/.test(d) ? d : 'N'))
    .slice(0, 120);
}

/** Distinct keys per reason tally, so that the cap costs nothing per line. */
const keyCounts = new WeakMap<Tally, number>();

/** Counts `k`; a reason tally holds at most MAX_REASONS keys, the rest go to "other". */
const bump = (t: Tally, k: string, max = MAX_REASONS): void => {
  if (t[k] === undefined) {
    const keys = keyCounts.get(t) ?? Object.keys(t).length;
    if (keys >= max) k = 'other';
    else keyCounts.set(t, keys + 1);
  }
  t[k] = (t[k] ?? 0) + 1;
};

const startOfDay = (t: number): number => new Date(t).setHours(0, 0, 0, 0);

/** A map of the last RECENT_IDS keys, in two generations: the older is dropped whole, at no cost per line. */
class Recent<T> {
  private young = new Map<string, T>();
  private old = new Map<string, T>();

  set(k: string, v: T): void {
    this.young.set(k, v);
    if (this.young.size < RECENT_IDS / 2) return;
    this.old = this.young;
    this.young = new Map();
  }

  get(k: string): T | undefined {
    return this.young.get(k) ?? this.old.get(k);
  }
}

export class Traffic {
  state: TrafficState;
  readonly detail?: TrafficDetail;
  /** Per queue id, for the last RECENT_IDS messages: size, and the neighbour it came from. */
  private readonly sizes = new Recent<number>();
  private readonly fromNeighbour = new Recent<string>();
  private lastReceived = '';
  private hourFrom = -Infinity;
  private hourOfDay = 0;
  private dayKey = '';
  /** Hourly and daily buckets kept: the page shows 24 hours and 30 days; a report keeps every day. */
  private readonly keepHours: number;
  private readonly keepDays: number;

  constructor(state: TrafficState = emptyTraffic(), o: { detail?: boolean; keepHours?: number; keepDays?: number } = {}) {
    // A snapshot from before a figure existed gets it empty.
    this.state = { ...emptyTraffic(), ...state };
    // Before the entry point was logged every Refused line came from the SMTP server.
    const { refusals } = state as { refusals?: Tally };
    if (refusals) {
      this.state.refused = { smtp: refusals, ...state.refused };
      delete (this.state as { refusals?: Tally }).refusals;
    }
    if (o.detail) this.detail = { senders: {}, recipients: {}, domains: {}, hourOfDay: Array.from({ length: 24 }, emptyVolume) };
    this.keepHours = o.keepHours ?? 48;
    this.keepDays = o.keepDays ?? 40;
  }

  add(l: LogLine): void {
    switch (l.event) {
      case 'received':
        return this.received(l);
      case 'delivered':
      case 'deferred':
      case 'failed':
        return this.delivery(l);
      case 'bounced':
        this.state.bounces++;
        return;
      case 'info': {
        if (l.f.LISTENER) return this.smtp(l.f);
        // `uuxqt: X.hubN0002 from hub (rmail …): accepted as ID`: the message's neighbour, for its Received line.
        const m = l.id && /^uuxqt: \S+ from (\S+) \(r/.exec(l.reason ?? '');
        if (m) this.fromNeighbour.set(l.id!, m[1]!);
        return;
      }
      case 'call':
        return this.call(l);
      case 'refused':
        bump((this.state.refused[l.f.ENTRY ?? 'smtp'] ??= {}), l.f.REASON ?? 'other');
        bump(this.state.refusalTexts, reasonKey(l.reason));
        return;
    }
  }

  /** `Info LISTENER:x TLS:yes|no` as a connection closes, `Info LISTENER:x AUTH:ok|fail` for a login. */
  private smtp(f: Record<string, string>): void {
    const listener = f.LISTENER!;
    if (f.AUTH) bump((this.state.smtpAuth[listener] ??= {}), f.AUTH, 5);
    else if (f.TLS) bump((this.state.smtpConnections[listener] ??= {}), f.TLS, 5);
  }

  private volume(t: number): Volume[] {
    // Building local Dates is the costly part: lines come in time order, so the last hour is reused.
    if (t < this.hourFrom || t >= this.hourFrom + 3600_000) {
      const d = new Date(t);
      this.hourFrom = d.setMinutes(0, 0, 0);
      this.hourOfDay = d.getHours();
      this.dayKey = String(startOfDay(t));
    }
    const hour = String(this.hourFrom);
    const day = this.dayKey;
    const s = this.state;
    if (!s.hours[hour]) {
      s.hours[hour] = emptyVolume();
      this.trim(s.hours, this.keepHours);
    }
    if (!s.days[day]) {
      s.days[day] = emptyVolume();
      this.trim(s.days, this.keepDays);
    }
    const v = [s.hours[hour]!, s.days[day]!];
    if (this.detail) v.push(this.detail.hourOfDay[this.hourOfDay]!);
    return v;
  }

  private trim(buckets: Record<string, Volume>, keep: number): void {
    const keys = Object.keys(buckets).sort((a, b) => +a - +b);
    for (const k of keys.slice(0, Math.max(0, keys.length - keep))) delete buckets[k];
  }

  private received(l: LogLine): void {
    const d = this.detail;
    if (d && l.f.TO) {
      bump(d.recipients, l.f.TO.toLowerCase(), Infinity);
      bump(d.domains, domainOf(l.f.TO), Infinity);
    }
    // One Received line per recipient, written together: the message counts once.
    if (!l.id || l.id === this.lastReceived) return;
    this.lastReceived = l.id;
    const size = Number(l.f.SIZE ?? 0);
    const entry = (this.state.received[l.reason ?? 'unknown'] ??= { messages: 0, bytes: 0 });
    entry.messages++;
    entry.bytes += size;
    for (const v of this.volume(l.time)) {
      v.in++;
      v.bytesIn += size;
    }
    if (d) bump(d.senders, (l.f.FROM || '<>').toLowerCase(), Infinity);
    this.sizes.set(l.id, size);
    const from = this.fromNeighbour.get(l.id);
    if (from) {
      const n = (this.state.neighbours[from] ??= emptyVolume());
      n.in++;
      n.bytesIn += size;
    }
  }

  private delivery(l: LogLine): void {
    const transport = l.f.TRANSPORT ?? l.f.ROUTER ?? 'none';
    const result = l.event === 'delivered' ? 'delivered' : l.event === 'deferred' ? 'deferred' : 'bounced';
    const d = (this.state.deliveries[transport] ??= { results: {}, bytes: 0, buckets: DURATION_BUCKETS.map(() => 0).concat(0), seconds: 0 });
    bump(d.results, result);
    if (result === 'deferred') bump(this.state.deferReasons, reasonKey(l.reason));
    if (result === 'bounced') bump(this.state.bounceReasons, reasonKey(l.reason));
    if (l.f.TIME !== undefined) {
      const s = Number(l.f.TIME) / 1000;
      d.seconds += s;
      const i = DURATION_BUCKETS.findIndex((b) => s <= b);
      d.buckets[i < 0 ? DURATION_BUCKETS.length : i]!++;
    }
    if (result !== 'delivered') return;
    const size = (l.id && this.sizes.get(l.id)) || 0;
    const to = /^queued for (\S+) as UUCP job /.exec(l.reason ?? '');
    if (to) {
      const n = (this.state.neighbours[to[1]!] ??= emptyVolume());
      n.out++;
      n.bytesOut += size;
    }
    d.bytes += size;
    for (const v of this.volume(l.time)) {
      v.out++;
      v.bytesOut += size;
    }
  }

  private call(l: LogLine): void {
    const f = l.f;
    const c = (this.state.calls[f.SYSTEM ?? 'unknown'] ??= { results: {}, bytesSent: 0, bytesReceived: 0, filesSent: 0, filesReceived: 0, resent: 0, damaged: 0, ms: 0 });
    const n = (k: string): number => Number(f[k] ?? 0) || 0;
    const result = f.RESULT ?? 'unknown';
    bump(c.results, result);
    c.bytesSent += n('BYTES_SENT');
    c.bytesReceived += n('BYTES_RECEIVED');
    c.filesSent += n('FILES_SENT');
    c.filesReceived += n('FILES_RECEIVED');
    c.resent += n('RESENT');
    c.damaged += n('DAMAGED');
    c.ms += n('TIME');
    if (result === 'ok') c.lastSuccess = l.time;
    c.last = { time: l.time, result, ms: n('TIME'), bytes: n('BYTES_SENT') + n('BYTES_RECEIVED'), dir: f.DIR ?? 'out' };
  }
}

/** The domain of an address (`user@dom`), or its first UUCP hop (`hub!user`); `local` for a bare name. */
export function domainOf(addr: string): string {
  const at = addr.lastIndexOf('@');
  if (at >= 0) return addr.slice(at + 1).toLowerCase();
  const bang = addr.indexOf('!');
  return bang >= 0 ? addr.slice(0, bang).toLowerCase() : 'local';
}

/** The n largest entries of a tally, largest first. */
export function top(t: Tally, n: number): Array<[string, number]> {
  return Object.entries(t)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, n);
}

/** A two-level tally (entry → reason → n) as rows, largest first, at most n. */
export function topPairs(t: Record<string, Tally>, n: number): Array<[string, string, number]> {
  return Object.entries(t)
    .flatMap(([a, inner]) => Object.entries(inner).map(([b, v]): [string, string, number] => [a, b, v]))
    .sort((x, y) => y[2] - x[2] || x[0].localeCompare(y[0]) || x[1].localeCompare(y[1]))
    .slice(0, n);
}
