// Chat scripts: alternating expect and send strings, as in Taylor's `chat`
// command (Taylor manual "Chat Scripts"; docs/dial-up.md "Chat scripts").
//
//   "" \r\c ogin:-BREAK-ogin:-BREAK-ogin: \L word: \P
//
// - `""` expects (or sends) nothing;
// - an expect may carry fallbacks: `a-s-b` expects a, and if it times out
//   sends s and expects b (and so on); `\055` is a literal '-';
// - escapes: \b \n \r \t \s (space) \N (NUL) \\ \ddd \xhh in both halves;
//   in sends also \c (no final CR) \d (1 s delay) \p (0.5 s) \K and BREAK
//   (line break), EOT, \L \P (login, password), \D \T (phone number), and
//   \e \E \M \m (accepted, no effect here);
// - every send ends with a CR unless it contains \c;
// - matching ignores parity bits; `chat-fail` strings end the script early.
// Modem dialers use the same engine later; nothing here is login-specific.
import { GatewayError, EX } from '../util/errors.js';
import type { LineReader } from './session-io.js';
import type { Trace } from './trace.js';

export interface ChatOptions {
  /** Seconds to wait for each expect string. */
  timeoutS: number;
  /** Strings that abort the script when seen. */
  fail?: string[];
  login?: string;
  password?: string;
  /** \D: the phone number as written (dial.ts turns `=` and `-` into the dialer's strings). */
  phone?: string;
  /** \T: the number after dialcode translation; \D's when absent. */
  dialPhone?: string;
  /** Sends a line break (serial ports); ignored when absent. */
  sendBreak?: () => Promise<void>;
  trace?: Trace;
  /** For tests: how long \d and \p wait. */
  delayScale?: number;
}

export class ChatError extends GatewayError {
  /** The chat-fail string that was seen (e.g. "BUSY"), or undefined. */
  failString?: string;
  /** True when an expect timed out. */
  timedOut?: boolean;
  constructor(message: string, o: { failString?: string; timedOut?: boolean } = {}) {
    super(`chat: ${message}`, { exitCode: EX.PROTOCOL, temporary: true });
    this.failString = o.failString;
    this.timedOut = o.timedOut;
  }
}

// ---------------------------------------------------------------- syntax check

const EXPECT_ESCAPES = new Set(['b', 'n', 'r', 't', 's', 'N', '\\', 'x', 'W']);
const SEND_ESCAPES = new Set([...EXPECT_ESCAPES, 'c', 'd', 'p', 'K', 'L', 'P', 'D', 'T', 'e', 'E', 'M', 'm']);

/**
 * Checks a chat script's escapes: an unknown escape, a lone trailing
 * backslash, `\x` without hex digits or `\W` without a number is an error
 * (Taylor only logs them and sends the character, which hides typos such as
 * `\T` written `\t` in a dial string). Returns the first problem or undefined.
 */
export function checkChatScript(script: string[]): string | undefined {
  for (let k = 0; k < script.length; k++) {
    const whole = script[k]!;
    const isSend = k % 2 === 1;
    if (whole === '""' || (isSend && (whole === 'EOT' || whole === 'BREAK'))) continue;
    // Sub-expects alternate expect and send too.
    const parts = isSend ? [whole] : whole.split('-');
    for (let j = 0; j < parts.length; j++) {
      const s = parts[j]!;
      const send = isSend || j % 2 === 1;
      if (send && (s === 'EOT' || s === 'BREAK')) continue;
      for (let i = 0; i < s.length; i++) {
        if (s[i] !== '\\') continue;
        const e = s[i + 1];
        if (e === undefined) return `"${whole}": a lone backslash at the end`;
        i++;
        if (/[0-7]/.test(e)) continue;
        if (!(send ? SEND_ESCAPES : EXPECT_ESCAPES).has(e)) return `"${whole}": unknown escape \\${e}${send ? '' : ' in an expect string'}`;
        if (e === 'x' && !/^[0-9a-fA-F]/.test(s.slice(i + 1))) return `"${whole}": \\x without hex digits`;
        if (e === 'W') {
          if (send) return `"${whole}": \\W belongs at the end of an expect string`;
          if (!/^\d+$/.test(s.slice(i + 1))) return `"${whole}": \\W wants a number of seconds at the end of the expect string`;
          i = s.length;
        }
      }
    }
  }
  return undefined;
}

/** An expect string's own timeout: `ogin:\W5` waits 5 seconds for "ogin:". */
export function splitExpectTimeout(s: string): { text: string; timeoutS?: number } {
  const m = /^(.*?)\\W(\d+)$/.exec(s);
  return m ? { text: m[1]!, timeoutS: Number(m[2]) } : { text: s };
}

type SendAction = { bytes: Buffer } | { delayMs: number } | { brk: true };

/** Expands the escapes of an expect string (or a send string without send-only escapes). */
export function expandExpect(s: string): string {
  if (s === '""') return '';
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\' || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const e = s[++i]!;
    const esc = simpleEscape(s, i);
    if (esc) {
      out += esc.text;
      i = esc.end;
    } else out += e; // unknown escape: the character itself
  }
  return out;
}

/** \b \n \r \t \s \N \\ \ddd \xhh starting at s[i] (the char after the backslash). */
function simpleEscape(s: string, i: number): { text: string; end: number } | undefined {
  const e = s[i]!;
  switch (e) {
    case 'b': return { text: '\b', end: i };
    case 'n': return { text: '\n', end: i };
    case 'r': return { text: '\r', end: i };
    case 't': return { text: '\t', end: i };
    case 's': return { text: ' ', end: i };
    case 'N': return { text: '\0', end: i };
    case '\\': return { text: '\\', end: i };
    case 'x': {
      const m = /^[0-9a-fA-F]{1,2}/.exec(s.slice(i + 1));
      return m ? { text: String.fromCharCode(parseInt(m[0], 16)), end: i + m[0].length } : undefined;
    }
  }
  const oct = /^[0-7]{1,3}/.exec(s.slice(i));
  if (oct) return { text: String.fromCharCode(parseInt(oct[0], 8) & 0xff), end: i + oct[0].length - 1 };
  return undefined;
}

/** Turns a send string into actions (bytes, delays, breaks), with the final CR unless \c. */
export function expandSend(s: string, o: Pick<ChatOptions, 'login' | 'password' | 'phone' | 'dialPhone' | 'delayScale'>): SendAction[] {
  if (s === '""') return [];
  if (s === 'EOT') return [{ bytes: Buffer.from('\x04\r', 'latin1') }];
  if (s === 'BREAK') return [{ brk: true }];
  const actions: SendAction[] = [];
  let text = '';
  let cr = true;
  const flush = (): void => {
    if (text) actions.push({ bytes: Buffer.from(text, 'latin1') });
    text = '';
  };
  const scale = o.delayScale ?? 1;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\' || i + 1 >= s.length) {
      text += c;
      continue;
    }
    const e = s[++i]!;
    switch (e) {
      case 'c': cr = false; continue;
      case 'd': flush(); actions.push({ delayMs: 1000 * scale }); continue;
      case 'p': flush(); actions.push({ delayMs: 500 * scale }); continue;
      case 'K': flush(); actions.push({ brk: true }); continue;
      case 'L': text += o.login ?? ''; continue;
      case 'P': text += o.password ?? ''; continue;
      case 'D': text += o.phone ?? ''; continue;
      case 'T': text += o.dialPhone ?? o.phone ?? ''; continue;
      case 'e': case 'E': case 'M': case 'm': continue;
    }
    const esc = simpleEscape(s, i);
    if (esc) {
      text += esc.text;
      i = esc.end;
    } else text += e;
  }
  if (cr) text += '\r';
  flush();
  return actions;
}

const strip = (b: Buffer): string => {
  let s = '';
  for (const c of b) s += String.fromCharCode(c & 0x7f);
  return s;
};

/** Waits for `want` (or a fail string) in the input; consumes through the match. */
async function expect(line: LineReader, want: string, o: ChatOptions, timeoutS = o.timeoutS): Promise<boolean> {
  if (want === '') return true;
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const seen = strip(line.peek());
    const at = seen.indexOf(want);
    if (at >= 0) {
      line.consume(at + want.length);
      o.trace?.log('chat', `got "${want}"`);
      return true;
    }
    for (const f of o.fail ?? []) {
      const ff = expandExpect(f);
      if (ff && seen.includes(ff)) {
        o.trace?.log('chat', `got fail string "${ff}"`);
        throw new ChatError(`got "${ff}" while waiting for "${want}"`, { failString: ff });
      }
    }
    // Keep only a tail long enough to hold a match spanning two reads.
    const keep = Math.max(want.length, ...(o.fail ?? []).map((f) => f.length), 1);
    if (seen.length > 4096) line.consume(seen.length - keep);
    if (line.isClosed) throw new ChatError(`the line closed while waiting for "${want}"`);
    if (!(await line.waitMore(deadline - Date.now())) && Date.now() >= deadline) return false;
  }
}

async function send(line: LineReader, s: string, o: ChatOptions, echo: { on: boolean }): Promise<void> {
  o.trace?.log('chat', `send "${s.replace(/\\P/g, '********')}"`);
  // \E turns echo checking on, \e off, from that point of the script on (Taylor).
  if (/\\E/.test(s)) echo.on = s.lastIndexOf('\\E') > s.lastIndexOf('\\e');
  else if (/\\e/.test(s)) echo.on = false;
  for (const a of expandSend(s, o)) {
    if ('bytes' in a) {
      line.write(a.bytes);
      if (echo.on) {
        // Echo check: what we sent must come back before we go on.
        const want = strip(a.bytes);
        if (!(await expect(line, want, { ...o, fail: [] }))) throw new ChatError(`no echo of "${want.replace(/\r/g, '\\r')}"`, { timedOut: true });
      }
    } else if ('delayMs' in a) {
      o.trace?.log('chat', `pause ${a.delayMs} ms`);
      await new Promise((r) => setTimeout(r, a.delayMs));
    } else {
      o.trace?.log('chat', 'send BREAK');
      await o.sendBreak?.();
    }
  }
}

/** Runs a chat script over the line; throws ChatError when an expect fails. */
export async function runChat(line: LineReader, script: string[], o: ChatOptions): Promise<void> {
  const echo = { on: false };
  for (let i = 0; i < script.length; i += 2) {
    const ex = script[i]!;
    // Split on unescaped '-': expect, then (send, expect) fallbacks.
    const parts = ex === '""' ? [''] : ex.split('-');
    let ok = false;
    let last = '';
    for (let j = 0; j < parts.length; j += 2) {
      if (j > 0) await send(line, parts[j - 1]! || '""', o, echo);
      const { text, timeoutS } = splitExpectTimeout(parts[j]!);
      const want = expandExpect(text);
      last = want;
      o.trace?.log('chat', `expect "${want}" (${timeoutS ?? o.timeoutS} s)`);
      if (await expect(line, want, o, timeoutS)) {
        ok = true;
        break;
      }
      o.trace?.log('chat', `timed out waiting for "${want}"`);
    }
    if (!ok) throw new ChatError(`timed out waiting for "${last}"`, { timedOut: true });
    const s = script[i + 1];
    if (s !== undefined) await send(line, s, o, echo);
  }
}
