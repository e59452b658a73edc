// How long an SMTP client may take over what it sends. A timeout that every
// byte restarts lets a client that sends one byte now and then keep its
// connection, and its slot, for ever; so, like Postfix's per-request deadlines
// (smtpd_per_record_deadline, smtpd_min_data_rate), each thing the server waits
// for has a deadline of its own:
//   command  the whole line within `timeoutMs` of the server being ready for it
//            (after its last reply); silence is the same case
//   data     no silence longer than `timeoutMs`, and the whole message within
//            `timeoutMs` plus its size at `minDataRate` bytes a second
//   none     the server is busy (a routing lookup, the queue's fsync): no clock runs
// The session says which applies (engine.ts, hooks.expecting).
import type { Expecting } from './engine.js';

export interface ClockLimits {
  timeoutMs: number;
  /** Bytes a second a message must average; 0: no minimum. */
  minDataRate: number;
}

export class ClientClock {
  private what: Expecting = 'none';
  private since = 0;
  private lastByte = 0;
  /** Bytes received since `since`. */
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: ClockLimits,
    /** The deadline passed: the reason, for the 421. */
    private readonly expired: (why: string) => void,
  ) {}

  /** The server now waits for `what` (see the top of the file). */
  expect(what: Expecting): void {
    this.what = what;
    this.since = this.lastByte = Date.now();
    this.bytes = 0;
    this.arm();
  }

  received(n: number): void {
    this.lastByte = Date.now();
    this.bytes += n;
  }

  stop(): void {
    this.what = 'none';
    clearTimeout(this.timer);
  }

  private due(): number {
    const { timeoutMs, minDataRate } = this.limits;
    if (this.what === 'command') return this.since + timeoutMs;
    const rated = minDataRate > 0 ? this.since + timeoutMs + (this.bytes * 1000) / minDataRate : Infinity;
    return Math.min(this.lastByte + timeoutMs, rated);
  }

  /** One timer, set for the earliest the deadline can be; a deadline moved on by data re-arms it when it fires. */
  private arm(): void {
    clearTimeout(this.timer);
    if (this.what === 'none') return;
    this.timer = setTimeout(() => this.check(), Math.max(0, this.due() - Date.now()));
  }

  private check(): void {
    if (Date.now() < this.due()) return this.arm();
    const { timeoutMs, minDataRate } = this.limits;
    const s = timeoutMs / 1000;
    if (this.what === 'command') this.expired(`timeout: no complete command line within ${s} s, closing connection`);
    else if (Date.now() >= this.lastByte + timeoutMs) this.expired(`timeout: no data for ${s} s, closing connection`);
    else this.expired(`timeout: message data slower than ${minDataRate} bytes a second, closing connection`);
    this.what = 'none';
  }
}
