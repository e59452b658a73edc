// Thin wrappers: rmail, mailq, runq, daemon. Each parses flags and calls the library.
import type { Command } from 'commander';
import { readStdin, withLocationFlags } from './run.js';
import { loadGateway, type LocationFlags } from '../runtime/gateway.js';
import { deliverAccepted } from '../runtime/after-accept.js';
import { runQueue } from '../runtime/runq.js';
import { rmail } from '../inject/rmail.js';
import { currentUser } from '../inject/submission.js';
import { formatQueue, listQueue } from '../queue/mailq.js';
import { runDaemon } from '../daemon/daemon.js';

export function registerMailCommands(program: Command): void {
  withLocationFlags(program.command('rmail'))
    .description('accept mail from UUCP (RFC 976 From_ lines) for the given recipients')
    .argument('<recipients...>')
    .action(async (recipients: string[], opts: LocationFlags) => {
      const gw = await loadGateway(opts);
      const data = await readStdin();
      const id = await rmail(gw, {
        recipients,
        data,
        fromSystem: process.env.UU_MACHINE,
        defaultSender: process.env.UU_USER ?? currentUser(),
      });
      await deliverAccepted(gw, [id]);
    });

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
      await runDaemon(await loadGateway(opts));
    });
}
