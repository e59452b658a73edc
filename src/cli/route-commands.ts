// uugate route ADDRESS..., uugate paths check [FILE], uugate paths sort IN OUT.
import path from 'node:path';
import type { Command } from 'commander';
import { withLocationFlags } from './command-flags.js';
import { loadGateway, type LocationFlags } from '../runtime/gateway.js';
import { openRouter } from '../runtime/routing.js';
import { explainAddresses } from '../route/explain.js';
import { checkPaths, sortPaths } from '../route/paths.js';
import { GatewayError, EX } from '../util/errors.js';

/** Prints how each address routes; returns the exit code (0, or 67/68-style). */
export async function routeCommand(flags: LocationFlags, addrs: string[]): Promise<void> {
  const gw = await loadGateway(flags);
  const { router, close } = await openRouter(gw);
  try {
    const r = await explainAddresses(router, addrs);
    process.stdout.write(r.text);
    process.exitCode = r.exitCode;
  } finally {
    await close();
  }
}

export function registerRouteCommands(program: Command): void {
  withLocationFlags(program.command('route'))
    .description('show how addresses are routed: router or director, transport, next hop, rewritten address')
    .argument('<addresses...>')
    .action((addrs: string[], opts: LocationFlags) => routeCommand(opts, addrs));

  const paths = program.command('paths').description('the paths database (config/paths)');
  withLocationFlags(paths.command('check'))
    .description('verify that a paths file is sorted as lookups need')
    .argument('[file]')
    .action(async (file: string | undefined, opts: LocationFlags) => {
      const target = file ?? path.join((await loadGateway(opts)).loc.configDir, 'paths');
      const problem = await checkPaths(target);
      if (problem) throw new GatewayError(problem.message, { exitCode: EX.DATAERR, where: `${target}:${problem.line}` });
      process.stdout.write(`${target}: sorted\n`);
    });
  paths
    .command('sort')
    .description('write a sorted copy of a paths file')
    .argument('<input>')
    .argument('<output>')
    .action(async (input: string, output: string) => {
      const n = await sortPaths(input, output);
      process.stdout.write(`${output}: ${n} entries sorted\n`);
    });
}
