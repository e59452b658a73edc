// Rewriting addresses when mail crosses from one world to the other.
//
// Recipients:
//   - To a UUCP neighbour: a bang path relative to that neighbour. The paths
//     database gives next hop + route; the remainder is appended as a bang path.
//     `user@foo.bar.com` via `ernie!bert!foo.bar.com!%s` becomes
//     `bert!foo.bar.com!user`, handed to `ernie`.
//   - To SMTP: the domain form. `host!user` -> `user@host` (the host qualified,
//     see qualifyHost). For a multi-hop bang path the default style is
//     'bang-local': `a!b!user` -> `b!user@a`, i.e. the route stays in the local
//     part and the first hop is asked to interpret it (RFC 1123 5.2.16 shows
//     exactly this; RFC 5321 says receivers SHOULD ignore source routes, so a
//     source route would silently skip the UUCP hops). smail's behaviour,
//     `@a:user@b` (source route), is available as style 'source-route'.
//   - '%' is kept where it is found and never generated. An address is rebuilt
//     as a pure bang path only when it mixes '@' (or '!' and '%') and a route
//     has to be put in front of it.
//
// Senders (envelope):
//   - to UUCP: `uucp_name!` + the sender as a bang path (`user@dom` ->
//     `us!dom!user`, local `user` -> `us!user`).
//   - to SMTP: local users get `@visible_name`; bang paths get `@visible_name`
//     appended (`a!b!user@gw.example`); domain addresses keep their form with
//     unqualified hosts qualified.
//   - The null sender (`<>` or '') stays null ('').
//
// Leading hops naming this host (`us!a!user`, `user@us`) are stripped first.

import { AddressError } from './errors.js';
import {
  decompose,
  formatBang,
  formatSourceRoute,
  isNullAddress,
  type ParseOptions,
  type ParsedAddress,
} from './parse.js';

export interface SiteNames {
  /** Names that mean this host (compared ignoring case). The first is primary. */
  hostnames: readonly string[];
  /** Our UUCP name: "remote from" and the first element of bang senders. */
  uucpName: string;
  /** Domain for generated and qualified addresses, e.g. "gw.example.org". */
  visibleName: string;
  /**
   * Pseudo-domain for unqualified UUCP names when writing domain forms
   * (`host!user` -> `user@host.uucp`). Default 'uucp'; '' disables it.
   */
  uucpDomain?: string;
  /** The qualify file (qualify.ts): returns the qualified name or null. */
  qualify?: (host: string) => string | null;
  /** How a multi-hop bang path is written for SMTP. Default 'bang-local'. */
  smtpRouteStyle?: 'bang-local' | 'source-route';
  parse?: ParseOptions;
}

const lc = (s: string): string => s.toLowerCase();

/** True if host names this host (any hostname, the uucp name, name.uucpDomain). */
export function isLocalHost(host: string, site: SiteNames): boolean {
  let h = lc(host);
  if (h.endsWith('.')) h = h.slice(0, -1);
  const dom = site.uucpDomain ?? 'uucp';
  if (dom && h.endsWith(`.${lc(dom)}`)) {
    const base = h.slice(0, -(dom.length + 1));
    if (lc(site.uucpName) === base) return true;
  }
  return lc(site.uucpName) === h || lc(site.visibleName) === h || site.hostnames.some((n) => lc(n) === h);
}

/**
 * Qualifies a host name with no dot: the qualify file first, then
 * `.uucpDomain`. Dotted names and domain literals are returned unchanged.
 */
export function qualifyHost(host: string, site: SiteNames): string {
  if (host.includes('.') || host.startsWith('[')) return host;
  const q = site.qualify?.(host);
  if (q) return q;
  const dom = site.uucpDomain ?? 'uucp';
  return dom ? `${host}.${dom}` : host;
}

/** Removes leading hops that name this host; returns the decomposition left. */
export function stripLocalHops(addr: string, site: SiteNames): ParsedAddress[] {
  const steps = decompose(addr, site.parse);
  let i = 0;
  while (i < steps.length - 1 && isLocalHost(steps[i]!.target, site)) i++;
  return steps.slice(i);
}

/**
 * An address as a bang path, leaving it alone when it already is one (or is
 * local, or uses only '%'): `u@h` -> `h!u`, `@a:u@b` -> `a!b!u`,
 * `a!u%h` (mixed) -> `a!h!u`, `u%h` -> `u%h`.
 */
export function toBangPath(addr: string, opts: ParseOptions = {}): string {
  return bangOfSteps(decompose(addr, opts));
}

function bangOfSteps(steps: ParsedAddress[]): string {
  const kinds = new Set(steps.slice(0, -1).map((s) => s.kind));
  const first = steps[0]!;
  if (!kinds.has('domain') && !kinds.has('route') && !(kinds.has('bang') && kinds.has('percent'))) return first.input;
  const user = steps[steps.length - 1]!.remainder;
  return formatBang(
    steps.slice(0, -1).map((s) => s.target),
    user,
  );
}

/** What the paths database says about the target (see route/paths.ts PathMatch). */
export interface HopRoute {
  /** The neighbour to hand the message to; null means the target is us. */
  nextHop: string | null;
  /** Hosts after nextHop up to and including the target. */
  route: readonly string[];
}

export interface UucpHop {
  neighbour: string;
  /** The recipient as given to `uux neighbour!rmail (address)`. */
  address: string;
}

/**
 * Rewrites a parsed recipient for a UUCP neighbour: route + remainder as a
 * bang path relative to the neighbour.
 */
export function rewriteForUucp(parsed: ParsedAddress, hop: HopRoute, opts: ParseOptions = {}): UucpHop {
  if (!hop.nextHop) throw new AddressError('target is local, no UUCP hop', parsed.input);
  const rest = toBangPath(parsed.remainder, opts);
  return { neighbour: hop.nextHop, address: formatBang(hop.route, rest) };
}

function domainFromSteps(steps: ParsedAddress[], site: SiteNames): string {
  const first = steps[0]!;
  const user = steps[steps.length - 1]!.remainder;
  switch (first.kind) {
    case 'local':
      return `${first.remainder}@${site.visibleName}`;
    case 'domain':
      return `${first.remainder}@${qualifyHost(first.target, site)}`;
    case 'percent':
      // We are the final '@' host, so we may interpret the '%'.
      return `${first.remainder}@${qualifyHost(first.target, site)}`;
    case 'route':
      return formatSourceRoute(
        steps.slice(0, -1).map((s) => qualifyHost(s.target, site)),
        user,
      );
    case 'bang':
      if ((site.smtpRouteStyle ?? 'bang-local') === 'bang-local' || steps.length === 2)
        return `${first.remainder}@${qualifyHost(first.target, site)}`;
      return formatSourceRoute(
        steps.slice(0, -1).map((s) => qualifyHost(s.target, site)),
        user,
      );
  }
}

/** A recipient in domain form for SMTP (see the header comment). */
export function toSmtpRecipient(addr: string, site: SiteNames): string {
  return domainFromSteps(stripLocalHops(addr, site), site);
}

/** Envelope sender for a UUCP hop: `uucp_name!path`. Null stays ''. */
export function senderToUucp(sender: string, site: SiteNames): string {
  if (isNullAddress(sender)) return '';
  const steps = stripLocalHops(sender, site);
  return `${site.uucpName}!${bangOfSteps(steps)}`;
}

/** Envelope sender for SMTP: domain form, bang paths under visible_name. */
export function senderToSmtp(sender: string, site: SiteNames): string {
  if (isNullAddress(sender)) return '';
  return domainViewForHeaders(stripLocalHops(sender, site), site);
}

/** Domain-style view used for senders and headers: bang paths stay relative to us. */
function domainViewForHeaders(steps: ParsedAddress[], site: SiteNames): string {
  const first = steps[0]!;
  switch (first.kind) {
    case 'local':
      return `${first.remainder}@${site.visibleName}`;
    case 'bang':
    case 'percent':
      return `${first.input}@${site.visibleName}`;
    case 'domain':
      return `${first.remainder}@${qualifyHost(first.target, site)}`;
    case 'route':
      return formatSourceRoute(
        steps.slice(0, -1).map((s) => qualifyHost(s.target, site)),
        steps[steps.length - 1]!.remainder,
      );
  }
}

export type HeaderStyle = 'domain' | 'bang';

/**
 * One header address rewritten: 'domain' style qualifies it for the Internet
 * (as senderToSmtp), 'bang' style makes it a bang path relative to this host
 * (as senderToUucp). Throws AddressError on bad syntax.
 */
export function rewriteHeaderAddress(addr: string, site: SiteNames, style: HeaderStyle): string {
  if (style === 'bang') return senderToUucp(addr, site);
  return senderToSmtp(addr, site);
}
