// `npm run bench [name...]`: runs the benchmarks and prints one table each.
import { formatTable, type BenchResult } from './table.js';

const BENCHES: Record<string, () => Promise<{ run(): Promise<BenchResult | BenchResult[]> }>> = {
  inject: () => import('./inject-bench.js'),
  memory: () => import('./memory-bench.js'),
  queue: () => import('./queue-bench.js'),
  paths: () => import('./paths-bench.js'),
  route: () => import('./route-bench.js'),
  uux: () => import('./uux-bench.js'),
  uucp: () => import('./uucp-bench.js'),
  'uucp-mail': () => import('./uucp-mail-bench.js'),
  bsmtp: () => import('./bsmtp-bench.js'),
  smtp: () => import('./smtp-bench.js'),
  noisy: () => import('./noisy-bench.js'),
  stats: () => import('./stats-bench.js'),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : Object.keys(BENCHES);
process.stdout.write(`# uugate benchmarks — Node ${process.version}, ${new Date().toISOString()}\n\n`);
for (const name of names) {
  const load = BENCHES[name];
  if (!load) throw new Error(`unknown benchmark ${name}; have ${Object.keys(BENCHES).join(', ')}`);
  const out = await (await load()).run();
  for (const r of Array.isArray(out) ? out : [out]) process.stdout.write(formatTable(r) + '\n');
}
