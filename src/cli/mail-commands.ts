// Thin wrappers: mailq, runq, daemon. Each parses flags and calls the library.
import type { Command } from 'commander';
import { withLocationFlags } from './command-flags.js';
import { loadGateway, type LocationFlags } from '../runtime/gateway.js';
import { runQueue } from '../runtime/runq.js';
import { formatQueue, listQueue } from '../queue/mailq.js';
import { runDaemon } from '../daemon/daemon.js';
import { GatewayError, EX } from '../util/errors.js';

export function registerMailCommands(program: Command): void {
  withLocationFlags(program.command('mailq'))
    .description('list the mail queue')
    .option('-v, --verbose', 'add each message\'s transaction log')
    .action(async (opts: LocationFlags & { verbose?: boolean }) => {
      const gw = await loadGateway(opts);
      process.stdout.write(formatQueue(await listQueue(gw.spool), gw.clock(), !!opts.verbose));
    });

  withLocationFlags(program.command('runq'))
    .description('deliver every due message once')
    .option('-f, --force', 'attempt every queued message, due or not')
    .option('--id <id>', 'only these messages (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--quiet', 'print no summary')
    .action(async (opts: LocationFlags & { force?: boolean; id?: string[]; quiet?: boolean }) => {
      const gw = await loadGateway(opts);
      const s = await runQueue(gw, { force: opts.force, ids: opts.id });
      if (!opts.quiet) process.stdout.write(`${s.messages} messages: ${s.delivered} delivered, ${s.deferred} deferred, ${s.failed} failed\n`);
    });

  withLocationFlags(program.command('daemon'))
    .description('run the gateway: queue runner (and the services configured)')
    .action(async (opts: LocationFlags) => {
      const gw = await loadGateway(opts, undefined, { stayRoot: true });
      const afterListen = await (await import('../daemon/run-as.js')).privilegeDrop(gw);
      const services = gw.cfg.smtp_listen.length || gw.cfg.submission_listen.length ? [(await import('../daemon/smtp-service.js')).smtpService(gw)] : [];
      services.push((await import('../daemon/call-scheduler.js')).callSchedulerService());
      if (gw.cfg.status_listen.length) services.push((await import('../daemon/status-server.js')).statusService());
      // Local users' drops exist only where they are not the gateway user (docs/privileges.md).
      if (gw.cfg.gateway_user) services.push((await import('../daemon/pickup.js')).pickupService());
      await runDaemon(gw, services, afterListen);
    });

  withLocationFlags(program.command('smtpd'))
    .description('run only the SMTP server in the foreground (accepted mail is delivered per delivery_mode)')
    .option('--listen <addr>', 'host:port or [v6]:port instead of smtp_listen')
    .action(async (opts: LocationFlags & { listen?: string }) => {
      const gw = await loadGateway(opts, undefined, { stayRoot: true });
      const afterListen = await (await import('../daemon/run-as.js')).privilegeDrop(gw);
      const { startSmtpServer } = await import('../smtp/server.js');
      const { parseListen } = await import('../config/cidr.js');
      const listen = opts.listen ? parseListen(opts.listen) : gw.cfg.smtp_listen;
      if (!listen.length) throw new GatewayError('smtp_listen is empty and no --listen was given', { exitCode: EX.CONFIG });
      const srv = await startSmtpServer(gw, { listen });
      const dropped = afterListen?.(); // bound as root if need be; the mail is the gateway user's
      if (dropped) process.stderr.write(`uugate smtpd: ${dropped}\n`);
      const where = (list: typeof srv.addresses): string => list.map((a) => `${a.address}:${a.port}`).join(', ');
      const submission = srv.submissionAddresses.length ? `, submission on ${where(srv.submissionAddresses)}` : '';
      process.stderr.write(`uugate smtpd pid ${process.pid} listening on ${where(srv.addresses)}${submission}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      await srv.close();
    });
}
