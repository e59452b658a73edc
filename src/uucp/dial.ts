// Dialing out through a modem with a Taylor `dial` file entry (Taylor manual
// "dial File"; docs/dial-up.md "Dialers" and "Hayes modems"):
//
//   dialer hayes
//   chat "" ATZ OK ATDT\T CONNECT
//   chat-timeout 60
//   chat-fail BUSY
//   chat-fail NO\sCARRIER
//   complete \d\d+++\d\dATH\r\c
//   abort \d\d+++\d\dATH\r\c
//   dtr-toggle true true
//
// `chat` runs with \D = the sys entry's `phone` and \T = the same after dialcode
// translation (a leading alphabetic code looked up in uucp/dialcode: `NY5551234`
// with `NY 1=212` dials 1=2125551234); in both, `=` (wait for a secondary dial
// tone) and `-` (pause) become the dialer's `dialtone` and `pause` strings, a
// comma by default, as in Taylor UUCP. A `chat-fail` string
// ends the dial with that string as the reason (BUSY, NO CARRIER, NO
// DIALTONE, NO ANSWER, ERROR), a timeout with the expect string it waited for.
// `complete` / `abort` are send strings (`complete-chat` / `abort-chat` whole
// scripts) run when the call ends well or badly. `dtr-toggle A B` drops DTR
// for a second before dialing (A) and waits a second afterwards (B).
import { GatewayError, EX, configError } from '../util/errors.js';
import { checkChatScript, ChatError, runChat } from './chat.js';
import type { UucpDialer, UucpPort } from '../config/uucp/types.js';
import type { LineReader } from './session-io.js';
import type { Trace } from './trace.js';

/** Hayes result strings a dialer without chat-fail lines still recognises. */
export const HAYES_FAIL = ['BUSY', 'NO\\sCARRIER', 'NO\\sDIALTONE', 'NO\\sDIAL\\sTONE', 'NO\\sANSWER', 'ERROR'];

/** A dial that did not connect; `reason` is the modem's answer or "timeout". */
export class DialError extends GatewayError {
  constructor(
    readonly device: string,
    readonly reason: string,
    detail: string,
  ) {
    super(`${device}: dial failed: ${detail}`, { exitCode: EX.UNAVAILABLE, temporary: true });
  }
}

export interface DialOptions {
  phone?: string;
  /** uucp/dialcode: code -> digits. */
  dialcodes?: Map<string, string>;
  trace?: Trace;
  /** Drops (false) or raises (true) DTR; resolves false when the line cannot (a pty). */
  setDtr?: (on: boolean) => Promise<boolean>;
  /** For tests: scales \d, \p and the DTR pauses. */
  delayScale?: number;
}

/** The dialer a modem port names, checked for chat syntax (errors give the dial file's line). */
export function resolveDialer(port: UucpPort, dialers: Map<string, UucpDialer>): UucpDialer {
  const what = port.name || 'inline port';
  if (!port.dialer) throw configError(port.where, `${what}: a modem port needs a dialer`);
  const d = dialers.get(port.dialer);
  if (!d) throw configError(port.where, `${what}: dialer "${port.dialer}" is not in the dial file`);
  for (const [key, script] of [['chat', d.chat], ['complete-chat', d.completeChat], ['abort-chat', d.abortChat]] as const) {
    if (!script) continue;
    const bad = checkChatScript(script);
    if (bad) throw configError(d.whereOf?.[key] ?? d.where, `dialer ${d.name}: ${key}: ${bad}`);
  }
  for (const key of ['complete', 'abort'] as const) {
    const v = d[key];
    const bad = v !== undefined ? checkChatScript(['""', v]) : undefined;
    if (bad) throw configError(d.whereOf?.[key] ?? d.where, `dialer ${d.name}: ${key}: ${bad}`);
  }
  return d;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Toggles DTR (dtr-toggle); a line that cannot is logged and left alone. */
async function toggleDtr(d: UucpDialer, o: DialOptions): Promise<void> {
  const [before, after] = d.dtrToggle ?? [];
  if (!before || !/^[yYtT]/.test(before) || !o.setDtr) return;
  const scale = o.delayScale ?? 1;
  if (await o.setDtr(false)) {
    o.trace?.log('chat', 'DTR dropped for dtr-toggle');
    await sleep(1000 * scale);
    await o.setDtr(true);
    if (after && /^[yYtT]/.test(after)) await sleep(1000 * scale);
  } else o.trace?.log('chat', 'dtr-toggle: this line has no DTR control (a pty?); skipped');
}

/** The numbers \D (`phone`) and \T (`dialPhone`) send; see the header. An unknown dialcode is dialed as written. */
export function dialNumbers(phone: string | undefined, d: UucpDialer, codes = new Map<string, string>(), trace?: Trace): { phone?: string; dialPhone?: string } {
  if (phone === undefined) return {};
  const tones = (n: string): string => n.replace(/[=-]/g, (c) => (c === '=' ? d.dialtone : d.pause) ?? ',');
  const [, code, rest] = /^([A-Za-z]+)(.*)$/.exec(phone) ?? [];
  const digits = code !== undefined ? codes.get(code) : undefined;
  if (code !== undefined && digits === undefined) trace?.log('chat', `phone ${phone}: no dialcode "${code}" in the dialcode file; dialed as written`);
  return { phone: tones(phone), dialPhone: tones(digits !== undefined ? digits + rest : phone) };
}

/** Runs the dialer's chat. Throws DialError with the modem's answer or the timeout. */
export async function dial(line: LineReader, device: string, d: UucpDialer, o: DialOptions): Promise<void> {
  await toggleDtr(d, o);
  const fail = d.chatFail.length ? d.chatFail : HAYES_FAIL;
  o.trace?.log('chat', `dialing ${o.phone ?? '(no number)'} with dialer ${d.name}`);
  try {
    await runChat(line, d.chat, { timeoutS: d.chatTimeout ?? 60, fail, ...dialNumbers(o.phone, d, o.dialcodes, o.trace), trace: o.trace, delayScale: o.delayScale });
  } catch (err) {
    if (!(err instanceof ChatError)) throw err;
    const reason = err.failString ?? (err.timedOut ? 'timeout' : 'line closed');
    throw new DialError(device, reason, err.failString ? `the modem said "${err.failString}"` : err.message.replace(/^chat: /, ''));
  }
}

/** The `complete` (ok) or `abort` (failed) chat, for hanging up. Errors are logged, never thrown. */
export async function hangupChat(line: LineReader, d: UucpDialer, ok: boolean, o: DialOptions): Promise<boolean> {
  const script = ok ? (d.completeChat ?? (d.complete !== undefined ? ['""', d.complete] : undefined)) : (d.abortChat ?? (d.abort !== undefined ? ['""', d.abort] : undefined));
  if (!script) return false;
  o.trace?.log('chat', `hanging up with the ${ok ? 'complete' : 'abort'} chat`);
  try {
    await runChat(line, script, { timeoutS: 10, trace: o.trace, delayScale: o.delayScale });
    return true;
  } catch (err) {
    o.trace?.log('abnormal', `hang-up chat: ${(err as Error).message}`);
    return false;
  }
}
