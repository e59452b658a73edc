// The daemon's UUCP call scheduler (a DaemonService): places calls the way a
// cron job running `uucico -r1` and `uucico -s SYS` would, but as soon as
// there is something to do.
//
// A system is called when its time strings allow it now, its retry wait is
// over (.Status), and either it has queued work (spool/uucp/<sys>/C./ — the
// uux transport writes there at the end of a queue run; the spool is
// watched) or one of its `poll` cron times has come. At most one call per
// system (LCK..<sys>, taken by callSystem) and per port (tracked here, and
// LCK..<device> for serial ports) runs at a time, and at most `max_calls`
// calls overall. Every `call_check_interval` the conditions are checked again
// (time windows open, retry waits end, polls fall due).
//
// With `uucp_listen=ADDR:PORT` the daemon also answers UUCP calls over TCP.
//
// SIGTERM (stop()): no new calls; calls in progress may finish for
// `stopGraceMs`, then their line is cut — the session then fails, the job
// stays queued (work files go only after the peer's CY), the status file
// records the failed call and every lock is released by callSystem's finally.
import { watch, type FSWatcher } from 'node:fs';
import type net from 'node:net';
import type { Gateway } from '../runtime/gateway.js';
import type { Daemon, DaemonService } from './daemon.js';
import type { UucpSystem } from '../config/uucp/types.js';
import { configError } from '../util/errors.js';
import { uucicoContext } from '../inject/uucico.js';
import { callSystem, listenTcp, type UucicoContext } from '../uucp/uucico.js';
import { compileTimes, effectiveTimes, loadCronParser, nextAllowed, nextPoll, parseCron, timesAllow, type CronSpec } from '../uucp/schedule.js';
import { mayCall, readStatus, writeStatus } from '../uucp/status.js';
import { listPendingWork } from '../uucp/spool/work-file.js';

interface SystemPlan {
  sys: UucpSystem;
  times: string[];
  polls: CronSpec[];
  /** Epoch ms of the next poll, if the system polls. */
  nextPoll?: number;
  /** The port it is called through (for the one-call-per-port rule). */
  portKey: string;
}

export interface CallSchedulerOptions {
  /** Clock (epoch ms); tests inject one. */
  clock?: () => number;
  /** How long calls in progress may go on after SIGTERM before the line is cut. */
  stopGraceMs?: number;
  /** Debounce of spool events, ms. */
  debounceMs?: number;
}

export class CallScheduler implements DaemonService {
  readonly name = 'uucp calls';
  private gw!: Gateway;
  private ctx!: UucicoContext;
  private plans: SystemPlan[] = [];
  private readonly inFlight = new Map<string, { done: Promise<void>; abort: AbortController; portKey: string }>();
  private timer?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private watcher?: FSWatcher;
  private server?: net.Server;
  private stopping = false;
  private ticking = false;
  private tickAgain = false;
  private readonly clock: () => number;

  constructor(private readonly o: CallSchedulerOptions = {}) {
    this.clock = o.clock ?? Date.now;
  }

  // lock.ts re-raises SIGTERM (after releasing every lock) when its handler is
  // the only one left; the daemon listens with `once`, so without a listener
  // of ours the daemon would die before it could finish the calls. While we
  // listen, lock.ts leaves the calls' LCK files alone: each call releases its
  // own when it ends (callSystem's finally), within the grace period or after
  // its line was cut.
  private readonly keepSignal = (): void => undefined;

  async start(d: Daemon): Promise<string> {
    process.on('SIGTERM', this.keepSignal);
    process.on('SIGINT', this.keepSignal);
    await this.configure(d.gw);
    this.daemonKick = () => d.kick();
    const lines = this.ctx.uucp.warnings.map((w) => `warning: ${w}`);
    if (this.gw.cfg.uucp_listen) {
      const where = parseHostPort(this.gw.cfg.uucp_listen);
      this.server = await listenTcp(this.ctx, {
        ...where,
        onSession: (r) => {
          // Mail that arrived went through uuxqt into incoming/: the daemon's watcher runs the queue.
          if (r.ok) this.nudge();
        },
      });
      const a = this.server.address();
      lines.push(`listening for UUCP calls on ${typeof a === 'object' && a ? `${a.address}:${a.port}` : this.gw.cfg.uucp_listen}`);
    }
    this.watcher = watch(this.ctx.spoolDir, { recursive: true }, (_e, f) => {
      // Work files appear as <sys>/C./C.<grade><seq>; status and lock files are ours.
      if (f && /(^|\/)C\.\//.test(String(f))) this.nudge();
    });
    this.watcher.on('error', (err) => this.ctx.log(`spool watch: ${err.message}`));
    this.timer = setInterval(() => this.nudge(0), this.gw.cfg.call_check_interval * 1000);
    const now = this.clock();
    for (const p of this.plans) {
      const st = await readStatus(this.ctx.spoolDir, p.sys.name).catch(() => null);
      const allowed = nextAllowed(p.times, new Date(Math.max(now, st ? (st.time + st.wait) * 1000 : 0)));
      const parts = [allowed ? `calls allowed from ${stamp(allowed.getTime(), now)} (${p.times.join(', ')})` : 'never called (no time string allows it)'];
      if (p.nextPoll) parts.push(`next poll ${stamp(p.nextPoll, now)}`);
      lines.push(`${p.sys.name}: ${parts.join(', ')}`);
    }
    this.nudge(0);
    return `at most ${this.gw.cfg.max_calls} at a time, checked every ${this.gw.cfg.call_check_interval}s and when work is queued${lines.length ? `\n    ${lines.join('\n    ')}` : ''}`;
  }

  /**
   * Loads the UUCP configuration and compiles every system's times and polls
   * (errors: file:line). Nothing changes until all of it is good, so a refused
   * file on reload leaves the old plans calling.
   */
  private async configure(gw: Gateway): Promise<void> {
    await loadCronParser();
    const ctx = await uucicoContext(gw);
    const now = this.clock();
    const old = new Map(this.plans.map((p) => [p.sys.name, p]));
    const plans: SystemPlan[] = [];
    for (const sys of ctx.uucp.systems.values()) {
      compileTimes(sys.time, sys.where);
      const polls = sys.poll.map((expr) => {
        try {
          return parseCron(expr);
        } catch (err) {
          throw configError(sys.pollWhere ?? sys.where, (err as Error).message);
        }
      });
      const prev = old.get(sys.name);
      const firstPoll = polls.length ? (prev?.nextPoll ?? nextPoll(polls, new Date(now))?.getTime()) : undefined;
      const port = sys.inlinePort ?? (sys.port ? ctx.uucp.ports.get(sys.port) : undefined);
      const portKey = port?.device ? `device ${port.device}` : port?.name ? `port ${port.name}` : `system ${sys.name}`;
      plans.push({ sys, times: effectiveTimes(sys), polls, nextPoll: firstPoll, portKey });
    }
    for (const w of ctx.uucp.warnings) ctx.log(w);
    this.gw = gw;
    this.ctx = ctx;
    this.plans = plans;
  }

  async reload(gw: Gateway): Promise<void> {
    await this.configure(gw);
    this.nudge();
  }

  /** Asks for a check soon (debounced); `0` checks at once. */
  nudge(delayMs = this.o.debounceMs ?? 200): void {
    if (this.stopping) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.tick(), delayMs);
  }

  /** One pass over the systems: starts every call that is due and allowed. */
  async tick(): Promise<void> {
    if (this.stopping) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    try {
      for (const p of this.plans) {
        if (this.stopping || this.inFlight.size >= this.gw.cfg.max_calls) break;
        const name = p.sys.name;
        if (this.inFlight.has(name)) continue;
        if ([...this.inFlight.values()].some((c) => c.portKey === p.portKey)) continue;
        const now = this.clock();
        if (!timesAllow(p.times, new Date(now))) continue;
        const st = await readStatus(this.ctx.spoolDir, name).catch(() => null);
        if (!mayCall(st, now)) continue;
        const pollDue = p.nextPoll !== undefined && p.nextPoll <= now;
        const work = (await listPendingWork(this.ctx.spoolDir, name).catch(() => [])).length;
        if (!pollDue && work === 0) continue;
        this.startCall(p, pollDue ? `poll due` : `${work} job${work === 1 ? '' : 's'} queued`);
      }
    } catch (err) {
      this.ctx.log(`call scheduler: ${(err as Error).message}`);
    } finally {
      this.ticking = false;
      if (this.tickAgain) {
        this.tickAgain = false;
        this.nudge(0);
      }
    }
  }

  private startCall(p: SystemPlan, why: string): void {
    const abort = new AbortController();
    const name = p.sys.name;
    this.ctx.log(`${name}: calling (${why})`);
    const done = (async () => {
      try {
        // The scheduler has already checked the time window and retry wait on its own clock.
        const r = await callSystem(this.ctx, name, { signal: abort.signal, force: true });
        if (r.skipped) this.ctx.log(`${name}: not called: ${r.skipped}`);
      } catch (err) {
        this.ctx.log(`${name}: call failed: ${(err as Error).message}`);
      }
      if (p.nextPoll !== undefined && p.nextPoll <= this.clock()) {
        p.nextPoll = nextPoll(p.polls, new Date(this.clock()))?.getTime();
        const st = await readStatus(this.ctx.spoolDir, name).catch(() => null);
        if (st && p.nextPoll) await writeStatus(this.ctx.spoolDir, { ...st, extra: { ...st.extra, nextPollTime: p.nextPoll } }).catch(() => undefined);
      }
    })().finally(() => {
      this.inFlight.delete(name);
      // Received mail was handed to uuxqt, hence incoming/: let the queue run now.
      this.daemonKick?.();
      this.nudge();
    });
    this.inFlight.set(name, { done, abort, portKey: p.portKey });
  }

  /** Set by the daemon wiring: asks for a queue run after a call. */
  daemonKick?: () => void;

  /** Calls in progress (for tests and status). */
  get calling(): string[] {
    return [...this.inFlight.keys()];
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    this.watcher?.close();
    const closed = this.server ? new Promise<void>((r) => this.server!.close(() => r())) : Promise.resolve();
    const calls = [...this.inFlight.values()];
    if (calls.length) {
      this.ctx.log(`stopping: waiting for ${calls.length} call(s) in progress`);
      const grace = new Promise<void>((r) => setTimeout(r, this.o.stopGraceMs ?? 30_000).unref());
      await Promise.race([Promise.all(calls.map((c) => c.done)), grace]);
      for (const c of this.inFlight.values()) c.abort.abort();
      await Promise.all(calls.map((c) => c.done));
    }
    // Answered calls finish on their own (their own timeouts); the listener stops taking new ones.
    await Promise.race([closed, new Promise((r) => setTimeout(r, 5000).unref())]);
    process.off('SIGTERM', this.keepSignal);
    process.off('SIGINT', this.keepSignal);
  }
}

export function parseHostPort(v: string): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d+)$/.exec(v.trim());
  if (!m) throw configError('uugate.conf', `uucp_listen wants [address:]port, not "${v}"`);
  return { host: m[1] || '127.0.0.1', port: Number(m[2]) };
}

function stamp(ms: number, now: number): string {
  if (ms <= now + 1000) return 'now';
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** The scheduler as the daemon command adds it. */
export function callSchedulerService(o: CallSchedulerOptions = {}): DaemonService {
  return new CallScheduler(o);
}
