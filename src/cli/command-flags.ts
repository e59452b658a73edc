// commander helpers: the location flags every command takes, and usage errors
// reported as exit 64 rather than commander's own exit.
import type { Command, CommanderError } from 'commander';
import { GatewayError, EX } from '../util/errors.js';

export function withLocationFlags(cmd: Command): Command {
  return cmd
    .option('--config <dir>', 'mail configuration directory (UUGATE_CONFIG)')
    .option('--uucp <dir>', 'UUCP configuration directory (UUGATE_UUCP)')
    .option('--spool <dir>', 'spool directory (UUGATE_SPOOL)');
}

/** Makes commander report usage errors as exit 64 instead of exiting itself. */
export function usageExits(cmd: Command): Command {
  cmd.exitOverride((err: CommanderError) => {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') process.exit(0);
    throw new GatewayError(err.message.replace(/^error: /, ''), { exitCode: EX.USAGE });
  });
  cmd.configureOutput({ writeErr: () => undefined });
  for (const sub of cmd.commands) usageExits(sub);
  return cmd;
}
