// Loads everything routing consults: config/routers (order), config/paths,
// config/hosts, config/qualify, config/aliases and the UUCP neighbours from
// uucp/sys. Loaded once per command (and again on the daemon's SIGHUP).
import path from 'node:path';
import type { MailConfig } from '../config/mail-config.js';
import { configError } from '../util/errors.js';
import { readTrustedFile } from '../util/trusted-file.js';
import { tableLines } from '../config/table-file.js';
import { PathsDb } from './paths.js';
import { loadQualify, type Qualifier } from './qualify.js';
import { parseAliases, type AliasTable } from './aliases/parse.js';
import { dnsRouter, hostsRouter, loadHosts, neighboursRouter } from './table-routers.js';
import { pathsRouter } from './paths-router.js';
import { autoturnRouter, loadAutoturn, type AutoturnEntry } from './autoturn.js';
import type { RemoteRouter } from './remote.js';
import type { SiteNames } from '../address/rewrite.js';
import type { UucpConfigSource } from '../config/uucp/load.js';

export const ROUTER_NAMES = ['paths', 'uucp_neighbors', 'hosts', 'dns', 'smart_host'] as const;
export const DEFAULT_ROUTERS = ['paths', 'uucp_neighbors', 'hosts', 'smart_host'];

export interface RoutingTables {
  routers: RemoteRouter[];
  smartHost: boolean;
  aliases: AliasTable;
  aliasesFile: string;
  qualify: Qualifier;
  site: SiteNames;
  /** config/autoturn's entries (none without the file): where maildir-smtp routes lead. */
  autoturn: AutoturnEntry[];
  close(): Promise<void>;
}

export interface TableOptions {
  /** uucp/ as the gateway holds it (the uucp_neighbors router's systems). */
  uucp: UucpConfigSource;
  /** Resolver for the dns router (injected by tests). */
  resolve?: (name: string) => Promise<boolean>;
}

export function parseRouterList(text: string, file: string): string[] {
  const names: string[] = [];
  for (const { fields, where } of tableLines(text, file)) {
    for (const name of fields) {
      if (!(ROUTER_NAMES as readonly string[]).includes(name)) throw configError(where, `unknown router "${name}" (have ${ROUTER_NAMES.join(', ')})`);
      names.push(name);
    }
  }
  return names;
}

export async function loadRoutingTables(cfg: MailConfig, opts: TableOptions): Promise<RoutingTables> {
  const file = (n: string): string => path.join(cfg.configDir, n);
  const routersText = await readTrustedFile(file('routers'));
  const order = routersText === undefined ? DEFAULT_ROUTERS : parseRouterList(routersText, file('routers'));
  const qualify = await loadQualify(file('qualify'));
  const aliasesText = (await readTrustedFile(file('aliases'))) ?? '';
  const aliases = parseAliases(aliasesText, file('aliases'));
  const closers: Array<() => Promise<void>> = [];
  const routers: RemoteRouter[] = [];
  for (const name of order) {
    if (name === 'paths') {
      const db = await openPaths(file('paths'), cfg.uucp_domain);
      if (db) {
        closers.push(() => db.close());
        routers.push(pathsRouter(db, cfg.uucp_transport));
      }
    } else if (name === 'uucp_neighbors') {
      routers.push(neighboursRouter(async () => (await opts.uucp()).systems.keys(), () => cfg.uucp_transport));
    } else if (name === 'hosts') {
      routers.push(hostsRouter(await loadHosts(file('hosts')), file('hosts')));
    } else if (name === 'dns') {
      routers.push(dnsRouter(opts.resolve ?? resolveDns));
    }
  }
  // config/autoturn (dial-up SMTP sites, maildir-smtp transport) is consulted first when present.
  const autoturn = await loadAutoturn(cfg.configDir, cfg.spoolDir);
  if (autoturn) routers.unshift(autoturnRouter(autoturn, file('autoturn')));
  const site: SiteNames = {
    hostnames: [...cfg.hostnames, cfg.primaryName],
    uucpName: cfg.uucp_name,
    visibleName: cfg.visible_name,
    uucpDomain: cfg.uucp_domain,
    qualify: (h) => qualify.qualify(h),
    smtpRouteStyle: cfg.smtp_route_style,
    parse: { bangFirst: cfg.bang_first, percentOverBang: cfg.percent_over_bang },
  };
  return {
    routers,
    smartHost: order.includes('smart_host') && !!cfg.smart_path,
    aliases,
    aliasesFile: file('aliases'),
    qualify,
    site,
    autoturn: autoturn ?? [],
    close: async () => { for (const c of closers) await c(); },
  };
}

async function openPaths(file: string, domain: string): Promise<PathsDb | undefined> {
  try {
    return await PathsDb.open(file, { domain });
  } catch (err) {
    if ((err as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT') return undefined;
    throw err;
  }
}

async function resolveDns(name: string): Promise<boolean> {
  const dns = await import('node:dns/promises');
  const has = async (f: () => Promise<unknown[]>): Promise<boolean> => f().then((r) => r.length > 0, () => false);
  return (await has(() => dns.resolveMx(name))) || (await has(() => dns.resolve4(name)));
}
