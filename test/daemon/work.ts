// Queues an rmail job for a UUCP neighbour the way the uux transport does.
import type { Gateway } from '../../src/runtime/gateway.js';
import { run, type Site } from '../helpers/site.js';

export async function writeWork(gw: Gateway, system: string, rcpt: string): Promise<void> {
  const site = { env: { ...process.env, UUGATE_CONFIG: gw.loc.configDir, UUGATE_UUCP: gw.loc.uucpDir, UUGATE_SPOOL: gw.loc.spoolDir } } as unknown as Site;
  const r = await run(site, ['uux', '-', `${system}!rmail`, rcpt], 'From alice Fri Nov 27 12:00:00 2026 remote from leaf\nSubject: sched\n\nscheduled\n');
  if (r.code !== 0) throw new Error(`uux failed: ${r.stderr}`);
}
