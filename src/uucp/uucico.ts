// uucico: place calls and answer them. Everything the CLI and the daemon need
// is here, in-process (the context comes from the gateway: inject/uucico.ts):
//
//   const ctx = await uucicoContext(gw);
//   await callSystem(ctx, 'hub');                  // uucico -s hub   (master)
//   await callSystemsWithWork(ctx);                // uucico -r1
//   await answerCall(ctx, port, { prompt: true }); // uucico -l       (slave)
//   const server = await listenTcp(ctx, { port: 540 });  // uucico --listen
//
// A call: check the `time` strings and the retry wait (unless forced), take
// LCK..<system>, open the port, run the chat script, run the session, write
// .Status/<system>, release everything, then run uuxqt if X. files arrived.
// (Taylor manual "Invoking uucico", "Time Strings", "Status Directory".)
import net from 'node:net';
import { EX, GatewayError } from '../util/errors.js';
import { runChat } from './chat.js';
import type { UucpConfig, UucpSystem } from '../config/uucp/types.js';
import { lockSystem } from './lock.js';
import { promptLogin } from './login.js';
import { openPort } from './port/open.js';
import type { Port } from './port/port.js';
import { socketPort } from './port/tcp.js';
import { DEFAULT_TIMEOUTS, runCalledSession, runCallerSession, type SessionEnv, type SessionResult } from './session.js';
import { emptyStats } from './session-link.js';
import { callRecord, type CallStep } from './call-log.js';
import type { LogRecord } from '../log/logger.js';
import { LineReader } from './session-io.js';
import { listPendingWork } from './spool/work-file.js';
import { listSpoolSystems } from './spool/names.js';
import { STATUS, mayCall, readStatus, recordCall } from './status.js';
import { effectiveTimes, timesAllow } from './schedule.js';

export interface UucicoContext extends SessionEnv {
  /** Runs received executions for a system; undefined: none (uucico -q). */
  runUuxqt?: (system: string) => Promise<void>;
  /** For tests: scales chat delays (\d, \p) of dialers. */
  delayScale?: number;
  /** Takes each call's `Call` record (call-log.ts) for the log the metrics are read from. */
  record?: (rec: LogRecord) => void;
}

// ---------------------------------------------------------------- time strings

// Time strings live in schedule.ts; these names stay for existing callers.
export { timeMatches } from './schedule.js';

/** Taylor's rule: no `time` line means Never (a `poll` line alone allows any time). */
export function mayCallNow(sys: UucpSystem, when = new Date()): boolean {
  return timesAllow(effectiveTimes(sys), when);
}

// ---------------------------------------------------------------- calling

export interface CallOutcome extends SessionResult {
  /** Not called at all: the reason (wrong time, retry wait, lock held). */
  skipped?: string;
  /** Where a failed call stopped: dialling, the login chat, or the session. */
  failedAt?: CallStep;
}

export interface CallOptions {
  /** Ignore the time strings and the retry wait (uucico -S). */
  force?: boolean;
  /** Aborting cuts the line: the session fails cleanly, the job stays queued (daemon shutdown). */
  signal?: AbortSignal;
}

export async function callSystem(ctx: UucicoContext, name: string, o: CallOptions = {}): Promise<CallOutcome> {
  const t0 = Date.now();
  const r = await placeCall(ctx, name, o);
  if (!r.skipped) ctx.record?.(callRecord(r, { system: r.system ?? name, dir: 'out', failedAt: r.failedAt ?? 'session', ms: (r.endedAt ?? Date.now()) - t0 }));
  return r;
}

async function placeCall(ctx: UucicoContext, name: string, o: CallOptions): Promise<CallOutcome> {
  const sys = ctx.uucp.findSystem(name);
  if (!sys) throw new GatewayError(`unknown system "${name}"`, { exitCode: EX.NOHOST });
  const base: CallOutcome = { system: sys.name, ok: false, stage: 'handshake', stats: emptyStats() };
  if (!o.force) {
    if (!mayCallNow(sys)) {
      await recordCall(ctx.spoolDir, sys.name, { code: STATUS.WRONG_TIME, retryTimeMinutes: sys.retryTime, maxRetries: sys.maxRetries, retryFixed: sys.retryFixed, times: effectiveTimes(sys) });
      return { ...base, skipped: 'wrong time to call' };
    }
    if (!mayCall(await readStatus(ctx.spoolDir, sys.name).catch(() => null)))
      return { ...base, skipped: 'retry time not reached' };
  }
  const locked = await lockSystem(ctx.lockDir, sys.name);
  if (!locked.ok) return { ...base, skipped: `system locked by process ${locked.busyPid}` };
  const record = (code: number, r: SessionResult, text?: string): Promise<unknown> =>
    recordCall(ctx.spoolDir, sys.name, {
      code,
      text,
      ...r.stats,
      retryTimeMinutes: sys.retryTime,
      maxRetries: sys.maxRetries,
      retryFixed: sys.retryFixed,
      times: effectiveTimes(sys),
      successWait: sys.successWait,
    });
  let port: Port | undefined;
  let result: CallOutcome = base;
  const cut = (): void => {
    ctx.log(`${sys.name}: call aborted (shutting down)`);
    port?.stream.destroy();
  };
  try {
    ctx.log(`${sys.name}: calling`);
    try {
      port = await openPort(sys, ctx.uucp.ports, { lockDir: ctx.lockDir, dialers: ctx.uucp.dialers, dialcodes: ctx.uucp.dialcodes, trace: ctx.trace, delayScale: ctx.delayScale });
    } catch (err) {
      const e = err instanceof GatewayError ? err : new GatewayError(String(err), { temporary: true });
      ctx.log(`${sys.name}: ${e.message}`);
      // A configuration error (bad dialer, chat syntax) is not a failed call: report it as such.
      if (e.exitCode === EX.CONFIG) throw e;
      await record(STATUS.DIAL_FAILED, base, `Dial failed: ${e.message}`.slice(0, 200));
      return { ...base, error: e, failedAt: 'dial' };
    }
    ctx.trace.log('port', `opened ${port.name}`);
    if (o.signal?.aborted) cut();
    o.signal?.addEventListener('abort', cut, { once: true });
    const line = new LineReader(ctx.trace.tap(port.stream));
    try {
      await runChat(line, sys.chat, {
        timeoutS: sys.chatTimeout,
        fail: sys.chatFail,
        login: sys.callLogin,
        password: sys.callPassword,
        phone: sys.phone,
        trace: ctx.trace,
      });
    } catch (err) {
      const e = err as GatewayError;
      ctx.log(`${sys.name}: login failed: ${e.message}`);
      await record(STATUS.LOGIN_FAILED, base);
      return { ...base, error: e, failedAt: 'login' };
    }
    const portEntry = sys.inlinePort ?? (sys.port ? ctx.uucp.ports.get(sys.port) : undefined);
    result = await runCallerSession(line, sys, ctx, portEntry?.protocol);
    if (result.ok) {
      ctx.log(`${sys.name}: call complete (${result.stats.filesSent} sent, ${result.stats.filesReceived} received)`);
      await record(STATUS.COMPLETE, result);
    } else {
      ctx.log(`${sys.name}: call failed: ${result.error?.message}`);
      await record(result.stage === 'handshake' ? STATUS.HANDSHAKE_FAILED : STATUS.CALL_FAILED, result, result.stage === 'handshake' ? undefined : `Call failed: ${result.error?.message ?? ''}`.slice(0, 200));
    }
  } finally {
    o.signal?.removeEventListener('abort', cut);
    await port?.close().catch(() => undefined);
    ctx.trace.log('port', 'closed');
    await locked.lock.release();
    result.endedAt = Date.now();
  }
  await afterSession(ctx, result);
  return result;
}

async function afterSession(ctx: UucicoContext, r: SessionResult): Promise<void> {
  // Any received file may be the data an earlier call's X. file waits for (Taylor runs uuxqt likewise).
  if (r.system && r.stats.filesReceived > 0 && ctx.runUuxqt) {
    try {
      await ctx.runUuxqt(r.system);
    } catch (err) {
      ctx.log(`${r.system}: uuxqt: ${(err as Error).message}`);
    }
  }
}

/** `uucico -r1`: calls, one after the other, every system that has work waiting and may be called now. */
export async function callSystemsWithWork(ctx: UucicoContext, o: CallOptions = {}): Promise<CallOutcome[]> {
  const out: CallOutcome[] = [];
  for (const dir of await listSpoolSystems(ctx.spoolDir)) {
    const sys = ctx.uucp.findSystem(dir);
    if (!sys || sys.name !== dir) continue;
    if ((await listPendingWork(ctx.spoolDir, dir)).length === 0) continue;
    out.push(await callSystem(ctx, dir, o));
  }
  return out;
}

// ---------------------------------------------------------------- answering

export interface AnswerOptions {
  /** Show `login:`/`Password:` and check the passwd file (uucico -l, the TCP listener). */
  prompt: boolean;
  /** The login the caller already passed (e.g. the ssh account), checked against called-login. */
  login?: string;
}

export async function answerCall(ctx: UucicoContext, port: Port, o: AnswerOptions): Promise<SessionResult> {
  const t0 = Date.now();
  const r = await answerOnce(ctx, port, o);
  // A caller that never named itself (a port scan, a failed login) is not a neighbour's call.
  if (r.system && ctx.uucp.findSystem(r.system)) ctx.record?.(callRecord(r, { system: ctx.uucp.findSystem(r.system)!.name, dir: 'in', failedAt: 'session', ms: (r.endedAt ?? Date.now()) - t0 }));
  return r;
}

async function answerOnce(ctx: UucicoContext, port: Port, o: AnswerOptions): Promise<SessionResult> {
  const line = new LineReader(ctx.trace.tap(port.stream));
  let result: SessionResult = { ok: false, stage: 'handshake', stats: emptyStats() };
  try {
    let login = o.login;
    if (o.prompt) {
      try {
        login = await promptLogin(line, { passwd: ctx.uucp.passwd, trace: ctx.trace });
      } catch (err) {
        ctx.log(`incoming call on ${port.name}: ${(err as Error).message}`);
        return { ...result, error: err as GatewayError };
      }
    }
    result = await runCalledSession(line, ctx, { login });
    if (result.system && ctx.uucp.findSystem(result.system)) {
      const sys = ctx.uucp.findSystem(result.system)!;
      if (result.ok) ctx.log(`${sys.name}: incoming call complete (${result.stats.filesSent} sent, ${result.stats.filesReceived} received)`);
      else ctx.log(`${sys.name}: incoming call failed: ${result.error?.message}`);
      if (result.stage !== 'handshake' || result.ok)
        await recordCall(ctx.spoolDir, sys.name, {
          code: result.ok ? STATUS.COMPLETE : STATUS.CALL_FAILED,
          ...result.stats,
          retryTimeMinutes: sys.retryTime,
          maxRetries: sys.maxRetries,
        });
    } else if (!result.ok) ctx.log(`incoming call on ${port.name}: ${result.error?.message}`);
  } finally {
    await port.close().catch(() => undefined);
    result.endedAt = Date.now();
  }
  await afterSession(ctx, result);
  return result;
}

export interface ListenOptions {
  host?: string;
  port: number;
  /** Called after each session (the daemon's hook for logging or queue runs). */
  onSession?: (r: SessionResult) => void;
}

/** Accepts UUCP calls over TCP (loopback unless told otherwise), each with a login prompt. */
export function listenTcp(ctx: UucicoContext, o: ListenOptions): Promise<net.Server> {
  const server = net.createServer((sock) => {
    const port = socketPort(sock, `tcp ${sock.remoteAddress}:${sock.remotePort}`);
    answerCall(ctx, port, { prompt: true }).then(
      (r) => o.onSession?.(r),
      (err) => ctx.log(`incoming call: ${(err as Error).message}`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export { DEFAULT_TIMEOUTS, type UucpConfig };
