// One UUCP conversation over an already connected (and logged in) line:
// handshake, packet protocol, commands until both sides are done, hangup.
// (docs/uucp.md "Handshake" to "Closing exchange"; Taylor manual "UUCP Protocol"; trans.c for the H rules.)
//
//   handshake (session-handshake.ts) → the protocol (g, G or i; protocol/table.ts) starts, caller is master
//   master: its work (S/R/X/E, session-files.ts), then H
//     slave answers HN when it has work → roles swap, repeat
//     slave answers HY HY when idle      → master answers HY
//   both: the protocol's close; caller sends \020OOOOOO\0 ×2, called side \020OOOOOOO\0 ×2
//
// The line belongs to the LineReader before and after the protocol, to the protocol in between.
import type { UucpConfig, UucpSystem } from '../config/uucp/types.js';
import type { GProtocolOptions } from './g/gprotocol.js';
import { protocolSpec } from './protocol/table.js';
import type { LockHandle } from './lock.js';
import type { Protocol, Role } from './protocol/protocol.js';
import { EX, GatewayError } from '../util/errors.js';
import { listPendingWork, formatWorkLine, markCommandsDone } from './spool/work-file.js';
import { callerHandshake, calledHandshake, HandshakeError, type CalledAuth, type Handshake } from './session-handshake.js';
import { Transfers } from './session-files.js';
import { emptyStats, type TransferStats } from './session-link.js';
import { readMessage, writeMessage, type LineReader } from './session-io.js';
import type { Trace } from './trace.js';
import type { ProgressSink } from './progress.js';

export interface SessionTimeouts {
  /** Each handshake message (Taylor: 120 s). */
  handshakeMs: number;
  /** Waiting for the peer's O's at the end (Taylor: 10 s). */
  hangupMs: number;
}

export const DEFAULT_TIMEOUTS: SessionTimeouts = { handshakeMs: 120_000, hangupMs: 10_000 };

export interface SessionEnv {
  uucp: UucpConfig;
  /** Our UUCP name (a system's `myname` overrides it towards that system). */
  localName: string;
  /** The UUCP spool (Taylor layout). */
  spoolDir: string;
  lockDir: string;
  pubdir: string;
  trace: Trace;
  log: (message: string) => void;
  timeouts?: Partial<SessionTimeouts>;
  /** g settings forced over the sys file (tests: short timeouts). */
  gOverrides?: GProtocolOptions;
  /** Per-file transfer progress (uucico's bar or lines). */
  progress?: ProgressSink;
}

export type SessionStage = 'handshake' | 'protocol' | 'transfer' | 'complete';

export interface SessionResult {
  /** The other system, once known. */
  system?: string;
  ok: boolean;
  /** How far the conversation got. */
  stage: SessionStage;
  error?: GatewayError;
  stats: TransferStats;
  /** The protocol and the g sizes in use (for logs and tests). */
  protocol?: string;
  gSend?: { window: number; packetSize: number };
  gReceive?: { window: number; packetSize: number };
  /** Packets the protocol sent again, and damaged ones it received (for the Call log line). */
  packets?: { resent: number; damaged: number };
  /** When the line was let go (epoch ms): the call's length excludes the uuxqt run after it. */
  endedAt?: number;
}

const asGatewayError = (err: unknown): GatewayError =>
  err instanceof GatewayError ? err : new GatewayError((err as Error)?.message ?? String(err), { exitCode: EX.SOFTWARE, temporary: true, cause: err });

/** We called: run the caller's handshake and the conversation as master. */
export async function runCallerSession(line: LineReader, sys: UucpSystem, env: SessionEnv, portProtocol?: string): Promise<SessionResult> {
  let hs: Handshake;
  try {
    hs = await callerHandshake(line, sys, hsEnv(env), portProtocol);
  } catch (err) {
    return { system: sys.name, ok: false, stage: 'handshake', error: asGatewayError(err), stats: emptyStats() };
  }
  return converse(line, hs, 'master', env);
}

/** We were called: answer the handshake (taking the system lock) and converse as slave. */
export async function runCalledSession(line: LineReader, env: SessionEnv, auth: CalledAuth = {}, portProtocol?: string): Promise<SessionResult> {
  let hs: Handshake;
  try {
    hs = await calledHandshake(line, hsEnv(env), auth, portProtocol);
  } catch (err) {
    const e = asGatewayError(err);
    const m = err instanceof HandshakeError ? /^handshake: (?:unknown system "([^"]*)"|(\S+) )/.exec(e.message) : null;
    return { system: m?.[2], ok: false, stage: 'handshake', error: e, stats: emptyStats() };
  }
  try {
    return await converse(line, hs, 'slave', env);
  } finally {
    await hs.lock?.release();
  }
}

function hsEnv(env: SessionEnv) {
  return {
    uucp: env.uucp,
    localName: env.localName,
    lockDir: env.lockDir,
    trace: env.trace,
    timeoutMs: env.timeouts?.handshakeMs ?? DEFAULT_TIMEOUTS.handshakeMs,
  };
}

async function converse(line: LineReader, hs: Handshake, role: Role, env: SessionEnv): Promise<SessionResult> {
  const stats = emptyStats();
  const result: SessionResult = { system: hs.system.name, ok: false, stage: 'protocol', stats, protocol: hs.protocol };
  const spec = protocolSpec(hs.protocol);
  const options = spec.options(hs.system, hs, env.gOverrides);
  env.trace.log('proto', `starting ${hs.protocol} as ${role}: ${JSON.stringify(options)}`);
  // Bytes that came with the last handshake message (often the peer's first
  // INITA or SYNC) belong to the protocol: the engine keeps them until start().
  const initialBytes = line.detach();
  const proto = spec.start(line.stream, options, initialBytes);
  const starting = proto.start(role);
  line.stream.resume();
  let tx: Transfers | undefined;
  try {
    const info = await starting;
    result.gSend = info.send;
    result.gReceive = info.receive;
    env.log(`${hs.system.name}: ${hs.protocol} protocol, sending ${info.send.packetSize}/${info.send.window}, receiving ${info.receive.packetSize}/${info.receive.window}`);
    result.stage = 'transfer';
    tx = new Transfers(proto, hs.system, hs.features, { spoolDir: env.spoolDir, pubdir: env.pubdir, localName: env.localName, trace: env.trace, log: env.log, progress: env.progress }, stats);
    await conversation(proto, tx, hs, role, env);
    await proto.shutdown();
    result.stage = 'complete';
    result.ok = true;
    await tx.forgetReceived();
  } catch (err) {
    result.error = asGatewayError(err);
    proto.abort(result.error.message);
    await proto.closed;
  }
  const ps = proto.stats;
  result.packets = { resent: ps.resent, damaged: ps.badHeaders + ps.badChecksums };
  line.attach(proto.leftover());
  if (result.ok) await hangup(line, role === 'master', env);
  return result;
}

/** The command loop; returns when the H exchange is done. */
async function conversation(proto: Protocol, tx: Transfers, hs: Handshake, first: Role, env: SessionEnv): Promise<void> {
  const sys = hs.system;
  // Commands tried in this call (kept or refused): never offered twice, so a
  // job the peer keeps refusing cannot loop the session.
  const tried = new Set<string>();
  const keyOf = (name: string, line: string): string => `${name}\0${line}`;
  const pending = async () => {
    const work = await listPendingWork(env.spoolDir, sys.name, { minGrade: hs.minGrade });
    return work.filter((wf) => wf.commands.some((c) => !tried.has(keyOf(wf.name, formatWorkLine(c)))));
  };

  let role = first;
  for (;;) {
    if (role === 'master') {
      for (let work = await pending(); work.length > 0; work = await pending()) {
        // A job's commands are recorded done together once the job is over
        // (or the session fails in it): one work file update per job. The
        // update (an fsync) runs while the next job is sent, a few at most
        // in flight; all are done before the work list is read again or H
        // is sent, and a failed one fails the session as before.
        const recording = new Set<Promise<void>>();
        let recordError: unknown;
        const record = (wf: (typeof work)[number], done: number[]): void => {
          const p: Promise<void> = markCommandsDone(env.spoolDir, sys.name, wf.name, done).then(
            () => void recording.delete(p),
            (err: unknown) => {
              recording.delete(p);
              recordError ??= err;
            },
          );
          recording.add(p);
        };
        const recorded = async (max: number): Promise<void> => {
          while (recording.size > max) await Promise.race(recording);
          if (recordError !== undefined) throw recordError;
        };
        let sent = false;
        try {
          for (const wf of work) {
            const done: number[] = [];
            try {
              for (const [index, cmd] of wf.commands.entries()) {
                const key = keyOf(wf.name, formatWorkLine(cmd));
                if (tried.has(key)) continue;
                tried.add(key);
                if ((await tx.doWork(cmd)) === 'done') done.push(index);
              }
            } finally {
              if (done.length) record(wf, done);
            }
            await recorded(4);
          }
          sent = true;
        } finally {
          const all = recorded(0);
          if (sent) await all;
          else await all.catch(() => undefined);
        }
      }
      env.trace.log('uucp-proto', 'sending "H"');
      await proto.sendCommand('H');
      const r = await tx.read('reply to H');
      if (r.startsWith('HY')) {
        env.trace.log('uucp-proto', 'sending "HY"');
        // The peer may close straight after its HYs (Taylor does): that is fine.
        await proto.sendCommand('HY').catch(() => undefined);
        return;
      }
      if (!r.startsWith('HN')) throw new GatewayError(`unexpected reply to H: "${r}"`, { exitCode: EX.PROTOCOL, temporary: true });
      env.log(`${sys.name}: the remote has work; it becomes master`);
      role = 'slave';
      continue;
    }
    const c = await tx.read('command');
    switch (c[0]) {
      case 'S':
      case 'E':
        await tx.remoteSend(c);
        break;
      case 'R':
        await tx.remoteReceive(c);
        break;
      case 'X':
        await tx.remoteExec(c);
        break;
      case 'H':
        if (c.startsWith('HY') || c.startsWith('HN')) break; // stray replies
        if ((await pending()).length > 0) {
          env.trace.log('uucp-proto', 'sending "HN"');
          await proto.sendCommand('HN');
          env.log(`${sys.name}: we have work; we become master`);
          role = 'master';
          break;
        }
        env.trace.log('uucp-proto', 'sending "HY" twice');
        await proto.sendCommand('HY');
        // The master may close as soon as it has the first (Taylor does); with
        // a window of 1 the second then waits for an ack that never comes.
        await proto.sendCommand('HY').catch(() => undefined);
        return;
      default:
        env.log(`${sys.name}: ignored garbled command "${c}"`);
    }
  }
}

/** The closing O's: sent twice, then up to 25 messages read looking for the peer's. */
async function hangup(line: LineReader, caller: boolean, env: SessionEnv): Promise<void> {
  const mine = caller ? 'OOOOOO' : 'OOOOOOO';
  writeMessage(line, mine);
  writeMessage(line, mine);
  const ms = env.timeouts?.hangupMs ?? DEFAULT_TIMEOUTS.hangupMs;
  try {
    for (let i = 0; i < 25; i++) {
      const m = await readMessage(line, ms, 'waiting for the closing O’s');
      if (m.includes('OOOOOO')) return;
    }
  } catch {
    // Many peers just hang up; the conversation is complete anyway.
  }
}

export type { CalledAuth, LockHandle };
