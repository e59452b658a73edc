// When a system may be called: Taylor `time` strings, the `poll` cron
// expressions of our sys files, and the retry schedule after failed calls.
// Everything here is pure and takes the clock as an argument, so the daemon's
// call scheduler and the tests agree on every minute.
//
// Time strings (Taylor manual "Time Strings", "timetable"):
//   Wk0800-1700        weekdays 08:00 to 16:59
//   MoTuWe | Sa        days without a range: the whole day; `|` or `,` separate alternatives
//   Wk2305-0855        a range over midnight covers, *on each listed day*, 00:00-08:54 and
//                      23:05-23:59 (Taylor: "2300-0700 means any time except 7 AM to 11 PM")
//   Any, Never         any day / no time at all
//   Evening Night NonPeak   Taylor's predefined timetables:
//                      Evening = Wk1705-0755,Sa,Su; Night = Wk2305-0755,Sa,Su2305-1655;
//                      NonPeak = Wk1805-0655,Sa,Su
//   Any;15             HDB style: a fixed retry time in minutes after the string
// A range is [start, end): 0800-1700 allows 08:00 up to 16:59. Day names are
// matched case-insensitively. An empty list of time strings means Never (Taylor).
//
// poll (our extension of the sys file): `poll 0 6,18 * * *` — a five-field cron
// expression; the system is called at those times even without queued work.
// node-cron parses the expression (its grammar: ranges, steps, names, L), but its
// `getNextRun()` only computes from the real clock, so the "next run after
// DATE" search is done here over the fields node-cron expanded.
import { configError } from '../util/errors.js';

const DAY_NAMES = ['su', 'mo', 'tu', 'we', 'th', 'fr', 'sa'];
const MIN_PER_DAY = 24 * 60;

export const TIMETABLES: Record<string, string> = {
  evening: 'Wk1705-0755,Sa,Su',
  night: 'Wk2305-0755,Sa,Su2305-1655',
  nonpeak: 'Wk1805-0655,Sa,Su',
};

/** One simple time string: days (0 = Sunday) and minute ranges [from, to) within each of them. */
export interface TimeSpan {
  days: boolean[];
  ranges: Array<[number, number]>;
  /** Minutes, from a `;N` suffix. */
  retryMinutes?: number;
}

export class TimeStringError extends Error {}

/** Parses a time string into spans; throws TimeStringError on a syntax error. */
export function parseTimeString(spec: string): TimeSpan[] {
  const table = TIMETABLES[spec.trim().toLowerCase()];
  const text = table ?? spec.trim();
  if (/^never$/i.test(text)) return [];
  const out: TimeSpan[] = [];
  for (const raw of text.split(/[|,]/)) {
    const simple = raw.trim();
    if (simple === '') throw new TimeStringError(`empty alternative in "${spec}"`);
    const m = /^([A-Za-z]+)(?:(\d{4})-(\d{4}))?(?:;(\d+))?$/.exec(simple);
    if (!m) throw new TimeStringError(`bad time string "${simple}"`);
    const days = new Array<boolean>(7).fill(false);
    let words = m[1]!.toLowerCase();
    if (words === 'never') continue;
    while (words.length) {
      if (words.startsWith('any')) {
        days.fill(true);
        words = words.slice(3);
      } else if (words.startsWith('wk')) {
        for (let d = 1; d <= 5; d++) days[d] = true;
        words = words.slice(2);
      } else {
        const d = DAY_NAMES.indexOf(words.slice(0, 2));
        if (d < 0) throw new TimeStringError(`unknown day "${words.slice(0, 2)}" in "${simple}"`);
        days[d] = true;
        words = words.slice(2);
      }
    }
    const span: TimeSpan = { days, ranges: [[0, MIN_PER_DAY]] };
    if (m[2]) {
      const hm = (s: string): number => {
        const h = Number(s.slice(0, 2));
        const mi = Number(s.slice(2));
        if (h > 24 || mi > 59 || (h === 24 && mi > 0)) throw new TimeStringError(`bad time "${s}" in "${simple}"`);
        return h * 60 + mi;
      };
      const from = hm(m[2]);
      const to = hm(m[3]!);
      // Over midnight: both ends on the same day (Taylor's uuconf/time.c does the same).
      span.ranges = from < to ? [[from, to]] : from === to ? [[0, MIN_PER_DAY]] : [[0, to], [from, MIN_PER_DAY]];
    }
    if (m[4]) span.retryMinutes = Number(m[4]);
    out.push(span);
  }
  return out;
}

/** Parses every time string of a system, turning a syntax error into `where: time "x": ...`. */
export function compileTimes(specs: string[], where = 'sys'): TimeSpan[] {
  const out: TimeSpan[] = [];
  for (const s of specs) {
    try {
      out.push(...parseTimeString(s));
    } catch (err) {
      throw configError(where, `time "${s}": ${(err as Error).message}`);
    }
  }
  return out;
}

function spansAllow(spans: TimeSpan[], when: Date): TimeSpan | undefined {
  const day = when.getDay();
  const min = when.getHours() * 60 + when.getMinutes();
  return spans.find((s) => s.days[day] && s.ranges.some(([a, b]) => min >= a && min < b));
}

/** True when the time string allows `when` (a string that does not parse allows nothing). */
export function timeMatches(spec: string, when: Date): boolean {
  try {
    return spansAllow(parseTimeString(spec), when) !== undefined;
  } catch {
    return false;
  }
}

/** True when any of the time strings allows `when`. No time strings: Never. */
export function timesAllow(specs: string[], when: Date): boolean {
  return specs.some((s) => timeMatches(s, when));
}

/** The fixed retry time (minutes) a matching `;N` suffix gives, if any. */
export function matchingRetryMinutes(specs: string[], when: Date): number | undefined {
  for (const s of specs) {
    try {
      const span = spansAllow(parseTimeString(s), when);
      if (span?.retryMinutes !== undefined) return span.retryMinutes;
    } catch {
      /* ignored: reported by compileTimes */
    }
  }
  return undefined;
}

const startOfMinute = (d: Date): Date => {
  const x = new Date(d.getTime());
  x.setSeconds(0, 0);
  return x;
};
const addMinutes = (d: Date, n: number): Date => new Date(d.getTime() + n * 60_000);

/** The first minute at or after `from` that the time strings allow; null for Never. */
const safeSpans = (specs: string[]): TimeSpan[] =>
  specs.flatMap((s) => {
    try {
      return parseTimeString(s);
    } catch {
      return [];
    }
  });

export function nextAllowed(specs: string[], from: Date): Date | null {
  const spans = safeSpans(specs);
  if (spans.length === 0) return null;
  if (spansAllow(spans, from)) return from;
  // A week and a day covers every pattern (and a DST shift); minute steps keep it simple.
  let t = addMinutes(startOfMinute(from), 1);
  for (let i = 0; i < 8 * MIN_PER_DAY; i++, t = addMinutes(t, 1)) if (spansAllow(spans, t)) return t;
  return null;
}

/** The start of the next allowed window strictly after `from` (a minute allowed after one that is not); null when always or never allowed. */
export function nextWindowStart(specs: string[], from: Date): Date | null {
  const spans = safeSpans(specs);
  let prev = spansAllow(spans, startOfMinute(from)) !== undefined;
  let t = addMinutes(startOfMinute(from), 1);
  for (let i = 0; i < 8 * MIN_PER_DAY; i++, t = addMinutes(t, 1)) {
    const now = spansAllow(spans, t) !== undefined;
    if (now && !prev) return t;
    prev = now;
  }
  return null;
}

// ---------------------------------------------------------------- poll (cron)

export interface CronSpec {
  expr: string;
  minute: Set<number>;
  hour: Set<number>;
  dom: Set<number>;
  lastDom: boolean;
  month: Set<number>;
  dow: Set<number>;
  /** Both day fields restricted: cron's rule is "either matches". */
  dayOr: boolean;
}

type NodeCronParse = (pattern: string) => {
  second: number[];
  minute: number[];
  hour: number[];
  dayOfMonth: (number | string)[];
  month: number[];
  dayOfWeek: (number | string)[];
};
let cronParse: NodeCronParse | undefined;

/** Loads node-cron's parser once (the schedule module is also used by short-lived commands). */
export async function loadCronParser(): Promise<void> {
  if (!cronParse) cronParse = (await import('node-cron')).parse as NodeCronParse;
}

/** Parses a five-field cron expression; throws with the reason. Call loadCronParser() first. */
export function parseCron(expr: string): CronSpec {
  if (!cronParse) throw new Error('parseCron: loadCronParser() was not awaited');
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`poll "${expr}": want 5 fields (minute hour day month weekday), got ${fields.length}`);
  let p: ReturnType<NodeCronParse>;
  try {
    p = cronParse(expr.trim());
  } catch (err) {
    throw new Error(`poll "${expr}": ${(err as Error).message}`);
  }
  const nums = (a: (number | string)[], what: string): Set<number> =>
    new Set(
      a.map((v) => {
        if (typeof v !== 'number') throw new Error(`poll "${expr}": "${v}" in the ${what} field is not supported`);
        return v;
      }),
    );
  const lastDom = p.dayOfMonth.includes('L');
  const dom = nums(p.dayOfMonth.filter((v) => v !== 'L'), 'day');
  const dow = nums(p.dayOfWeek, 'weekday');
  const [, , domField, , dowField] = fields;
  return {
    expr,
    minute: new Set(p.minute),
    hour: new Set(p.hour),
    dom,
    lastDom,
    month: new Set(p.month),
    dow,
    dayOr: domField !== '*' && dowField !== '*',
  };
}

function cronDayMatches(c: CronSpec, d: Date): boolean {
  const last = new Date(d.getFullYear(), d.getMonth() + 1, 0).getDate();
  const domOk = c.dom.has(d.getDate()) || (c.lastDom && d.getDate() === last);
  const dowOk = c.dow.has(d.getDay());
  return c.dayOr ? domOk || dowOk : domOk && dowOk;
}

/** The first minute strictly after `from` that the cron expression names; null if none within 5 years. */
export function nextCron(c: CronSpec, from: Date): Date | null {
  const d = startOfMinute(addMinutes(from, 1));
  for (let i = 0; i < 200_000; i++) {
    if (d.getFullYear() > from.getFullYear() + 5) return null;
    if (!c.month.has(d.getMonth() + 1)) {
      d.setMonth(d.getMonth() + 1, 1);
      d.setHours(0, 0, 0, 0);
    } else if (!cronDayMatches(c, d)) {
      d.setDate(d.getDate() + 1);
      d.setHours(0, 0, 0, 0);
    } else if (!c.hour.has(d.getHours())) {
      d.setHours(d.getHours() + 1, 0, 0, 0);
    } else if (!c.minute.has(d.getMinutes())) {
      d.setMinutes(d.getMinutes() + 1, 0, 0);
    } else return d;
  }
  return null;
}

/** The earliest next poll of several cron expressions. */
export function nextPoll(polls: CronSpec[], from: Date): Date | null {
  let best: Date | null = null;
  for (const c of polls) {
    const n = nextCron(c, from);
    if (n && (!best || n < best)) best = n;
  }
  return best;
}

// ---------------------------------------------------------------- retries

export interface RetryPolicy {
  /** Base wait in minutes (retry-time); default 10. */
  retryMinutes?: number;
  /** The wait does not grow (Taylor: a retry time given on the `time` line, or `;N`). */
  fixed?: boolean;
  /** After this many failures, wait for the next allowed window (or a day). */
  maxRetries?: number;
  /** Upper bound of the growing wait, minutes (default 12 h). */
  capMinutes?: number;
}

/**
 * Seconds to wait after the `retries`-th consecutive failure (retries >= 1):
 * base, 2·base, 4·base, ... capped; fixed when the policy says so. Returns
 * undefined once max-retries is reached: the caller then waits for the next window.
 */
export function retryDelaySeconds(retries: number, p: RetryPolicy): number | undefined {
  if (p.maxRetries !== undefined && retries >= p.maxRetries) return undefined;
  const base = (p.retryMinutes ?? 10) * 60;
  if (p.fixed) return base;
  const cap = (p.capMinutes ?? 12 * 60) * 60;
  return Math.min(cap, base * 2 ** Math.max(0, Math.min(30, retries - 1)));
}

/**
 * When the next call may be tried after a failure: the retry delay, pushed into
 * the next allowed minute; after max-retries the start of the next allowed
 * window (once a day when the time strings allow every minute). Epoch ms.
 */
export function nextRetryTime(specs: string[], retries: number, p: RetryPolicy, nowMs: number): number {
  const now = new Date(nowMs);
  const delay = retryDelaySeconds(retries, p);
  if (delay === undefined) {
    const w = nextWindowStart(specs, now);
    return w ? w.getTime() : nowMs + 24 * 3600 * 1000;
  }
  const at = new Date(nowMs + delay * 1000);
  const allowed = nextAllowed(specs, at);
  return allowed ? allowed.getTime() : at.getTime();
}

/**
 * The time strings that govern calls to a system: its `time` lines; a system
 * with `poll` lines but no `time` line may be called at any time (Taylor's
 * default, Never, would make its polls useless).
 */
export function effectiveTimes(sys: { time: string[]; poll?: string[] }): string[] {
  if (sys.time.length) return sys.time;
  return sys.poll?.length ? ['Any'] : [];
}
