// uugate install / uninstall [--root DIR] [--user NAME] [--dry-run] [--replace]:
// lays out (or removes) a system installation; the work is in src/install/.
import type { Command } from 'commander';
import { GatewayError, EX } from '../util/errors.js';

interface InstallFlags {
  root?: string;
  user?: string;
  dryRun?: boolean;
  replace?: boolean;
  tlsCert?: boolean;
}

const withInstallFlags = (cmd: Command): Command =>
  cmd
    .option('--root <dir>', 'install as if DIR were / (default: UUGATE_ROOT, else /)')
    .option('--user <name>', "the gateway's system account (default: gateway_user in uugate.conf, else uucp)")
    .option('--dry-run', 'print every action and change nothing')
    .option('--replace', "set another MTA's sendmail (and mailq, ...) aside as NAME.uugate-saved")
    .option('--no-tls-cert', 'install: make no self-signed certificate when uugate.conf names none');

export function registerInstallCommands(program: Command): void {
  for (const which of ['install', 'uninstall'] as const) {
    withInstallFlags(program.command(which))
      .description(which === 'install' ? 'install on this host (as root): configuration, spool, commands, systemd units, account' : 'remove what install wrote and put back what it replaced; configuration, spool and account stay')
      .action(async (f: InstallFlags) => {
        const { installPlan, uninstallPlan, applyPlan } = await import('../install/plan.js');
        const { defaultRoot } = await import('../install/layout.js');
        if (!f.dryRun && process.geteuid?.() !== 0) throw new GatewayError(`${which} needs root (or --dry-run to see what it would do)`, { exitCode: EX.NOPERM });
        const opts = { root: f.root ?? defaultRoot(), user: f.user, replace: f.replace, tlsCert: f.tlsCert };
        const plan = which === 'install' ? installPlan(opts) : uninstallPlan(opts);
        await applyPlan(plan, !!f.dryRun, (line) => process.stdout.write(`${line}\n`));
      });
  }
}
