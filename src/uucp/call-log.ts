// One `Call` line in spool/log/logfile per UUCP call, placed or answered, by
// whichever process ran it (the daemon, `uugate uucico` started by a getty or
// systemd): the record the daemon's metrics and `uugate stats` count calls
// from (docs/watching.md). Results form a small fixed set, so they can label
// metrics: ok, busy, no-carrier, no-answer, login-refused, protocol-failure,
// timeout, dial-failed.
import type { LogRecord } from '../log/logger.js';
import { DialError } from './dial.js';
import type { SessionResult } from './session.js';

export type CallStep = 'dial' | 'login' | 'session';

export function callResult(r: SessionResult, failedAt: CallStep): string {
  if (r.ok) return 'ok';
  const e = r.error;
  const text = e?.message ?? '';
  if (failedAt === 'dial') {
    const why = e instanceof DialError ? e.reason : text;
    if (/busy/i.test(why)) return 'busy';
    if (/no\s*carrier/i.test(why)) return 'no-carrier';
    if (/no\s*answer/i.test(why)) return 'no-answer';
    return /tim(e|ed )out/i.test(text) ? 'timeout' : 'dial-failed';
  }
  if (failedAt === 'login') return /tim(e|ed )out/i.test(text) ? 'timeout' : 'login-refused';
  if (/tim(e|ed )out/i.test(text)) return 'timeout';
  // Refused in the handshake (RLOGIN, RYou are unknown...): the other side would not have us.
  return r.stage === 'handshake' ? 'login-refused' : 'protocol-failure';
}

export function callRecord(r: SessionResult, o: { system: string; dir: 'in' | 'out'; failedAt: CallStep; ms: number }): LogRecord {
  const s = r.stats;
  return {
    event: 'call',
    fields: {
      system: o.system,
      dir: o.dir,
      result: callResult(r, o.failedAt),
      time: Math.round(o.ms),
      bytes_sent: s.bytesSent,
      bytes_received: s.bytesReceived,
      files_sent: s.filesSent,
      files_received: s.filesReceived,
      resent: r.packets?.resent ?? 0,
      damaged: r.packets?.damaged ?? 0,
      ...(r.protocol ? { protocol: r.protocol } : {}),
    },
    reason: r.ok ? undefined : r.error?.message,
  };
}
