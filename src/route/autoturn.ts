// AutoTURN destinations (serialmail's model, docs/bsmtp.md "AutoTURN"): mail for a
// dial-up SMTP client site is kept in a maildir until the site connects and the
// maildir is flushed to it (`uugate maildir2smtp`). `config/autoturn`:
//
//   # domain          maildir                     prefix
//   site.example      autoturn/site/              autoturn-site-
//   .site.example     autoturn/site/              autoturn-site-
//
// A leading dot covers a whole domain; relative maildirs are under the spool
// directory. The router offers transport `maildir-smtp` with the table key as
// next hop; the router (router.ts) puts the entry's maildir and prefix in every
// maildir-smtp route, and the transport (deliver/maildir-smtp.ts) writes there.
import path from 'node:path';
import { configError } from '../util/errors.js';
import { tableLines } from '../config/table-file.js';
import { readTrustedFile } from '../util/trusted-file.js';
import type { RemoteMatch, RemoteRouter } from './remote.js';

export interface AutoturnEntry {
  key: string; // lower-cased; ".dom" for a domain
  maildir: string; // absolute
  prefix: string;
  line: number;
}

export function parseAutoturn(text: string, file: string, spoolDir: string): AutoturnEntry[] {
  const out: AutoturnEntry[] = [];
  for (const { fields: parts, text: line, where, line: n } of tableLines(text, file)) {
    if (parts.length !== 3 || !/^\.?[\w.-]+$/.test(parts[0]) || /[\s\0-\x1f]/.test(parts[2]))
      throw configError(where, `expected "domain maildir prefix", got "${line}"`);
    out.push({ key: parts[0].toLowerCase(), maildir: path.resolve(spoolDir, parts[1]) + '/', prefix: parts[2], line: n });
  }
  return out;
}

export async function loadAutoturn(configDir: string, spoolDir: string): Promise<AutoturnEntry[] | undefined> {
  const file = path.join(configDir, 'autoturn');
  const text = await readTrustedFile(file);
  return text === undefined ? undefined : parseAutoturn(text, file, spoolDir);
}

/** The entry for `target`: an exact key, else the longest `.domain` suffix. */
export function findAutoturn(entries: AutoturnEntry[], target: string): AutoturnEntry | undefined {
  const t = target.toLowerCase().replace(/\.$/, '');
  let best: AutoturnEntry | undefined;
  for (const e of entries) {
    const hit = e.key === t || (e.key.startsWith('.') && t.endsWith(e.key));
    if (hit && (!best || e.key.length > best.key.length || (e.key === t && best.key !== t))) best = e;
  }
  return best;
}

export function autoturnRouter(entries: AutoturnEntry[], file: string): RemoteRouter {
  return {
    name: 'autoturn',
    async match(target): Promise<RemoteMatch | null> {
      const e = findAutoturn(entries, target);
      if (!e) return null;
      const full = e.key === target.toLowerCase();
      return {
        router: 'autoturn',
        length: full ? target.length : e.key.length,
        full,
        transport: 'maildir-smtp',
        nextHop: e.key,
        route: [],
        why: [`${file}:${e.line}: ${e.key} → maildir ${e.maildir} (Delivered-To prefix ${e.prefix})`],
      };
    },
  };
}

/** UUCP routes to a neighbour in `bsmtp_neighbors` use the bsmtp transport instead of uux. */
export function neighbourTransport<M extends { transport: string; nextHop: string }>(cfg: { uucp_transport: string; bsmtp_neighbors: string[] }, m: M): M {
  if (m.transport !== cfg.uucp_transport && m.transport !== 'uux') return m;
  const hop = m.nextHop.toLowerCase();
  return cfg.bsmtp_neighbors.some((n) => n.toLowerCase() === hop) ? { ...m, transport: 'bsmtp' } : m;
}
