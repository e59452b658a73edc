// uugate check [--root DIR] [--config DIR] [--uucp DIR] [--spool DIR]: reports
// every problem of an installed system with its fix; exit 0 only when there is none.
import type { Command } from 'commander';
import { withLocationFlags } from './command-flags.js';
import { EX } from '../util/errors.js';
import type { LocationFlags } from '../runtime/gateway.js';

export function registerCheckCommand(program: Command): void {
  withLocationFlags(program.command('check'))
    .description('check an installation: owners and modes, configuration errors, commands and units, ports (exit 78 on a problem)')
    .option('--root <dir>', 'the installation to check (default: UUGATE_ROOT, else /)')
    .action(async (f: LocationFlags & { root?: string }) => {
      const { checkInstall } = await import('../install/check.js');
      const { defaultRoot } = await import('../install/layout.js');
      const r = await checkInstall({ ...f, root: f.root ?? defaultRoot() });
      for (const n of r.notes) process.stdout.write(`uugate check: note: ${n}\n`);
      for (const p of r.problems) process.stdout.write(`uugate check: ${p}\n`);
      if (r.problems.length) process.exitCode = EX.CONFIG;
      else process.stdout.write('uugate check: all is well\n');
    });
}
