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
import type { MailConfig } from '../config/mail-config.js';
import { stripLocalHops, type SiteNames } from '../address/rewrite.js';
import type { AddressRouter, RouteDecision } from '../route/types.js';
import type { NetList } from './cidr.js';
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
  const denied: Refusal = { code: 550, status: '5.7.1', text: `<${addr}>: relaying denied` };
  const d = await ctx.router.route({ addr, provenance: 'envelope' });
  if (d.kind === 'expand') return undefined; // an alias or list of ours
  if (d.kind === 'fail') {
    if (d.temporary) return { code: 451, status: d.status.startsWith('4') ? d.status : '4.3.0', text: `<${addr}>: ${d.reason}` };
    return badRecipient(addr, d) ?? (relay ? { code: 550, status: d.status, text: `<${addr}>: ${d.reason}` } : denied);
  }
  const route = d.route;
  if (route.destination !== undefined || route.argv !== undefined || LOCAL_TRANSPORTS.has(route.transport)) return undefined;
  if (relay) return undefined;
  return responsibleFor(ctx, addr, route.router, route.transport) ? undefined : denied;
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

function responsibleFor(ctx: RelayContext, addr: string, router: string, transport: string): boolean {
  if (ctx.cfg.rcpt_domains.length) {
    let host: string;
    try {
      host = stripLocalHops(addr, ctx.site)[0]?.target ?? '';
    } catch {
      return false;
    }
    return inDomains(host, ctx.cfg.rcpt_domains);
  }
  if (router === 'smart_host') return false;
  return transport === 'uux' || transport === ctx.cfg.uucp_transport;
}

export function inDomains(host: string, domains: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (!h) return false;
  return domains.some((raw) => {
    const d = raw.toLowerCase();
    return d.startsWith('.') ? h.endsWith(d) : h === d;
  });
}
