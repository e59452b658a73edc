// `uugate stats [--since DATE] [--until DATE] [--html FILE] [LOGFILE...]`:
// the traffic report (src/daemon/traffic-report.ts) over the given logs, or
// over spool/log/logfile and its rotated copies (logfile.N, logfile.N.gz,
// logfile-DATE[.gz]), oldest first.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { resolveLocations } from '../config/locations.js';
import { parseLogLine } from '../log/log-parse.js';
import { readLogLines } from '../log/log-read.js';
import { Traffic } from '../log/traffic.js';
import { htmlReport, textReport } from '../daemon/traffic-report.js';
import { chartJsFile } from '../daemon/status-page.js';
import { EX, GatewayError } from '../util/errors.js';
import { withLocationFlags } from './command-flags.js';
import type { LocationFlags } from '../runtime/gateway.js';

/** `YYYY-MM-DD` or `YYYY-MM-DD HH:MM[:SS]`, local time. */
export function parseDate(text: string, option: string): number {
  const m = /^(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d))?)?$/.exec(text.trim());
  if (!m) throw new GatewayError(`${option} ${text}: expected YYYY-MM-DD or "YYYY-MM-DD HH:MM"`, { exitCode: EX.USAGE });
  return new Date(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0)).getTime();
}

/** spool/log/logfile and its rotated copies, oldest first. */
export async function defaultLogs(dir: string): Promise<string[]> {
  const names = (await fsp.readdir(dir).catch(() => [] as string[])).filter((n) => /^logfile([.-].+)?$/.test(n) && !n.endsWith('.json'));
  const rank = (n: string): [number, string] => {
    const num = /^logfile\.(\d+)(\.gz)?$/.exec(n);
    if (num) return [0, String(1e9 - Number(num[1])).padStart(10, '0')];
    return n === 'logfile' ? [2, ''] : [1, n];
  };
  return names
    .sort((a, b) => {
      const [ra, ka] = rank(a);
      const [rb, kb] = rank(b);
      return ra - rb || ka.localeCompare(kb);
    })
    .map((n) => path.join(dir, n));
}

export function registerStatsCommand(program: Command): void {
  withLocationFlags(program.command('stats'))
    .description("summarise uugate's logs: volume, neighbours, transports, top senders and recipients, deferrals, bounces, calls, refusals")
    .argument('[logfile...]', 'log files (plain or gzipped); default: spool/log/logfile and its rotated copies')
    .option('--since <date>', 'only lines from this time on (YYYY-MM-DD [HH:MM])')
    .option('--until <date>', 'only lines before this time')
    .option('--html <file>', 'also write a self-contained HTML report with charts')
    .action(async (files: string[], opts: LocationFlags & { since?: string; until?: string; html?: string }) => {
      const from = opts.since ? parseDate(opts.since, '--since') : undefined;
      const until = opts.until ? parseDate(opts.until, '--until') : undefined;
      const logs = files.length ? files : await defaultLogs(path.join(resolveLocations(opts).spoolDir, 'log'));
      const traffic = new Traffic(undefined, { detail: true, keepDays: Infinity });
      let lines = 0;
      let first: number | undefined;
      let last: number | undefined;
      for (const file of logs) {
        try {
          for await (const batch of readLogLines(file))
            for (const text of batch) {
              const l = parseLogLine(text);
              if (!l || (from !== undefined && l.time < from) || (until !== undefined && l.time >= until)) continue;
              lines++;
              first ??= l.time;
              last = l.time;
              traffic.add(l);
            }
        } catch (err) {
          throw new GatewayError(`${file}: ${(err as Error).message}`, { exitCode: EX.NOINPUT, where: file });
        }
      }
      const range = { from: from ?? first, until: until ?? last, lines };
      process.stdout.write(textReport(traffic, range));
      if (opts.html) {
        const chartJs = await fsp.readFile(chartJsFile(), 'utf8');
        await fsp.writeFile(opts.html, htmlReport(traffic, range, chartJs));
      }
    });
}
