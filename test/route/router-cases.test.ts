// The address table (test/address/cases.json) run through the real router chain:
// a site with the table's host names, its paths file (sorted by `paths sort`),
// its qualify file, and no smart host. Every case with an expected hop must get
// the same next hop and rewritten address (or local delivery, or a failure).
import test from 'ava';
import path from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { makeSite, flags } from '../helpers/site.js';
import { loadGateway } from '../../src/runtime/gateway.js';
import { openRouter } from '../../src/runtime/routing.js';
import { sortPaths } from '../../src/route/paths.js';

interface Case {
  input: string;
  note?: string;
  site?: Record<string, unknown>;
  hop?: { via: string; neighbour?: string; address?: string; user?: string };
}

const file = fileURLToPath(new URL('../../../test/address/cases.json', import.meta.url));
const table = JSON.parse(readFileSync(file, 'utf8')) as {
  site: { hostnames: string[]; uucpName: string; visibleName: string };
  qualify: Array<[string, string]>;
  paths: Array<[string, string]>;
  cases: Case[];
};
const cases = table.cases.filter((c) => c.hop);
// Site options a case may set, as uugate.conf settings.
const CONF: Record<string, string> = { bangFirst: 'bang_first', percentOverBang: 'percent_over_bang', smtpRouteStyle: 'smtp_route_style', uucpDomain: 'uucp_domain' };

async function routerFor(overrides: Record<string, unknown> = {}) {
  const extra = Object.fromEntries(Object.entries(overrides).map(([k, v]) => [CONF[k], v as string | boolean]));
  const site = makeSite({
    conf: {
      hostnames: table.site.hostnames.join(':'),
      uucp_name: table.site.uucpName,
      visible_name: table.site.visibleName,
      local_delivery: 'mail/%s/',
      ...extra,
    },
    files: { qualify: table.qualify.map(([h, d]) => `${h} ${d}`).join('\n') + '\n', routers: 'paths\n' },
  });
  const unsorted = path.join(site.dir, 'paths.unsorted');
  writeFileSync(unsorted, table.paths.map(([k, p]) => `${k}\t${p}`).reverse().join('\n') + '\n');
  await sortPaths(unsorted, path.join(site.config, 'paths'));
  return openRouter(await loadGateway(flags(site)));
}

interface ChainCase {
  input: string;
  note?: string;
  expect: { kind: 'deliver' | 'fail'; router?: string; transport?: string; nextHop?: string; address?: string; status?: string };
}
const chainFile = fileURLToPath(new URL('../../../test/route/router-cases.json', import.meta.url));
const chain = JSON.parse(readFileSync(chainFile, 'utf8')) as {
  conf: Record<string, string>;
  paths: Array<[string, string]>;
  hosts: string;
  neighbours: string[];
  cases: ChainCase[];
};

test('the table cases number at least 40 in all', (t) => {
  t.true(cases.length + chain.cases.length >= 40);
});

test(`the whole router chain routes the leaf-site table (${chain.cases.length} cases)`, async (t) => {
  const site = makeSite({
    conf: chain.conf,
    files: { paths: chain.paths.map(([k, p]) => `${k}\t${p}`).join('\n') + '\n', hosts: chain.hosts },
  });
  writeFileSync(path.join(site.uucp, 'sys'), chain.neighbours.map((n) => `system ${n}\nport tcp\n`).join('\n'));
  const { router, close } = await openRouter(await loadGateway(flags(site)));
  try {
    for (const c of chain.cases) {
      const d = await router.route({ addr: c.input, provenance: 'envelope' });
      const label = `${c.input}${c.note ? ` (${c.note})` : ''}`;
      if (c.expect.kind === 'fail') {
        t.is(d.kind, 'fail', label);
        if (d.kind === 'fail') t.is<string | undefined, string | undefined>(d.status, c.expect.status, `${label}: ${d.reason}`);
        continue;
      }
      t.is(d.kind, 'deliver', `${label}: ${d.kind === 'fail' ? d.reason : d.kind}`);
      if (d.kind !== 'deliver') continue;
      for (const k of ['router', 'transport', 'nextHop', 'address'] as const) if (c.expect[k] !== undefined) t.is(d.route[k], c.expect[k], `${label}: ${k}`);
    }
  } finally {
    await close();
  }
});

test(`the router agrees with the address table (${cases.length} cases)`, async (t) => {
  for (const c of cases) {
    const { router, close } = await routerFor(c.site ?? {});
    try {
      const d = await router.route({ addr: c.input, provenance: 'envelope' });
      const label = `${c.input}${c.note ? ` (${c.note})` : ''}`;
      const hop = c.hop!;
      if (hop.via === 'uucp') {
        t.is(d.kind, 'deliver', label);
        if (d.kind === 'deliver') {
          t.is<string | undefined, string | undefined>(d.route.nextHop, hop.neighbour, `${label}: next hop`);
          t.is<string | undefined, string | undefined>(d.route.address, hop.address, `${label}: address`);
          t.is(d.route.transport, 'uux', label);
        }
      } else if (hop.via === 'local') {
        t.is(d.kind, 'deliver', label);
        if (d.kind === 'deliver') t.is(d.route.address.split('@')[0], hop.user!.toLowerCase(), `${label}: local user`);
      } else {
        t.is(d.kind, 'fail', label);
      }
    } finally {
      await close();
    }
  }
});
