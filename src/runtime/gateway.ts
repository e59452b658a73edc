// Wiring: loads configuration once and hands typed objects to the layers. Every
// command (and the daemon) builds its Gateway here, so uuxqt, rmail and the SMTP
// server reach the same accept code in-process. Taking the queue (index, router,
// transports) is in queue-owner.ts, which per-message commands never load.
import { promises as fsp } from 'node:fs';
import { loadMailConfig, type MailConfig } from '../config/mail-config.js';
import { resolveLocations, type Locations } from '../config/locations.js';
import { SpoolLayout } from '../queue/spool.js';
import { acceptMessage, type AcceptContext, type AcceptRequest } from '../queue/accept.js';
import { Logger } from '../log/logger.js';
import { processAlive } from '../deliver/mbox.js';

export interface LocationFlags {
  config?: string;
  uucp?: string;
  spool?: string;
}

export interface Gateway {
  loc: Locations;
  cfg: MailConfig;
  spool: SpoolLayout;
  log: Logger;
  clock: () => number;
}

export async function loadGateway(flags: LocationFlags, clock: () => number = Date.now): Promise<Gateway> {
  const loc = resolveLocations(flags);
  const cfg = await loadMailConfig(loc.configDir, loc.spoolDir);
  const spool = new SpoolLayout(loc.spoolDir);
  await spool.ensure();
  const log = new Logger(spool.log, clock);
  if (cfg.log_json) await log.enableJson();
  return { loc, cfg, spool, log, clock };
}

export function acceptContext(gw: Gateway): AcceptContext {
  return { spool: gw.spool, hostname: gw.cfg.primaryName, sizeLimit: gw.cfg.message_size_limit, clock: gw.clock };
}

export function accept(gw: Gateway, req: AcceptRequest): Promise<string> {
  return acceptMessage(acceptContext(gw), req);
}

/** The running daemon's pid, if there is one on this spool. */
export async function daemonPid(gw: Gateway): Promise<number | undefined> {
  const pid = Number((await fsp.readFile(gw.spool.pidFile, 'utf8').catch(() => '')).trim());
  return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : undefined;
}
