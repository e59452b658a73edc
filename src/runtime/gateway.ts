// Wiring: loads configuration once and hands typed objects to the layers. Every
// command (and the daemon) builds its Gateway here, so uuxqt, rmail and the SMTP
// server reach the same accept and queue code in-process.
import { promises as fsp } from 'node:fs';
import { loadMailConfig, type MailConfig } from '../config/mail-config.js';
import { resolveLocations, type Locations } from '../config/locations.js';
import { SpoolLayout } from '../queue/spool.js';
import { acceptMessage, type AcceptContext, type AcceptRequest } from '../queue/accept.js';
import { QueueIndex } from '../queue/index-db.js';
import { QueueRunner } from '../queue/runner.js';
import { Logger } from '../log/logger.js';
import { openRouter } from './routing.js';
import { fileTransport, maildirTransport, mboxTransport, pipeTransport } from '../deliver/local.js';
import { processAlive } from '../deliver/mbox.js';
import { createUuxTransport } from '../deliver/uux.js';
import { createSmtpTransport } from '../deliver/smtp.js';
import { createBsmtpTransport } from '../deliver/bsmtp.js';
import { createMaildirSmtpTransport } from '../deliver/maildir-smtp.js';
import type { DeliveryJob, Transport, World } from '../deliver/transport.js';
import { rewriteForWorld } from '../route/world-rewrite.js';
import type { AddressRouter } from '../route/types.js';

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

/** Every transport, bound to this gateway's spool and configuration. */
export function defaultTransports(gw: Gateway): Transport[] {
  return [maildirTransport, mboxTransport, fileTransport, pipeTransport, createUuxTransport(gw), createSmtpTransport(gw), createBsmtpTransport(gw), createMaildirSmtpTransport(gw)];
}

export interface OpenQueue {
  runner: QueueRunner;
  index: QueueIndex;
  close(): Promise<void>;
}

export interface QueueOptions {
  transports?: Transport[];
  router?: AddressRouter;
}

/** Takes ownership of the queue (the LevelDB lock) and reconciles it with the spool. */
export async function openQueue(gw: Gateway, opts: QueueOptions = {}): Promise<OpenQueue> {
  const routing = opts.router ? undefined : await openRouter(gw);
  const close = async (): Promise<void> => {
    await routing?.close();
    await index?.close();
  };
  let index: QueueIndex | undefined;
  try {
    index = await QueueIndex.open(gw.spool.db);
    const transports = new Map((opts.transports ?? defaultTransports(gw)).map((t) => [t.name, t]));
    const site = routing?.tables.site;
    const rewrite = site ? (job: DeliveryJob, world: World) => rewriteForWorld(job, world, site, gw.cfg) : undefined;
    const runner = new QueueRunner({ cfg: gw.cfg, spool: gw.spool, index, router: opts.router ?? routing!.router, transports, log: gw.log, clock: gw.clock, rewrite });
    await runner.rebuild();
    return { runner, index, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The running daemon's pid, if there is one on this spool. */
export async function daemonPid(gw: Gateway): Promise<number | undefined> {
  const pid = Number((await fsp.readFile(gw.spool.pidFile, 'utf8').catch(() => '')).trim());
  return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : undefined;
}
