// The login prompt uucico shows when it answers a line itself (`uucico -l`,
// the TCP listener): "login: ", then "Password:", checked against the Taylor
// `passwd` file. Like Taylor we re-prompt on empty lines, which a caller's
// chat script (`"" \r\c ogin:`) and line noise on ptys produce.
import { GatewayError, EX } from '../util/errors.js';
import type { LineReader } from './session-io.js';
import type { Trace } from './trace.js';

export interface LoginOptions {
  passwd: Map<string, string>;
  /** Seconds to wait for each answer. */
  timeoutS?: number;
  /** Login attempts before giving up (default 1: a wrong password ends the call at once). */
  tries?: number;
  trace?: Trace;
}

export class LoginError extends GatewayError {
  constructor(message: string) {
    super(message, { exitCode: EX.NOPERM, temporary: false });
  }
}

/** One line ending in CR or LF, parity stripped; control characters other than the terminator dropped. */
function scanLine(buf: Buffer): number {
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]! & 0x7f;
    if (c === 0x0d || c === 0x0a) return i + 1;
  }
  return buf.length > 1024 ? buf.length : -1;
}

async function readLine(line: LineReader, timeoutS: number, what: string): Promise<string> {
  let raw = await line.take(scanLine, timeoutS * 1000, what);
  // The LF of a CR LF pair ends up alone: it is not an answer.
  while (raw.length === 1 && (raw[0]! & 0x7f) === 0x0a) raw = await line.take(scanLine, timeoutS * 1000, what);
  let s = '';
  for (const c of raw) {
    const ch = c & 0x7f;
    if (ch >= 0x20 && ch !== 0x7f) s += String.fromCharCode(ch);
  }
  return s;
}

/** Prompts until a valid login and password arrive; returns the login name. */
export async function promptLogin(line: LineReader, o: LoginOptions): Promise<string> {
  const timeoutS = o.timeoutS ?? 60;
  for (let attempt = 0; attempt < (o.tries ?? 1); attempt++) {
    let name = '';
    for (let blanks = 0; name === ''; blanks++) {
      if (blanks > 20) throw new LoginError('too many empty lines at the login prompt');
      line.write('login: ');
      name = (await readLine(line, timeoutS, 'waiting for a login name')).trim();
    }
    line.write('Password:');
    const password = await readLine(line, timeoutS, 'waiting for a password');
    line.write('\r\n');
    const want = o.passwd.get(name);
    if (want !== undefined && want === password) {
      o.trace?.log('handshake', `login ${name} accepted`);
      return name;
    }
    o.trace?.log('abnormal', `bad login or password for "${name}"`);
    line.write('Login incorrect\r\n');
  }
  throw new LoginError('login incorrect');
}
