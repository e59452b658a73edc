// Routing throughput: addresses per second through the whole router chain (local
// names, aliases, a 100,000-entry paths file, UUCP neighbours, LAN hosts, smart host).
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { makeSite, flags } from '../test/helpers/site.js';
import { loadGateway } from '../src/runtime/gateway.js';
import { openRouter } from '../src/runtime/routing.js';
import { seededRandom } from '../src/util/seeded-random.js';
import type { BenchResult, Row } from './table.js';

const N_PATHS = 100_000;

function pathsFile(): string {
  const lines: string[] = [];
  for (let i = 0; i < N_PATHS; i++) lines.push(`host${String(i).padStart(6, '0')}\thub!host${i}!%s`);
  for (let i = 0; i < 1000; i++) lines.push(`.dom${String(i).padStart(4, '0')}.example\thub!gw${i}!%s`);
  return lines.sort().join('\n') + '\n';
}

export async function run(): Promise<BenchResult> {
  const site = makeSite({
    conf: { smart_path: 'hub', auth_domains: 'example.org' },
    files: { paths: pathsFile(), aliases: 'team: alice, bob\n', hosts: 'mailhub.lan 127.0.0.1:2525\n' },
  });
  writeFileSync(path.join(site.uucp, 'sys'), 'system hub\nport tcp\nsystem dusk\nport tcp\n');
  const { router, close } = await openRouter(await loadGateway(flags(site)));
  const rnd = seededRandom(7);
  const kinds: Array<[string, () => string]> = [
    ['local user', () => 'alice'],
    ['alias', () => 'team'],
    ['paths host', () => `user@host${String(Math.floor(rnd() * N_PATHS)).padStart(6, '0')}`],
    ['paths domain', () => `user@x${Math.floor(rnd() * 999)}.dom${String(Math.floor(rnd() * 1000)).padStart(4, '0')}.example`],
    ['neighbour', () => 'dusk!bob'],
    ['LAN host', () => 'joe@mailhub.lan'],
    ['smart host', () => `someone@far${Math.floor(rnd() * 1e6)}.net`],
  ];
  const rows: Row[] = [];
  try {
    for (const [kind, make] of kinds) {
      const n = 5000;
      const addrs = Array.from({ length: n }, make);
      const t0 = performance.now();
      for (const addr of addrs) await router.route({ addr, provenance: 'envelope' });
      const s = (performance.now() - t0) / 1000;
      rows.push({ address: kind, routed: n, 'addresses/s': n / s, 'µs each': (s * 1e6) / n });
    }
  } finally {
    await close();
  }
  return { title: `Routing throughput (whole router chain, ${N_PATHS.toLocaleString()}-entry paths file)`, rows };
}
