// Password checks for SMTP AUTH, behind one interface: Dovecot's auth socket
// (auth-dovecot.ts) or a passwd-file (config/passwd-file.ts), chosen by
// authenticators.ts; and the
// count of failed logins per client address that slows and stops guessing;
// login() puts them together for one AUTH and says what to reply.
import type { Logger } from '../log/logger.js';
import type { Verdict } from './engine.js';

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

export interface LoginContext {
  auth: Authenticator;
  failures: AuthFailures;
  log: Logger;
  ip: string;
  /** smtp or submission: with the result, a field of the logged line for the AUTH counts. */
  listener: string;
  /** How the connection is secured (describeTls), if it is. */
  tls: string | undefined;
  maxFailures: number;
  delayMs: number;
}

/**
 * One password check: the reply (235 with the user's name, 535 after the
 * delay, 454 when the source cannot tell), logged; `disconnect` once the client
 * has failed too often.
 */
export async function login(ctx: LoginContext, name: string, password: string): Promise<{ verdict: Verdict & { user?: string }; disconnect: boolean }> {
  const { ip, tls } = ctx;
  // A source that fails (an unreadable passwd-file) is a temporary failure, not a wrong password.
  const r = await ctx.auth.check(name, password, { ip, secured: tls !== undefined }).catch((err: Error): AuthResult => ({ result: 'temp', why: err.message }));
  if (r.result === 'ok') {
    ctx.failures.succeed(ip);
    ctx.log.log({ event: 'info', fields: { listener: ctx.listener, auth: 'ok' }, reason: `smtp: [${ip}] authenticated as ${r.user}${tls ? ` (${tls})` : ''}` });
    return { verdict: { code: 235, status: '2.7.0', text: 'Authentication successful', user: r.user }, disconnect: false };
  }
  if (r.result === 'temp') {
    ctx.log.panic(`smtp: [${ip}] cannot check the password of ${name}: ${r.why ?? 'temporary failure'}`);
    return { verdict: { code: 454, status: '4.7.0', text: 'temporary authentication failure, try again later' }, disconnect: false };
  }
  const disconnect = ctx.failures.fail(ip, ctx.maxFailures);
  ctx.log.log({ event: 'info', fields: { listener: ctx.listener, auth: 'fail' }, reason: `smtp: [${ip}] failed login as ${name}${r.why ? `: ${r.why}` : ''}${disconnect ? '; too many, disconnected' : ''}` });
  await new Promise((resolve) => setTimeout(resolve, ctx.delayMs));
  return { verdict: { code: 535, status: '5.7.8', text: 'Authentication credentials invalid' }, disconnect };
}
