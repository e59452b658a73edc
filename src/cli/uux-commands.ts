// uux, uuxqt, uustat: queue remote executions, run received ones, show the UUCP queue.
//
//   uugate uux [-r] [-] [-p] [-g grade] [-a addr] [-n|-z] [-j] system!command args...
//       Queues the request (S data + S X. form) in <spool>/uucp. `-` / `-p` sends
//       standard input. The call is always left to uucico (-r is the only mode).
//   uugate uuxqt [-s system]
//   uugate uustat [-a] [-s sys] [-u user] | -m | -q | -k jobid | -r jobid
//
// Reached as `uugate <name>` or through a link named uux, uuxqt or uustat.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { withLocationFlags } from './command-flags.js';
import { printWarnings, readStdin } from './run.js';
import { GatewayError, EX, usageError } from '../util/errors.js';
import type { LocationFlags } from '../runtime/gateway.js';

const uucpSpool = (spoolDir: string): string => path.join(spoolDir, 'uucp');

export function registerUuxCommands(program: Command): void {
  // uux's own options (-r, -g C, -a addr...) and the remote command's words are
  // parsed by parseUuxArgs; commander only takes the location flags.
  withLocationFlags(program.command('uux'))
    .description('queue a command for execution on a UUCP neighbour')
    .usage('[-r] [-] [-g grade] [-a address] [-n|-z] [-j] system!command [args...]')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(async (words: string[], opts: LocationFlags) => {
      const { parseUuxArgs, queueExecution } = await import('../uucp/uux.js');
      const { loadGateway } = await import('../runtime/gateway.js');
      const { currentUser } = await import('../inject/submission.js');
      const req = parseUuxArgs(words);
      if (req.system === '') throw usageError('give the system as system!command (local execution is not supported)');
      const gw = await loadGateway(opts);
      const uucp = await gw.uucp();
      printWarnings('uux', uucp.warnings);
      const system = uucp.findSystem(req.system);
      if (!system) throw new GatewayError(`${req.system}: system not found in ${path.join(gw.loc.uucpDir, 'sys')}`, { exitCode: EX.NOHOST });
      const q = await queueExecution({
        spoolDir: uucpSpool(gw.loc.spoolDir),
        system: system.name,
        localName: gw.cfg.uucp_name,
        command: req.command,
        args: req.args,
        stdin: req.readStdin ? await readStdin() : undefined,
        grade: req.grade,
        requester: currentUser(),
        notify: req.requester,
        noMail: req.notify === 'none',
        mailOnFail: req.notify === 'error',
      });
      if (req.printJobId) process.stdout.write(`${q.jobId}\n`);
    });

  withLocationFlags(program.command('uuxqt'))
    .description('run the execution requests UUCP neighbours left in the spool')
    .option('-s, --system <system>', 'only requests from this system')
    .option('-v, --verbose', 'print a summary')
    .action(async (opts: LocationFlags & { system?: string; verbose?: boolean }) => {
      const { runUuxqt } = await import('../inject/uuxqt.js');
      const { loadGateway } = await import('../runtime/gateway.js');
      const gw = await loadGateway(opts);
      const uucp = await gw.uucp();
      printWarnings('uuxqt', uucp.warnings);
      const s = await runUuxqt(gw, { system: opts.system, uucp });
      if (opts.verbose) {
        process.stdout.write(
          s.busy
            ? 'uuxqt: another uuxqt is running\n'
            : `${s.executed} executed, ${s.failed} failed, ${s.deferred} deferred, ${s.waiting} waiting for files, ${s.corrupt} corrupt, ${s.skipped} from unknown systems\n`,
        );
      }
    });

  withLocationFlags(program.command('uustat'))
    .description('show or change the UUCP queue (Taylor uustat output)')
    .option('-a, --all', 'list every queued job')
    .option('-s, --system <system>', 'list the jobs for this system')
    .option('-u, --user <user>', 'list the jobs queued by this user')
    .option('-m, --status', 'show the call status of every system')
    .option('-q, --queue', 'show the number of jobs and executions per system')
    .option('-k, --kill <jobid>', 'remove a job', (v: string, prev: string[] = []) => [...prev, v])
    .option('-r, --rejuvenate <jobid>', 'mark a job as queued now', (v: string, prev: string[] = []) => [...prev, v])
    .action(async (opts: LocationFlags & { all?: boolean; system?: string; user?: string; status?: boolean; queue?: boolean; kill?: string[]; rejuvenate?: string[] }) => {
      const u = await import('../uucp/uustat.js');
      const { resolveLocations } = await import('../config/locations.js');
      const spool = uucpSpool(resolveLocations(opts).spoolDir);
      const now = Date.now();
      // Like Taylor's: silent on success, "Job not found" and exit 1 otherwise.
      if (opts.kill || opts.rejuvenate) {
        let missing = 0;
        for (const id of opts.kill ?? []) {
          if (!(await u.killJob(spool, id))) missing += complain(`${id}: Job not found`);
        }
        for (const id of opts.rejuvenate ?? []) {
          if (!(await rejuvenate(spool, id, now))) missing += complain(`${id}: Job not found`);
        }
        if (missing) process.exitCode = 1;
        return;
      }
      if (opts.status) {
        process.stdout.write((await u.systemStatuses(spool)).map((s) => `${u.formatStatus(s, now)}\n`).join(''));
        return;
      }
      if (opts.queue) {
        process.stdout.write((await u.queueSummary(spool, now)).map((q) => `${u.formatSummary(q)}\n`).join(''));
        return;
      }
      const { currentUser } = await import('../inject/submission.js');
      // Taylor: no option lists the invoking user's jobs; -a, -s or -u widen or change that.
      const user = opts.user ?? (opts.all || opts.system ? undefined : currentUser());
      process.stdout.write(u.formatJobs(await u.listJobs(spool, { system: opts.system, user })));
    });
}

function complain(message: string): number {
  process.stderr.write(`uustat: ${message}\n`);
  return 1;
}

/** uustat -r: gives the job's work file the current time, so it counts as queued now. */
async function rejuvenate(spool: string, id: string, now: number): Promise<boolean> {
  const { parseJobId, spoolFilePath } = await import('../uucp/spool/names.js');
  const p = parseJobId(id);
  if (!p) return false;
  try {
    const when = new Date(now);
    await fsp.utimes(spoolFilePath(spool, p.system, p.workName), when, when);
    return true;
  } catch {
    return false;
  }
}
