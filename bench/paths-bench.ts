// Paths database bench: binary search on the file vs loading it into a Map.
//
// Generates a 1,000,000-name paths file (with domain-suffix entries) in a
// temporary directory, then measures:
//   - PathsDb.open time,
//   - sequential lookups (lookups/s, p50/p99 microseconds) and lookups with
//     16 in flight on one handle,
//   - RSS growth after the lookups compared with the same lookups on a
//     10-line file,
//   - the in-memory alternative: load time, memory, and the same lookups.
// Run directly: `node dist/bench/paths-bench.js`.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MemoryPaths, PathsDb, type PathMatch } from '../src/route/paths.js';

export type Row = Record<string, string | number>;

const NAMES = 1_000_000;
const LOOKUPS = 5_000;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(n: number, seed: number): { text: string; keys: string[]; domains: string[] } {
  const r = rng(seed);
  const A = 'abcdefghijklmnopqrstuvwxyz0123456789-';
  const word = (min: number, max: number): string => {
    let w = A[Math.floor(r() * 26)]!;
    const len = min + Math.floor(r() * (max - min + 1));
    while (w.length < len) w += A[Math.floor(r() * A.length)]!;
    return w;
  };
  const seen = new Set<string>();
  const lines: string[] = [];
  const keys: string[] = [];
  const domains: string[] = [];
  while (lines.length < n) {
    const x = r();
    let k: string;
    let p: string;
    if (x < 0.9) {
      k = word(3, 12);
      p = `${word(3, 7)}!${word(3, 7)}!${k}!%s`;
    } else if (x < 0.95) {
      k = `.${word(3, 10)}.${word(2, 3)}`;
      p = `${word(3, 7)}!%s`;
    } else {
      k = `${word(3, 10)}.${word(3, 8)}.com`;
      p = `${word(3, 7)}!%s`;
    }
    if (seen.has(k)) continue;
    seen.add(k);
    keys.push(k);
    if (k.startsWith('.')) domains.push(k);
    lines.push(`${k}\t${p}`);
  }
  // All keys are lower case, so the default (UTF-16) sort is the file order;
  // TAB sorts below every key character.
  lines.sort();
  // Mixed case does not change the folded order.
  for (let i = 0; i < lines.length; i += 7) lines[i] = lines[i]![0]!.toUpperCase() + lines[i]!.slice(1);
  return { text: `${lines.join('\n')}\n`, keys, domains };
}

function names(keys: string[], domains: string[], n: number, seed: number): string[] {
  const r = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const x = r();
    const k = keys[Math.floor(r() * keys.length)]!;
    if (x < 0.5) out.push(k.replace(/^\./, ''));
    else if (x < 0.65) out.push(`${k.replace(/^\./, '').toUpperCase()}.uucp`);
    else if (x < 0.85) out.push(`host${i}${domains[Math.floor(r() * domains.length)]!}`);
    else out.push(`absent${i}.example.org`);
  }
  return out;
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const r1 = (x: number): number => Math.round(x * 10) / 10;
const mb = (b: number): number => Math.round((b / 1048576) * 10) / 10;
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

async function timeLookups(db: { lookup(n: string): Promise<PathMatch | null> | PathMatch | null }, list: string[]) {
  const lat: number[] = [];
  let hits = 0;
  const t0 = process.hrtime.bigint();
  for (const n of list) {
    const a = process.hrtime.bigint();
    if (await db.lookup(n)) hits++;
    lat.push(Number(process.hrtime.bigint() - a) / 1000);
  }
  const total = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort((x, y) => x - y);
  return { perSec: Math.round(list.length / total), p50: r1(pct(lat, 0.5)), p99: r1(pct(lat, 0.99)), hits };
}

export async function run(): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), 'uugate-paths-bench-'));
  const rows: Row[] = [];
  try {
    const t0 = Date.now();
    const big = join(dir, 'paths.big');
    const small = join(dir, 'paths.small');
    let fileBytes = 0;
    let list: string[];
    {
      // scoped so the generator's garbage can go before memory is measured
      const { text, keys, domains } = generate(NAMES, 1);
      fileBytes = text.length;
      await writeFile(big, text);
      await writeFile(small, `${text.slice(0, 2000).split('\n').slice(0, 10).join('\n')}\n`);
      list = names(keys, domains, LOOKUPS, 2);
    }
    const genMs = Date.now() - t0;

    // open cost
    const opens = 200;
    let a = process.hrtime.bigint();
    for (let i = 0; i < opens; i++) await (await PathsDb.open(big)).close();
    const openUs = Number(process.hrtime.bigint() - a) / 1000 / opens;

    // 10-line file first (twice, to warm up): the memory baseline
    gc();
    for (let w = 0; w < 2; w++) {
      const warm = await PathsDb.open(small);
      await timeLookups(warm, list.slice(0, 500));
      await warm.close();
    }
    gc();
    const smallDb = await PathsDb.open(small);
    await timeLookups(smallDb, list);
    await smallDb.close();
    gc();
    const rssSmall = process.memoryUsage().rss;
    const heapSmall = process.memoryUsage().heapUsed;

    const db = await PathsDb.open(big);
    const seq = await timeLookups(db, list);
    const readsPer = r1(db.reads / list.length);
    a = process.hrtime.bigint();
    for (let i = 0; i < list.length; i += 16) await Promise.all(list.slice(i, i + 16).map((n) => db.lookup(n)));
    const concPerSec = Math.round(list.length / (Number(process.hrtime.bigint() - a) / 1e9));
    await db.close();
    gc();
    const rssBig = process.memoryUsage().rss;
    const heapBig = process.memoryUsage().heapUsed;

    rows.push({
      method: 'bsearch on file',
      names: NAMES,
      'file MB': mb(fileBytes),
      'open/load ms': Math.round(openUs) / 1000,
      'lookups/s': seq.perSec,
      'lookups/s x16': concPerSec,
      'p50 us': seq.p50,
      'p99 us': seq.p99,
      'reads/lookup': readsPer,
      'memory MB': `${mb(heapBig - heapSmall)} heap, ${mb(rssBig - rssSmall)} rss (vs 10 lines)`,
      hits: seq.hits,
    });

    // the alternative: load everything into a Map
    gc();
    const heap0 = process.memoryUsage().heapUsed;
    const rss0 = process.memoryUsage().rss;
    a = process.hrtime.bigint();
    const mem = MemoryPaths.fromText(await readFile(big, 'utf8'));
    const loadMs = Number(process.hrtime.bigint() - a) / 1e6;
    gc();
    const heap1 = process.memoryUsage().heapUsed;
    const rss1 = process.memoryUsage().rss;
    const m = await timeLookups(mem, list);
    rows.push({
      method: 'load into Map',
      names: mem.size,
      'file MB': mb(fileBytes),
      'open/load ms': r1(loadMs),
      'lookups/s': m.perSec,
      'lookups/s x16': '-',
      'p50 us': m.p50,
      'p99 us': m.p99,
      'reads/lookup': 0,
      'memory MB': `${mb(heap1 - heap0)} heap, ${mb(rss1 - rss0)} rss`,
      hits: m.hits,
    });
    rows.push({ method: `(generation ${genMs} ms, ${LOOKUPS} lookups, gc ${typeof (globalThis as { gc?: unknown }).gc === 'function' ? 'on' : 'off'})` });
    if (m.hits !== seq.hits) throw new Error(`bsearch found ${seq.hits}, Map found ${m.hits}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run().then(
    (rows) => console.table(rows),
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
