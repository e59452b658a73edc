// Relay control for the SMTP server (qmail's rcpthosts + tcprules idea): mail for
// destinations we are responsible for is taken from anyone; anything else only
// from clients inside relay_networks.
//
// "Responsible for" is, by default, what the router delivers here or hands to a
// UUCP neighbour through a route we know (local users, aliases and lists, UUCP
// neighbours, hosts in the paths database) — but never the smart host, which would
// make every address ours. A non-empty rcpt_domains replaces the UUCP part by an
// explicit list (`name` matches itself, `.name` every subdomain); local names are
// always accepted (postmaster must be).
//
// The whole route counts, not its first hop: `hub!gmail.com!victim`,
// `victim%gmail.com%hub@us` and `@hub:victim@gmail.com` all leave through hub, but
// hub is asked to pass them on to gmail.com. So every host the address still names
// after our own must be one we serve (docs/routing.md, "Relay control").
import type { MailConfig } from '../config/mail-config.js';
import type { ParsedAddress } from '../address/parse.js';
import { isLocalHost, stripLocalHops, type SiteNames } from '../address/rewrite.js';
import type { AddressRouter, RouteDecision } from '../route/types.js';
import type { NetList } from '../config/cidr.js';
import type { Verdict } from './engine.js';

export interface RelayContext {
  cfg: MailConfig;
  router: AddressRouter;
  site: SiteNames;
  relayNets: NetList;
}

/** An SMTP refusal: reply code, enhanced status, text (the engine's verdict). */
export type Refusal = Verdict;

const LOCAL_TRANSPORTS = new Set(['maildir', 'mbox', 'file', 'pipe']);

export function isRelayClient(ctx: RelayContext, ip: string): boolean {
  return ctx.relayNets.matches(ip);
}

/** Returns undefined if `addr` may be accepted from a client (`relay`: one of isRelayClient's), else the refusal. */
export async function checkRecipient(ctx: RelayContext, addr: string, relay: boolean): Promise<Refusal | undefined> {
  const d = await ctx.router.route({ addr, provenance: 'envelope' });
  const refusal = routeFailure(addr, d, relay);
  if (refusal || relay || deliveredHere(d)) return refusal;
  return wholeRouteServed(ctx, addr, d);
}

const relayingDenied = (addr: string): Refusal => ({ code: 550, status: '5.7.1', text: `<${addr}>: relaying denied` });

/** The reply for a routing failure (undefined when `d` is not one). */
function routeFailure(addr: string, d: RouteDecision, relay: boolean): Refusal | undefined {
  if (d.kind !== 'fail') return undefined;
  if (d.temporary) return { code: 451, status: d.status.startsWith('4') ? d.status : '4.3.0', text: `<${addr}>: ${d.reason}` };
  return badRecipient(addr, d) ?? (relay ? { code: 550, status: d.status, text: `<${addr}>: ${d.reason}` } : relayingDenied(addr));
}

/** An alias or list of ours, a mailbox, a file or a program. */
function deliveredHere(d: RouteDecision): boolean {
  if (d.kind === 'expand') return true;
  return d.kind === 'deliver' && (d.route.destination !== undefined || d.route.argv !== undefined || LOCAL_TRANSPORTS.has(d.route.transport));
}

/**
 * For a client outside relay_networks: every host the address names after our
 * own must be one we serve, the last as much as the first (`first` is the
 * router's decision for the whole address, i.e. for its first host). Hops naming
 * this host are skipped; each other host is judged once.
 */
async function wholeRouteServed(ctx: RelayContext, addr: string, first: RouteDecision): Promise<Refusal | undefined> {
  let steps: ParsedAddress[];
  try {
    steps = stripLocalHops(addr, ctx.site);
  } catch {
    return relayingDenied(addr);
  }
  const judged = new Set<string>();
  for (const [i, step] of steps.slice(0, -1).entries()) {
    const host = step.target.toLowerCase();
    if (judged.has(host) || isLocalHost(host, ctx.site)) continue;
    judged.add(host);
    if (ctx.cfg.rcpt_domains.length) {
      if (!inDomains(host, ctx.cfg.rcpt_domains)) return relayingDenied(addr);
      continue;
    }
    // What we would do with the mail if it came back to us addressed from this host on.
    const d = i === 0 ? first : await ctx.router.route({ addr: step.input, provenance: 'envelope' });
    const refusal = routeFailure(addr, d, false);
    if (refusal) return refusal;
    if (!deliveredHere(d) && !servedNeighbour(ctx, d)) return relayingDenied(addr);
  }
  return undefined;
}

/**
 * The refusal for a recipient the router says cannot exist (a permanent 5.1.1
 * unknown user, or 5.1.3 bad mailbox syntax such as a local part naming a path),
 * undefined for any other decision. Every SMTP path refuses such a recipient at
 * RCPT with this reply, whoever the client, so a live client and a batch's bounce say the same.
 */
export function badRecipient(addr: string, d: RouteDecision | undefined): Refusal | undefined {
  if (d?.kind !== 'fail' || d.temporary || !BAD_MAILBOX.has(d.status)) return undefined;
  return { code: 550, status: d.status, text: `<${addr}>: ${d.reason}` };
}

const BAD_MAILBOX = new Set(['5.1.1', '5.1.3']);

/** A UUCP neighbour or paths-database host, reached by a route of our own (not the smart host's). */
function servedNeighbour(ctx: RelayContext, d: RouteDecision): boolean {
  if (d.kind !== 'deliver' || d.route.router === 'smart_host') return false;
  return d.route.transport === 'uux' || d.route.transport === ctx.cfg.uucp_transport;
}

export function inDomains(host: string, domains: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (!h) return false;
  return domains.some((raw) => {
    const d = raw.toLowerCase();
    return d.startsWith('.') ? h.endsWith(d) : h === d;
  });
}
