// Taylor time strings, poll cron expressions and the retry schedule, against an
// injected clock (local time; dates in November 2026: the 23rd is a Monday).
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  compileTimes, effectiveTimes, loadCronParser, nextAllowed, nextCron, nextPoll, nextRetryTime, nextWindowStart,
  parseCron, parseTimeString, retryDelaySeconds, timeMatches, timesAllow,
} from '../../src/uucp/schedule.js';
import { parseSysFile } from '../../src/config/uucp/sys.js';
import { readStatus, recordCall, STATUS } from '../../src/uucp/status.js';
import { formatStatus } from '../../src/uucp/uustat.js';

const at = (day: number, hhmm: string): Date => new Date(2026, 10, day, Number(hhmm.slice(0, 2)), Number(hhmm.slice(2)));
const MON = 23, TUE = 24, FRI = 27, SAT = 28, SUN = 29;
const fmt = (d: Date | null): string | null =>
  d && `${['Su', 'Mo', 'Tu', 'We', 'Th', 'Fr', 'Sa'][d.getDay()]}${d.getDate()} ${String(d.getHours()).padStart(2, '0')}${String(d.getMinutes()).padStart(2, '0')}`;

const MATCHES: Array<[string, number, string, boolean]> = [
  ['Any', SAT, '1200', true],
  ['any', SUN, '0000', true],
  ['Never', SAT, '1200', false],
  ['Wk0800-1700', SAT, '1200', false],
  ['Wk0800-1700', TUE, '0800', true],
  ['Wk0800-1700', TUE, '1659', true],
  ['Wk0800-1700', TUE, '1700', false, ],
  ['Wk0800-1700', TUE, '0759', false],
  ['MoTuWe', TUE, '2359', true],
  ['MoTuWe', FRI, '1000', false],
  ['MoTu|Sa', SAT, '1200', true],
  ['Fr,Sa1000-1100', SAT, '1030', true],
  ['Fr,Sa1000-1100', SAT, '1130', false],
  // Over midnight: both ends belong to the same day (Taylor).
  ['Wk2305-0855', TUE, '0100', true],
  ['Wk2305-0855', MON, '0100', true],
  ['Wk2305-0855', FRI, '2330', true],
  ['Wk2305-0855', SAT, '0100', false],
  ['Wk2305-0855', TUE, '1000', false],
  ['Wk2305-0855', TUE, '2305', true],
  ['Wk2305-0855', TUE, '2304', false],
  ['Wk2305-0855,Sa,Su2305-1655', SAT, '1200', true],
  ['Wk2305-0855,Sa,Su2305-1655', SUN, '1700', false],
  ['Wk2305-0855,Sa,Su2305-1655', SUN, '1654', true],
  // Timetables, as Taylor predefines them.
  ['Night', TUE, '0100', true],
  ['Night', TUE, '0800', false],
  ['Night', TUE, '1000', false],
  ['Night', SUN, '1200', true],
  ['Night', SUN, '2000', false],
  ['Evening', TUE, '1800', true],
  ['Evening', TUE, '0700', true],
  ['Evening', TUE, '1200', false],
  ['Evening', SUN, '1200', true],
  ['NonPeak', TUE, '1830', true],
  ['NonPeak', TUE, '0700', false],
  ['NonPeak', SAT, '1200', true],
  ['Any;5', TUE, '1200', true],
  ['Wk0800-1700;30', SAT, '1200', false],
];

for (const [spec, day, hhmm, want] of MATCHES) {
  test(`time "${spec}" at ${fmt(at(day, hhmm))} is ${want ? 'allowed' : 'not allowed'}`, (t) => {
    t.is(timeMatches(spec, at(day, hhmm)), want);
  });
}

test('time strings: several `time` lines, none at all, retry suffix, syntax errors name the system file line', (t) => {
  t.true(timesAllow(['Wk0800-1700', 'Sa'], at(SAT, '2000')));
  t.false(timesAllow([], at(SAT, '2000')), 'no time line: Never');
  t.is(parseTimeString('Any;15')[0]!.retryMinutes, 15);
  for (const bad of ['Xy0800-1700', 'Wk080-1700', 'Wk0800-2500', 'Wk,', 'Mo0800']) t.throws(() => parseTimeString(bad), undefined, bad);
  t.throws(() => compileTimes(['Wk0800-1700', 'Funday'], '/etc/uucp/sys:12'), { message: /\/etc\/uucp\/sys:12: time "Funday"/ });
  t.deepEqual(effectiveTimes({ time: [], poll: ['0 6 * * *'] }), ['Any']);
  t.deepEqual(effectiveTimes({ time: [], poll: [] }), []);
});

const NEXT: Array<[string, number, string, string | null]> = [
  ['Any', TUE, '1234', 'Tu24 1234'],
  ['Never', TUE, '1234', null],
  ['Wk0800-1700', FRI, '1700', 'Mo30 0800'],
  ['Wk0800-1700', TUE, '0600', 'Tu24 0800'],
  ['Night', TUE, '1000', 'Tu24 2305'],
  ['Sa', MON, '0000', 'Sa28 0000'],
  ['Su2305-0100', MON, '0000', 'Su29 0000'],
];
for (const [spec, day, hhmm, want] of NEXT) {
  test(`next allowed time for "${spec}" from ${fmt(at(day, hhmm))} is ${want}`, (t) => {
    t.is(fmt(nextAllowed([spec], at(day, hhmm))), want);
  });
}

test('next window start: after max-retries the next call waits for it', (t) => {
  t.is(fmt(nextWindowStart(['Wk0800-1700'], at(TUE, '1000'))), 'We25 0800');
  t.is(fmt(nextWindowStart(['Night'], at(TUE, '0100'))), 'Tu24 2305');
  t.is(nextWindowStart(['Any'], at(TUE, '0100')), null, 'always allowed: no window edge');
});

const CRONS: Array<[string, number, string, string]> = [
  ['0 6,18 * * *', TUE, '0600', 'Tu24 1800'],
  ['0 6,18 * * *', TUE, '1900', 'We25 0600'],
  ['*/15 * * * 1-5', FRI, '2350', 'Mo30 0000'],
  ['30 7 * * MON', TUE, '0000', 'Mo30 0730'],
  ['0 0 1 * *', TUE, '0000', 'Tu1 0000'],
  ['0 12 L * *', TUE, '0000', 'Mo30 1200'],
  ['0 3 * * 0', SAT, '0300', 'Su29 0300'],
  ['0 9 13 * 5', TUE, '0000', 'Fr27 0900'], // both day fields: either matches (cron)
];
test.before(async () => loadCronParser());
for (const [expr, day, hhmm, want] of CRONS) {
  test(`poll "${expr}" after ${fmt(at(day, hhmm))} is ${want}`, (t) => {
    t.is(fmt(nextCron(parseCron(expr), at(day, hhmm))), want);
  });
}

test('poll: several expressions, bad ones, and the sys keyword', (t) => {
  t.is(fmt(nextPoll([parseCron('0 18 * * *'), parseCron('0 6 * * *')], at(TUE, '0700'))), 'Tu24 1800');
  t.throws(() => parseCron('0 6 * *'), { message: /want 5 fields/ });
  t.throws(() => parseCron('0 25 * * *'), { message: /poll "0 25 \* \* \*"/ });
  t.throws(() => parseCron('0 0 * * * *'), { message: /want 5 fields/ });
  const warnings: string[] = [];
  const { systems } = parseSysFile('system hub\ntime Wk0800-1700 5\npoll 0 6,18 * * *\nsystem far\nretry-time 3\n', 'sys', warnings);
  t.deepEqual(warnings, []);
  t.deepEqual(systems[0]!.poll, ['0 6,18 * * *']);
  t.is(systems[0]!.pollWhere, 'sys:3');
  t.like(systems[0], { retryTime: 5, retryFixed: true });
  t.like(systems[1], { retryTime: 3, retryFixed: false });
});

const BACKOFF: Array<[number, { retryMinutes?: number; fixed?: boolean; maxRetries?: number }, number | undefined]> = [
  [1, {}, 600],
  [2, {}, 1200],
  [3, {}, 2400],
  [10, {}, 12 * 3600],
  [1, { retryMinutes: 5 }, 300],
  [3, { retryMinutes: 5 }, 1200],
  [3, { retryMinutes: 5, fixed: true }, 300],
  [4, { maxRetries: 4 }, undefined],
  [3, { maxRetries: 4 }, 2400],
];
for (const [n, p, want] of BACKOFF) {
  test(`retry ${n} with ${JSON.stringify(p)} waits ${want ?? 'for the next window'}`, (t) => {
    t.is(retryDelaySeconds(n, p), want);
  });
}

test('retries: backoff inside the window, pushed to the next allowed minute, next window after max-retries', (t) => {
  const p = { retryMinutes: 30, maxRetries: 3 };
  const times = ['Wk0800-1700'];
  t.is(fmt(new Date(nextRetryTime(times, 1, p, at(TUE, '1000').getTime()))), 'Tu24 1030');
  t.is(fmt(new Date(nextRetryTime(times, 2, p, at(TUE, '1000').getTime()))), 'Tu24 1100');
  t.is(fmt(new Date(nextRetryTime(times, 2, p, at(TUE, '1640').getTime()))), 'We25 0800', 'delay ends outside the window');
  t.is(fmt(new Date(nextRetryTime(times, 3, p, at(TUE, '1000').getTime()))), 'We25 0800', 'max-retries: next window');
  t.is(fmt(new Date(nextRetryTime(['Any'], 3, p, at(TUE, '1000').getTime()))), 'We25 1000', 'always allowed: a day later');
});

test('recordCall: each failed attempt is recorded with the next call time; uustat -m shows it; success resets', async (t) => {
  const spool = mkdtempSync(path.join(os.tmpdir(), 'uusched-'));
  const o = { retryTimeMinutes: 30, maxRetries: 2, times: ['Wk0800-1700'] };
  const s1 = await recordCall(spool, 'hub', { code: STATUS.DIAL_FAILED, text: 'Dial failed: BUSY', now: at(TUE, '1000').getTime(), ...o });
  t.like(s1, { retries: 1, wait: 1800 });
  t.is(fmt(new Date(s1.extra.nextCallTime!)), 'Tu24 1030');
  t.is(formatStatus(s1, at(TUE, '1001').getTime()), `hub            11-24 10:00 Dial failed (1 try, next after 11-24 10:30)`);
  const s2 = await recordCall(spool, 'hub', { code: STATUS.DIAL_FAILED, now: at(TUE, '1030').getTime(), ...o });
  t.is(fmt(new Date(s2.extra.nextCallTime!)), 'We25 0800', 'max-retries reached: wait for the next window');
  const back = (await readStatus(spool, 'hub'))!;
  t.deepEqual(back.extra.attempts!.map((a) => a.result), ['Dial failed: BUSY', 'Dial failed']);
  const ok = await recordCall(spool, 'hub', { code: STATUS.COMPLETE, now: at(WED(), '0800').getTime(), ...o });
  t.like(ok, { retries: 0, wait: 0 });
  t.is((await readStatus(spool, 'hub'))!.extra.attempts!.length, 3);
});
function WED(): number {
  return 25;
}

test('uugate status report: last call and result, session bytes, queued jobs, next call', async (t) => {
  const { systemReport } = await import('../../src/uucp/uustat.js');
  const spool = mkdtempSync(path.join(os.tmpdir(), 'uusched-'));
  await recordCall(spool, 'hub', { code: STATUS.COMPLETE, bytesSent: 1234, bytesReceived: 56, now: at(TUE, '1000').getTime() });
  await recordCall(spool, 'far', { code: STATUS.DIAL_FAILED, text: 'Dial failed: BUSY', retryTimeMinutes: 30, now: at(TUE, '1000').getTime() });
  const r = await systemReport(spool, ['hub', 'far', 'new'], at(TUE, '1001').getTime());
  t.is(r, [
    'far: last call 11-24 10:00 Dial failed: BUSY (1 try); last session sent 0 bytes, received 0; 0 jobs queued; next call after 11-24 10:30\n',
    'hub: last call 11-24 10:00 Conversation complete; last session sent 1234 bytes, received 56; 0 jobs queued; next call any time allowed\n',
    'new: never called; 0 jobs queued; next call any time allowed\n',
  ].join(''));
});
