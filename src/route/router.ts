// The router chain (smail's model). For each recipient:
//   1. hops naming this host are stripped (`leaf!hub!bob`, `bob@leaf`);
//   2. a local address goes to the directors (aliases, .forward, lists, users),
//      unless its local part could name a file elsewhere (5.1.3);
//   3. otherwise every remote router in config/routers order offers a route for
//      the target host and the longest match wins (a full match ends the search,
//      the earlier router keeps a tie); a partial domain match has the rest of
//      the target appended to its route;
//   4. with no offer: a host inside auth_domains is unknown (bounced at once,
//      never sent to the smart host); anything else goes to smart_path.
// The winning route is rewritten for the next hop: a bang path relative to a
// UUCP neighbour, or the domain form for SMTP.
import type { MailConfig } from '../config/mail-config.js';
import { AddressError } from '../address/errors.js';
import type { ParsedAddress } from '../address/parse.js';
import { unsafeLocalPart } from '../address/local-part.js';
import { rewriteForUucp, stripLocalHops, toSmtpRecipient } from '../address/rewrite.js';
import { bestMatch, type RemoteMatch } from './remote.js';
import { findAutoturn, neighbourTransport } from './autoturn.js';
import { direct } from './directors.js';
import { failRoute, type AddressRouter, type RouteDecision, type RouteRequest } from './types.js';
import type { RoutingTables } from './tables.js';
import type { Route } from '../deliver/transport.js';

/** Transports that speak SMTP take domain-form addresses; all others bang paths. */
const DOMAIN_TRANSPORTS = new Set(['smtp', 'maildir-smtp']);

export function createRouter(cfg: MailConfig, tables: RoutingTables): AddressRouter {
  const route = async (req: RouteRequest): Promise<RouteDecision> => {
    const provenance = req.provenance ?? 'envelope';
    if (provenance !== 'envelope' && /^[|/\\]/.test(req.addr)) return direct({ cfg, aliases: tables.aliases }, req.addr, provenance);
    let steps: ParsedAddress[];
    try {
      steps = stripLocalHops(req.addr.replace(/^<(.*)>$/, '$1'), tables.site);
    } catch (err) {
      if (err instanceof AddressError) return failRoute('parser', '5.1.3', err.message);
      throw err;
    }
    const first = steps[0];
    if (first.kind === 'local') {
      const unsafe = unsafeLocalPart(first.remainder);
      if (unsafe) return failRoute('parser', '5.1.3', unsafe, ['a local part never names a file outside its directory']);
      return direct({ cfg, aliases: tables.aliases }, first.remainder, provenance);
    }
    const m = await bestMatch(tables.routers, first.target);
    // The paths file may name further hosts as this one (`name<TAB>%s`): route what follows.
    if (m?.local) return route({ addr: first.remainder, provenance });
    return routeRemote(cfg, tables, req.addr, first, m);
  };
  return { route };
}

async function routeRemote(cfg: MailConfig, tables: RoutingTables, addr: string, first: ParsedAddress, m: RemoteMatch | null): Promise<RouteDecision> {
  const target = first.target;
  if (m?.blocked) return failRoute('paths', '5.1.2', `unknown host ${target}: ${m.why[0]} covers it as local`, m.why);
  if (m) return { kind: 'deliver', route: buildRoute(tables, addr, first, neighbourTransport(cfg, m)) };
  if (inAuthDomain(cfg, target)) return failRoute('auth_domains', '5.1.2', `unknown host ${target} in authoritative domain`, [`auth_domains=${cfg.auth_domains.join(':')}`]);
  if (!tables.smartHost) return failRoute('router', '5.1.2', `no route to host ${target}`, ['no router matched and no smart host is configured']);
  const [next, ...via] = cfg.smart_path.split('!');
  const smart: RemoteMatch = { router: 'smart_host', length: 0, full: false, transport: cfg.smart_transport, nextHop: next, route: [...via, target], why: [`smart_path=${cfg.smart_path} via ${cfg.smart_transport}`] };
  return { kind: 'deliver', route: buildRoute(tables, addr, first, neighbourTransport(cfg, smart)) };
}

function inAuthDomain(cfg: MailConfig, target: string): boolean {
  const t = target.toLowerCase();
  return cfg.auth_domains.some((d) => t === d.toLowerCase() || t.endsWith(`.${d.toLowerCase().replace(/^\./, '')}`));
}

/** SMTP gets the domain form; UUCP the route after the neighbour plus the rest as a bang path. */
function buildRoute(tables: RoutingTables, addr: string, first: ParsedAddress, m: RemoteMatch): Route {
  const address = DOMAIN_TRANSPORTS.has(m.transport) ? toSmtpRecipient(addr, tables.site) : rewriteForUucp(first, m, tables.site.parse).address;
  const route: Route = { transport: m.transport, nextHop: m.nextHop, router: m.router, why: m.why, address };
  if (m.transport === 'maildir-smtp') {
    // Whichever router chose maildir-smtp, the transport writes where config/autoturn says.
    const e = findAutoturn(tables.autoturn, m.nextHop);
    if (e) route.autoturn = { maildir: e.maildir, prefix: e.prefix };
  }
  return route;
}
