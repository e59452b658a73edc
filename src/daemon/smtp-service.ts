// The daemon's SMTP listener (smtp/server.ts) as a DaemonService: started with the
// daemon, kicking a queue run after each accepted message, given the new
// configuration on SIGHUP.
import { GatewayError } from '../util/errors.js';
import type { Gateway } from '../runtime/gateway.js';
import { startSmtpServer, type RunningSmtpServer } from '../smtp/server.js';
import type { Daemon, DaemonService } from './daemon.js';

/** True when smtp_listen still has its built-in default (a bind failure is then only reported). */
function isDefaultListen(gw: Gateway): boolean {
  const l = gw.cfg.smtp_listen;
  return l.length === 1 && l[0].host === '127.0.0.1' && l[0].port === 2525;
}

/** The daemon's SMTP listener. */
export function smtpService(gw: Gateway): DaemonService {
  let running: RunningSmtpServer | undefined;
  return {
    name: 'smtp',
    async start(d: Daemon): Promise<string> {
      try {
        running = await startSmtpServer(d.gw, { afterAccept: () => d.kick() });
      } catch (err) {
        if (!isDefaultListen(gw)) throw new GatewayError(`smtp: cannot listen: ${(err as Error).message}`, { temporary: true });
        d.gw.log.panic(`smtp: cannot listen on the default 127.0.0.1:2525: ${(err as Error).message}`);
        return `not listening (default 127.0.0.1:2525: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set smtp_listen`;
      }
      const where = (list: RunningSmtpServer['addresses']): string => list.map((a) => (a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`)).join(', ');
      const submission = running.submissionAddresses.length ? `; submission on ${where(running.submissionAddresses)}` : '';
      return `listening on ${where(running.addresses)}${submission}`;
    },
    async stop(): Promise<void> {
      await running?.close();
      running = undefined;
    },
    async reload(next: Gateway): Promise<void> {
      await running?.reload(next);
    },
    figures: () => ({ smtp_connections: running?.connections() ?? 0 }),
  };
}
