// The remote routers: each looks at a target host and may offer a route. The
// chain keeps the offer that matched the most characters of the target (smail's
// rule): a full match ends the search, and on equal length the earlier router
// keeps it.

export interface RemoteMatch {
  router: string;
  /** Characters of the target the router's key covered (".bar.com" → 8). */
  length: number;
  full: boolean;
  transport: string;
  /** The neighbour or host to hand the message to. */
  nextHop: string;
  /** Hosts after nextHop up to and including the target (UUCP routes). */
  route: string[];
  why: string[];
  /** A partial match on a local (`%s`) paths entry: nothing else may take the address. */
  blocked?: boolean;
  /** A full match whose path is `%s`: the target names this host. */
  local?: boolean;
}

export interface RemoteRouter {
  readonly name: string;
  match(target: string): Promise<RemoteMatch | null>;
}

/** Picks the winning offer; stops at the first full match. */
export async function bestMatch(routers: RemoteRouter[], target: string): Promise<RemoteMatch | null> {
  let best: RemoteMatch | null = null;
  for (const r of routers) {
    const m = await r.match(target);
    if (!m) continue;
    if (m.blocked || m.local) return m;
    if (!best || m.length > best.length) best = m;
    if (m.full) break;
  }
  return best;
}
