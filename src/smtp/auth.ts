// Password checks for SMTP AUTH, behind one interface: Dovecot's auth socket
// (auth-dovecot.ts) or a passwd-file (config/passwd-file.ts), chosen by
// authenticators.ts; and the
// count of failed logins per client address that slows and stops guessing.

/** ok: the password is right (`user`: the name as the password source spells it); temp: ask again later. */
export type AuthResult = { result: 'ok'; user: string } | { result: 'fail' | 'temp'; why?: string };

export interface Authenticator {
  /** `ip`, `secured`: the client, for the source's own logging and penalties. */
  check(user: string, password: string, client: { ip: string; secured: boolean }): Promise<AuthResult>;
}

/** Forgotten this long after a client's last failure. */
const FORGET_MS = 15 * 60 * 1000;

/**
 * Failed logins per client address, across its connections: each failure is
 * answered only after a delay, and a client at the limit is disconnected (and
 * disconnected again at its next failure until it has been quiet for FORGET_MS
 * or logs in).
 */
export class AuthFailures {
  private readonly byIp = new Map<string, { n: number; last: number }>();

  /** Counts a failure; true when the client has reached `max`. */
  fail(ip: string, max: number): boolean {
    const now = Date.now();
    const e = this.byIp.get(ip);
    const n = e && now - e.last < FORGET_MS ? e.n + 1 : 1;
    if (this.byIp.size >= 10_000) this.byIp.clear();
    this.byIp.set(ip, { n, last: now });
    return max > 0 && n >= max;
  }

  succeed(ip: string): void {
    this.byIp.delete(ip);
  }
}
