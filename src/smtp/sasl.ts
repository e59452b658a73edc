// The server side of SMTP AUTH's two password mechanisms (RFC 4954; PLAIN is
// RFC 4616, LOGIN the old de-facto one every client still offers): decoding the
// client's base64 responses into a user name and a password. Pure: the check
// itself is the engine's hooks.authenticate.

/** A refusal, as the engine's Verdict (not imported: the engine imports this module). */
interface Verdict {
  code: number;
  status: string;
  text: string;
}

export type SaslStep = { challenge: string } | { user: string; password: string } | { refusal: Verdict };

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const USERNAME = Buffer.from('Username:').toString('base64');
const PASSWORD = Buffer.from('Password:').toString('base64');
const cancelled: SaslStep = { refusal: { code: 501, status: '5.7.0', text: 'authentication cancelled' } };
const undecodable: SaslStep = { refusal: { code: 501, status: '5.5.2', text: 'cannot decode the response (base64)' } };

/** A response line as bytes ('=' is an empty initial response), or undefined when it is not base64. */
function decode(text: string): Buffer | undefined {
  if (text === '=') return Buffer.alloc(0);
  return B64.test(text) ? Buffer.from(text, 'base64') : undefined;
}

export class Sasl {
  private user: string | undefined;

  private constructor(
    private readonly mech: 'PLAIN' | 'LOGIN',
    private readonly initial: string | undefined,
  ) {}

  /** `arg`: what follows AUTH, a mechanism and perhaps an initial response. */
  static start(arg: string): Sasl | Verdict {
    const [mech, initial, extra] = arg.trim().split(/\s+/);
    if (extra !== undefined || !mech) return { code: 501, status: '5.5.4', text: 'syntax: AUTH mechanism [initial-response]' };
    const m = mech.toUpperCase();
    if (m !== 'PLAIN' && m !== 'LOGIN') return { code: 504, status: '5.5.4', text: `mechanism ${mech} not supported; use PLAIN or LOGIN` };
    return new Sasl(m, initial);
  }

  /** The step after AUTH: a challenge, or the credentials when the initial response had them. */
  first(): SaslStep {
    if (this.initial === undefined) return { challenge: this.mech === 'PLAIN' ? '' : USERNAME };
    return this.respond(this.initial);
  }

  /** The client's response line to the last challenge. */
  respond(text: string): SaslStep {
    if (text.trim() === '*') return cancelled;
    const bytes = decode(text.trim());
    if (!bytes) return undecodable;
    if (this.mech === 'PLAIN') return plain(bytes);
    if (this.user === undefined) {
      this.user = bytes.toString('utf8');
      return { challenge: PASSWORD };
    }
    return { user: this.user, password: bytes.toString('utf8') };
  }
}

/** RFC 4616: authzid NUL authcid NUL password; acting for another user is not offered. */
function plain(bytes: Buffer): SaslStep {
  const parts = bytes.toString('utf8').split('\0');
  if (parts.length !== 3 || !parts[1]) return { refusal: { code: 501, status: '5.5.2', text: 'malformed PLAIN response' } };
  const [authzid, user, password] = parts;
  if (authzid && authzid !== user) return { refusal: { code: 535, status: '5.7.8', text: 'authorization identity other than the user not allowed' } };
  return { user, password };
}
