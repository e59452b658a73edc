// Routers over small tables: the UUCP neighbours named in uucp/sys, and LAN hosts
// from config/hosts (`name host[:port]`, a leading dot covering a whole domain).
import { configError } from '../util/errors.js';
import { readTrustedFile } from '../util/trusted-file.js';
import { tableLines } from '../config/table-file.js';
import type { RemoteMatch, RemoteRouter } from './remote.js';

/** `load` runs on first use: local mail (rmail to a user) never parses uucp/sys. */
export function neighboursRouter(load: () => Promise<Iterable<string>>, transportFor: (sys: string) => string): RemoteRouter {
  let names: Promise<Map<string, string>> | undefined;
  return {
    name: 'uucp_neighbors',
    async match(target): Promise<RemoteMatch | null> {
      // A failed load (e.g. uucp/sys refused as unsafe) is not kept: the next message tries again.
      names ??= load().then(
        (list) => new Map([...list].map((n) => [n.toLowerCase(), n])),
        (err: unknown) => {
          names = undefined;
          throw err;
        },
      );
      const t = target.toLowerCase().replace(/\.uucp$/, '');
      const sys = (await names).get(t);
      if (!sys) return null;
      return { router: 'uucp_neighbors', length: target.length, full: true, transport: transportFor(sys), nextHop: sys, route: [], why: [`${sys} is a UUCP neighbour (uucp/sys)`] };
    },
  };
}

export interface HostEntry {
  key: string; // lower-cased; ".dom" for a domain
  host: string; // host or host:port
  line: number;
}

export function parseHosts(text: string, file: string): HostEntry[] {
  const out: HostEntry[] = [];
  for (const { fields: parts, text: line, where, line: n } of tableLines(text, file)) {
    if (parts.length !== 2 || !/^\.?[\w.-]+$/.test(parts[0]) || !/^[\w.-]+(:\d+)?$|^\[[\d.:a-fA-F]+\](:\d+)?$/.test(parts[1]))
      throw configError(where, `expected "name host[:port]", got "${line}"`);
    out.push({ key: parts[0].toLowerCase(), host: parts[1], line: n });
  }
  return out;
}

export async function loadHosts(file: string): Promise<HostEntry[]> {
  return parseHosts((await readTrustedFile(file)) ?? '', file);
}

/** LAN hosts reached by SMTP: exact names first, then the longest domain suffix. */
export function hostsRouter(entries: HostEntry[], file: string): RemoteRouter {
  return {
    name: 'hosts',
    async match(target): Promise<RemoteMatch | null> {
      const t = target.toLowerCase();
      let best: HostEntry | undefined;
      for (const e of entries) {
        const hit = e.key === t || (e.key.startsWith('.') && t.endsWith(e.key));
        if (hit && (!best || e.key.length > best.key.length)) best = e;
      }
      if (!best) return null;
      const full = best.key === t;
      return { router: 'hosts', length: full ? t.length : best.key.length, full, transport: 'smtp', nextHop: best.host, route: [], why: [`${file}:${best.line}: ${best.key} → ${best.host}`] };
    },
  };
}

/** DNS MX/A routing for SMTP (off unless enabled): any name with an MX or address record. */
export function dnsRouter(resolve: (name: string) => Promise<boolean>): RemoteRouter {
  return {
    name: 'dns',
    async match(target): Promise<RemoteMatch | null> {
      if (!target.includes('.') || !(await resolve(target))) return null;
      return { router: 'dns', length: target.length, full: true, transport: 'smtp', nextHop: target, route: [], why: [`${target} has MX or address records`] };
    },
  };
}
