// Shared plumbing for commands: stdin reading, location flags and the mapping
// from thrown errors to a message on stderr and a sysexits status.
import { Command, CommanderError } from 'commander';
import { GatewayError, EX } from '../util/errors.js';

export async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

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

export function reportAndExit(name: string, err: unknown): never {
  if (err instanceof GatewayError) {
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`${name}: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(EX.SOFTWARE);
}
