// The uugate command: `uugate <command> ...`, or invoked through a link named after
// a command (rmail, sendmail, mailq, ...), which then behaves as that command.
import path from 'node:path';
import { Command } from 'commander';
import { reportAndExit, usageExits, withLocationFlags } from './run.js';
import { GatewayError, EX } from '../util/errors.js';
import { registerMailCommands } from './mail-commands.js';
import { sendmailMain } from './sendmail.js';

/** Commands that later work will provide: they say so and exit 78, never pretend. */
const NOT_BUILT: Record<string, string> = {
  rsmtp: 'BSMTP batches',
  uucico: 'the UUCP transfer daemon',
  uuxqt: 'UUCP remote execution',
  uux: 'UUCP remote execution requests',
  uustat: 'UUCP job status',
};

export const LINK_NAMES = ['rmail', 'rsmtp', 'sendmail', 'mailq', 'runq', 'uucico', 'uuxqt', 'uux', 'uustat'];

export function buildProgram(): Command {
  const program = new Command('uugate').description('UUCP-oriented store-and-forward mail gateway');
  registerMailCommands(program);
  for (const [name, what] of Object.entries(NOT_BUILT)) {
    if (program.commands.some((c) => c.name() === name)) continue;
    withLocationFlags(program.command(name).description(`${what} (not built yet)`).allowUnknownOption().argument('[args...]')).action(() => {
      throw new GatewayError(`${name} (${what}) is not built yet`, { exitCode: EX.CONFIG });
    });
  }
  return usageExits(program);
}

export async function main(argv: string[]): Promise<void> {
  const invoked = path.basename(argv[1] ?? 'uugate');
  const name = LINK_NAMES.includes(invoked) ? invoked : invoked === 'maildirsmtp' ? invoked : 'uugate';
  try {
    if (name === 'sendmail') await sendmailMain(argv.slice(2));
    else if (name === 'uugate' && argv[2] === 'sendmail') await sendmailMain(argv.slice(3));
    else {
      const args = name === 'uugate' ? argv.slice(2) : [name, ...argv.slice(2)];
      await buildProgram().parseAsync(args, { from: 'user' });
    }
  } catch (err) {
    reportAndExit(name === 'uugate' ? `uugate ${argv[2] ?? ''}`.trim() : name, err);
  }
  process.exit(process.exitCode ?? 0);
}
