// The uugate command: `uugate <command> ...`, or invoked through a link named after
// a command (rmail, sendmail, mailq, ...), which then behaves as that command.
import path from 'node:path';
import type { Command } from 'commander';
import { reportAndExit } from './run.js';

export const LINK_NAMES = ['rmail', 'rsmtp', 'rgsmtp', 'sendmail', 'mailq', 'runq', 'uucico', 'uuxqt', 'uux', 'uustat'];

export async function buildProgram(): Promise<Command> {
  const { Command: Program } = await import('commander');
  const { registerMailCommands } = await import('./mail-commands.js');
  const { registerUucicoCommand } = await import('./uucico-command.js');
  const { registerUuxCommands } = await import('./uux-commands.js');
  const { registerRouteCommands } = await import('./route-commands.js');
  const { registerBsmtpCommands } = await import('./bsmtp-commands.js');
  const { registerInstallCommands } = await import('./install-command.js');
  const { registerCheckCommand } = await import('./check-command.js');
  const { registerStatsCommand } = await import('./stats-command.js');
  const { usageExits } = await import('./command-flags.js');
  const program = new Program('uugate').description('UUCP-oriented store-and-forward mail gateway');
  registerMailCommands(program);
  registerUucicoCommand(program);
  registerUuxCommands(program);
  registerRouteCommands(program);
  registerBsmtpCommands(program);
  registerInstallCommands(program);
  registerCheckCommand(program);
  registerStatsCommand(program);
  return usageExits(program);
}

export async function main(argv: string[]): Promise<void> {
  const invoked = path.basename(argv[1] ?? 'uugate');
  const name = LINK_NAMES.includes(invoked) ? invoked : invoked === 'maildirsmtp' ? invoked : 'uugate';
  const args = name === 'uugate' ? argv.slice(2) : [name, ...argv.slice(2)];
  try {
    // rmail and sendmail are started once per message: they skip commander and
    // load only what their path needs (see bench/inject for the start-up cost).
    if (args[0] === 'sendmail') await (await import('./sendmail.js')).sendmailMain(args.slice(1));
    else if (args[0] === 'rmail') await (await import('./rmail.js')).rmailMain(args.slice(1));
    else await (await buildProgram()).parseAsync(args, { from: 'user' });
  } catch (err) {
    reportAndExit(name === 'uugate' ? `uugate ${argv[2] ?? ''}`.trim() : name, err);
  }
  process.exit(process.exitCode ?? 0);
}
