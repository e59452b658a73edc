// A small pure router over the pieces (parse + paths lookup + rewrite), used by
// the address table test and reusable as a reference for the real router:
//   1. hops naming this host are stripped (`us!a!b!user` -> `a!b!user`);
//   2. a local address is delivered locally;
//   3. otherwise the first target is looked up in the paths table (smail's
//      order, see route/paths.ts); a `%s` path means "this is us": the
//      remainder is routed again;
//   4. a UUCP route gives the neighbour and the bang path relative to it.
// No smarthost, no SMTP transport choice: those belong to the real router.

import { MemoryPaths, type PathMatch } from '../../src/route/paths.js';
import type { ParsedAddress } from '../../src/address/parse.js';
import { rewriteForUucp, stripLocalHops, type SiteNames } from '../../src/address/rewrite.js';

export interface PathsLookup {
  lookup(name: string): PathMatch | null;
}

export interface RouteSite extends SiteNames {
  /** Pseudo-domain stripped before paths lookups (default: uucpDomain ?? 'uucp'). */
  pathsDomain?: string;
}

export type HopDecision =
  | { via: 'local'; user: string; parsed: ParsedAddress }
  | { via: 'uucp'; neighbour: string; address: string; match: PathMatch; parsed: ParsedAddress }
  | { via: 'none'; reason: string; parsed: ParsedAddress; match?: PathMatch };

/** Routes one address by a paths table (entries or a lookup object). Throws AddressError on bad syntax. */
export function routeByPaths(
  addr: string,
  paths: PathsLookup | Iterable<readonly [string, string]>,
  site: RouteSite,
): HopDecision {
  const db: PathsLookup =
    'lookup' in (paths as object)
      ? (paths as PathsLookup)
      : new MemoryPaths(paths as Iterable<readonly [string, string]>, { domain: site.pathsDomain ?? site.uucpDomain ?? 'uucp' });
  let cur = addr;
  for (let guard = 0; guard < 64; guard++) {
    const steps = stripLocalHops(cur, site);
    const first = steps[0]!;
    if (first.kind === 'local') return { via: 'local', user: first.remainder, parsed: first };
    const match = db.lookup(first.target);
    if (!match) return { via: 'none', reason: `unknown host ${first.target}`, parsed: first };
    if (match.blocked)
      return { via: 'none', reason: `unknown host ${first.target} in local domain ${match.key}`, parsed: first, match };
    if (match.nextHop === null) {
      cur = first.remainder;
      continue;
    }
    const hop = rewriteForUucp(first, match, site.parse);
    return { via: 'uucp', neighbour: hop.neighbour, address: hop.address, match, parsed: first };
  }
  return { via: 'none', reason: 'too many local hops', parsed: stripLocalHops(addr, site)[0]! };
}
