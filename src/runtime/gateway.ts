// Wiring: loads configuration once and hands typed objects to the layers. Every
// command (and the daemon) builds its Gateway here, so uuxqt, rmail and the SMTP
// server reach the same accept code in-process. Taking the queue (index, router,
// transports) is in queue-owner.ts, which per-message commands never load.
import { promises as fsp, statSync } from 'node:fs';
import os from 'node:os';
import { loadMailConfig, type MailConfig } from '../config/mail-config.js';
import { resolveLocations, type Locations } from '../config/locations.js';
import { uucpConfigOnce, type UucpConfigSource } from '../config/uucp/load.js';
import { SpoolLayout } from '../queue/spool.js';
import { acceptMessage, acceptStream, type AcceptContext, type AcceptRequest, type StreamedRequest } from '../queue/accept.js';
import { Logger } from '../log/logger.js';
import { pidAlive } from '../util/pid-file.js';
import type { TransportContext } from '../deliver/transport.js';
import { GatewayError, EX } from '../util/errors.js';
import { claimSpool, dropPrivileges, gatewayAccount, runningAsRoot } from '../util/privileges.js';
import { startLspawn } from '../deliver/lspawn.js';

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
  /** uucp/: read once, when first needed, for every user in this process. */
  uucp: UucpConfigSource;
}

/** The spool directories root hands over to the gateway user (the ones made before it can drop privileges). */
export const CLAIMED_SPOOL_DIRS = ['tmp', 'incoming', 'queue', 'msglog', 'log', 'uucp'];

/**
 * Reads the configuration and opens the spool. Started by root with a
 * gateway_user, the command becomes that user first (docs/privileges.md);
 * `stayRoot` is for the daemon, which binds its ports before it drops.
 */
export async function loadGateway(flags: LocationFlags, clock: () => number = Date.now, opts: { stayRoot?: boolean } = {}): Promise<Gateway> {
  const loc = resolveLocations(flags);
  const cfg = await loadMailConfig(loc.configDir, loc.spoolDir);
  if (cfg.gateway_user && !runningAsRoot() && cfg.gateway_user !== os.userInfo().username)
    throw new GatewayError(`only root and gateway_user (${cfg.gateway_user}) may use the spool ${loc.spoolDir}; other users send mail with sendmail or rmail (docs/privileges.md)`, { exitCode: EX.NOPERM });
  const account = runningAsRoot() && cfg.gateway_user ? await gatewayAccount(cfg.gateway_user) : undefined;
  if (account && account.uid !== 0) {
    await claimSpool(loc.spoolDir, CLAIMED_SPOOL_DIRS, account);
    // Starting a delivery as another account (a mailbox's owner, alias_user) is
    // the one thing that keeps needing root: the helper keeps it.
    startLspawn();
    if (!opts.stayRoot) dropPrivileges(account);
  }
  const spool = new SpoolLayout(loc.spoolDir);
  await spool.ensure();
  const log = new Logger(spool.log, clock);
  if (cfg.log_json) await log.enableJson();
  return { loc, cfg, spool, log, clock, uucp: uucpConfigOnce(loc.uucpDir) };
}

/** What the transports get of this gateway (deliver/transport.ts). */
export function transportContext(gw: Gateway): TransportContext {
  return { loc: gw.loc, cfg: gw.cfg, clock: gw.clock, uucp: gw.uucp };
}

export function acceptContext(gw: Gateway): AcceptContext {
  return { spool: gw.spool, hostname: gw.cfg.primaryName, sizeLimit: gw.cfg.message_size_limit, clock: gw.clock };
}

export function accept(gw: Gateway, req: AcceptRequest): Promise<string> {
  return acceptMessage(acceptContext(gw), req);
}

export function acceptStreamed(gw: Gateway, req: StreamedRequest): Promise<string> {
  return acceptStream(acceptContext(gw), req);
}

/**
 * The pid file as last read, with its identity. A standalone SMTP server looks
 * for the daemon before every delivery, and the file changes only when a daemon
 * starts or stops, so a stat (no thread-pool round trip) stands in for the read.
 */
let lastPidFile: { file: string; ino: number; mtimeMs: number; size: number; pid: number } | undefined;

/** The running daemon's pid, if there is one on this spool. */
export async function daemonPid(gw: Gateway): Promise<number | undefined> {
  const file = gw.spool.pidFile;
  let st;
  try {
    st = statSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined; // unreadable: no daemon we could signal either
  }
  if (!st) return undefined;
  const known = lastPidFile;
  let pid: number;
  if (known?.file === file && known.ino === st.ino && known.mtimeMs === st.mtimeMs && known.size === st.size) pid = known.pid;
  else {
    pid = Number((await fsp.readFile(file, 'utf8').catch(() => '')).trim());
    lastPidFile = { file, ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, pid };
  }
  // Checked every time: a killed daemon leaves its pid file behind.
  return pidAlive(pid) ? pid : undefined;
}
