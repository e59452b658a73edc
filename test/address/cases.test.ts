// Table-driven address test: parse, route list, paths hop, SMTP form and
// sender rewriting for every case in cases.json (kept as JSON so the real
// router's tests can reuse it).
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AddressError } from '../../src/address/errors.js';
import { parseAddress, routeList, type ParseOptions } from '../../src/address/parse.js';
import { senderToSmtp, senderToUucp, toSmtpRecipient, type SiteNames } from '../../src/address/rewrite.js';
import { routeByPaths, type RouteSite } from '../helpers/hop.js';
import { MemoryPaths } from '../../src/route/paths.js';
import { Qualifier } from '../../src/route/qualify.js';

interface Case {
  input: string;
  note?: string;
  site?: Partial<SiteNames> & ParseOptions;
  parse?: 'ERROR' | { kind: string; target: string; remainder: string };
  route?: { hosts: string[]; user: string };
  hop?: { via: string; neighbour?: string; address?: string; user?: string; key?: string; full?: boolean; matchedLength?: number };
  smtp?: string;
  senderUucp?: string;
  senderSmtp?: string;
}
interface Table {
  site: SiteNames;
  qualify: Array<[string, string]>;
  paths: Array<[string, string]>;
  cases: Case[];
}

const file = fileURLToPath(new URL('../../../test/address/cases.json', import.meta.url));
const table = JSON.parse(readFileSync(file, 'utf8')) as Table;
const qualifier = new Qualifier(table.qualify.map(([host, domain], i) => ({ host, domain, line: i + 1 })));

function siteFor(c: Case): RouteSite {
  const { bangFirst, percentOverBang, ...rest } = c.site ?? {};
  const parse: ParseOptions = {};
  if (bangFirst !== undefined) parse.bangFirst = bangFirst;
  if (percentOverBang !== undefined) parse.percentOverBang = percentOverBang;
  return { ...table.site, ...rest, parse, qualify: (h) => qualifier.qualify(h) };
}

/** Returns the value or the string "ERROR" for an AddressError; rethrows anything else. */
function attempt<T>(f: () => T): T | 'ERROR' {
  try {
    return f();
  } catch (err) {
    if (err instanceof AddressError) return 'ERROR';
    throw err;
  }
}

test('the table has at least 40 cases', (t) => {
  t.true(table.cases.length >= 40);
});

table.cases.forEach((c, i) => {
  const title = `#${i + 1} ${JSON.stringify(c.input)}${c.site ? ` ${JSON.stringify(c.site)}` : ''}${c.note ? ` (${c.note})` : ''}`;
  test(title, (t) => {
    const site = siteFor(c);
    const paths = new MemoryPaths(table.paths, { domain: site.uucpDomain || 'uucp' });
    if (c.parse !== undefined) {
      const got = attempt(() => {
        const p = parseAddress(c.input, site.parse);
        return { kind: p.kind, target: p.target, remainder: p.remainder };
      });
      t.deepEqual(got, c.parse, 'parse');
    }
    if (c.route) {
      const r = routeList(c.input, site.parse);
      t.deepEqual({ hosts: r.hosts, user: r.user }, c.route, 'route list');
    }
    if (c.hop) {
      const h = routeByPaths(c.input, paths, site);
      const got: Record<string, unknown> = { via: h.via };
      if (h.via === 'uucp') Object.assign(got, { neighbour: h.neighbour, address: h.address });
      if (h.via === 'local') got.user = h.user;
      const m = h.via === 'local' ? undefined : h.match;
      if ('key' in c.hop) got.key = m?.key;
      if ('full' in c.hop) got.full = m?.full;
      if ('matchedLength' in c.hop) got.matchedLength = m?.matchedLength;
      t.deepEqual(got, c.hop, 'hop');
    }
    if (c.smtp !== undefined) t.is(attempt(() => toSmtpRecipient(c.input, site)), c.smtp, 'smtp');
    if (c.senderUucp !== undefined) t.is(attempt(() => senderToUucp(c.input, site)), c.senderUucp, 'sender to uucp');
    if (c.senderSmtp !== undefined) t.is(attempt(() => senderToSmtp(c.input, site)), c.senderSmtp, 'sender to smtp');
  });
});
