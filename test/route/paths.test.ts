import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayError } from '../../src/util/errors.js';
import { seededRandom } from '../../src/util/seeded-random.js';
import {
  buildMatch,
  checkPaths,
  compareKeys,
  foldKey,
  lookupCandidates,
  MemoryPaths,
  normaliseTarget,
  PathsDb,
  sortPaths,
  type PathMatch,
} from '../../src/route/paths.js';

let dir = '';
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'uugate-paths-'));
});
test.after.always(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const rng = seededRandom;
const ALPHA = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';

function makeEntries(n: number, seed: number): Array<[string, string]> {
  const r = rng(seed);
  const pick = (s: string) => s[Math.floor(r() * s.length)]!;
  const word = (min: number, max: number) => {
    let w = pick('abcdefghijklmnopqrstuvwxyz');
    const len = min + Math.floor(r() * (max - min + 1));
    while (w.length < len) w += pick(ALPHA);
    return w;
  };
  const seen = new Set<string>();
  const out: Array<[string, string]> = [];
  const add = (k: string, p: string) => {
    const f = foldKey(k);
    if (seen.has(f)) return;
    seen.add(f);
    out.push([k, p]);
  };
  const fixed: Array<[string, string]> = [
    ['.bar.com', 'ernie!bert!%s'],
    ['.com', 'smart!%s'],
    ['.x.y.org', 'gw1!gw2!%s'],
    ['.local.net', '%s'],
    ['grover.bar.com', 'ernie!grover!grover.bar.com!%s'],
    ['Ernie', 'ernie!%s'],
    ['ernie2', 'ernie!ernie2!%s'],
    ['a_b', 'x!a_b!%s'],
    ['aab', 'x!aab!%s'],
  ];
  for (const [k, p] of fixed) add(k, p);
  while (out.length < n) {
    const x = r();
    if (x < 0.7) {
      const w = word(1, 12);
      add(w, `${word(2, 6)}!${w}!%s`);
    } else if (x < 0.8) {
      // names that are prefixes of others
      const w = word(2, 8);
      add(w, `hub!${w}!%s`);
      add(`${w}${pick('abc-.')}${word(1, 3)}`, `hub!x!%s`);
    } else if (x < 0.9) {
      add(`.${word(2, 8)}.${pick('ab')}${word(1, 3)}`, `${word(2, 5)}!%s`);
    } else {
      add(`${word(2, 8)}.${word(2, 6)}.com`, `${word(2, 5)}!%s`);
    }
  }
  return out.slice(0, n);
}

async function writeEntries(name: string, entries: Array<[string, string]>): Promise<string> {
  const f = join(dir, name);
  await writeFile(f, entries.map(([k, p]) => `${k}\t${p}\n`).join(''));
  return f;
}

/** The reference: smail's lookup order over a linear scan of the entries in file order. */
function linear(entries: Array<[string, string]>) {
  const folded = entries.map(([k]) => foldKey(k));
  return (name: string): PathMatch | null => {
    const target = normaliseTarget(name);
    for (const cand of lookupCandidates(target)) {
      const i = folded.indexOf(foldKey(cand.key));
      if (i >= 0) return buildMatch(target, cand, entries[i]![0], entries[i]![1], -1);
    }
    return null;
  };
}

const strip = (m: PathMatch | null) => (m ? { ...m, offset: 0 } : null);

test('100,000-entry sorted file: bsearch agrees with a linear scan', async (t) => {
  const entries = makeEntries(100_000, 42);
  const raw = await writeEntries('big.unsorted', entries);
  const sorted = join(dir, 'big.sorted');
  t.is(await sortPaths(raw, sorted), entries.length);
  t.is(await checkPaths(sorted), null);
  t.truthy(await checkPaths(raw));

  const inFile = [...entries].sort((a, b) => compareKeys(a[0], b[0]));
  const ref = linear(inFile);
  const db = await PathsDb.open(sorted);
  t.is(db.reads, 0, 'open does no reads');
  const r = rng(7);
  const names: string[] = [
    inFile[0]![0],
    inFile[inFile.length - 1]![0],
    inFile[1]![0],
    inFile[inFile.length - 2]![0],
    '',
    '!',
    '0',
    'zzzzzzzzzzzzzzzz',
    'ernie',
    'ERNIE',
    'ernie.uucp',
    'ernie.',
    'ernie2',
    'ernie3',
    'grover.bar.com',
    'bar.com',
    '.bar.com',
    'deep.foo.bar.com',
    'FOO.BAR.COM',
    'a.x.y.org',
    'x.y.org',
    'host.local.net',
    'nothing.org',
    'a_b',
    'A_B',
    'aab',
  ];
  for (let i = 0; i < 1500; i++) {
    const e = inFile[Math.floor(r() * inFile.length)]![0];
    const x = r();
    if (x < 0.3) names.push(e);
    else if (x < 0.45) names.push(e.toUpperCase());
    else if (x < 0.6) names.push(`${e.replace(/^\./, '')}.uucp`);
    else if (x < 0.75) names.push(e.startsWith('.') ? `host${i}${e}` : `${e}${i % 3 === 0 ? '-' : ''}x`);
    else if (x < 0.9) names.push(e.slice(0, Math.max(1, e.length - 1)));
    else names.push(`absent-${i}.example.${i % 2 ? 'com' : 'org'}`);
  }
  let hits = 0;
  let partial = 0;
  let misses = 0;
  for (const n of names) {
    const want = ref(n);
    const got = await db.lookup(n);
    if (want) hits++;
    else misses++;
    if (want && !want.full) partial++;
    if (JSON.stringify(strip(got)) !== JSON.stringify(strip(want)))
      t.deepEqual(strip(got), strip(want), `lookup ${JSON.stringify(n)}`);
  }
  t.true(hits > 500 && partial > 50 && misses > 50, `hits ${hits}, partial ${partial}, misses ${misses}`);

  // concurrent lookups on one handle
  const some = names.slice(0, 300);
  const conc = await Promise.all(some.map((n) => db.lookup(n)));
  t.deepEqual(conc.map(strip), some.map((n) => strip(ref(n))));
  t.true(db.reads / (names.length + some.length) < 200, `${db.reads} reads`);

  await db.close();
  await t.throwsAsync(() => db.lookup('x'), { instanceOf: GatewayError });
});

test('lookup order and match fields', async (t) => {
  const f = join(dir, 'small');
  const lines = [
    ['.bar.com', 'ernie!bert!%s'],
    ['.com', 'smart!%s'],
    ['.mine.org', '%s'],
    ['bert', 'ernie!bert!%s'],
    ['Ernie', 'ernie!%s'],
    ['gw', '%s'],
  ];
  const text = lines.map(([k, p]) => `${k}\t${p}`).join('\n'); // no final newline
  await writeFile(f, text);
  t.is(await checkPaths(f), null);
  const db = await PathsDb.open(f);
  t.like(await db.lookup('foo.bar.com'), {
    key: '.bar.com',
    full: false,
    matchedLength: 8,
    nextHop: 'ernie',
    route: ['bert', 'foo.bar.com'],
    expandedPath: 'ernie!bert!foo.bar.com!%s',
    blocked: false,
  });
  t.like(await db.lookup('bar.com'), { key: '.bar.com', full: true, route: ['bert', 'bar.com'] });
  t.like(await db.lookup('ernie'), { key: 'Ernie', full: true, nextHop: 'ernie', route: [] });
  t.like(await db.lookup('Bert.UUCP'), { key: 'bert', nextHop: 'ernie', route: ['bert'] });
  t.like(await db.lookup('gw'), { key: 'gw', nextHop: null, full: true, blocked: false });
  t.like(await db.lookup('gw'), { offset: text.indexOf('gw\t') });
  t.like(await db.lookup('x.mine.org'), { key: '.mine.org', blocked: true, full: false, nextHop: null });
  t.like(await db.lookup('a.b.c.com'), { key: '.com', matchedLength: 4, route: ['a.b.c.com'] });
  t.is(await db.lookup('nope.org'), null);
  t.is(await db.lookup(''), null);
  await db.close();
  const other = await PathsDb.open(f, { domain: 'bitnet' });
  t.is(await other.lookup('bert.uucp'), null);
  t.like(await other.lookup('bert.bitnet'), { key: 'bert' });
  await other.close();
});

test('long lines, CRLF, costs, comments and duplicate keys (first wins)', async (t) => {
  const f = join(dir, 'long');
  const long = `${'h'.repeat(2000)}!%s`;
  const body = ['aaa\tx!%s', `bbb\t${long}`, 'BBB\tsecond!%s', 'ccc\tc!%s  1200', 'ddd\td!%s#comment'].join('\r\n') + '\r\n';
  await writeFile(f, body);
  t.is(await checkPaths(f), null);
  const db = await PathsDb.open(f);
  t.is((await db.lookup('bbb'))?.path, long);
  t.is((await db.lookup('ccc'))?.path, 'c!%s');
  t.is((await db.lookup('ddd'))?.path, 'd!%s');
  t.is((await db.lookup('aaa'))?.nextHop, 'x');
  await db.close();
});

test('key order: ASCII fold to lower case, prefixes first; sort -f order is flagged', async (t) => {
  t.true(compareKeys('a_b', 'aab') < 0, "'_' sorts before letters");
  t.true(compareKeys('abc', 'abc.d') < 0);
  t.is(compareKeys('abc', 'ABC'), 0);
  t.true(compareKeys('.com', 'a') < 0);
  const f = join(dir, 'upperfold');
  await writeFile(f, 'aab\tx!%s\na_b\ty!%s\n'); // what `LC_ALL=C sort -f` produces
  t.like(await checkPaths(f), { line: 2 });
  const s = join(dir, 'upperfold.sorted');
  await sortPaths(f, s);
  t.is(await checkPaths(s), null);
});

test('unsorted files are detected by checkPaths and by lookup', async (t) => {
  const entries = makeEntries(5000, 3).sort((a, b) => compareKeys(a[0], b[0]));
  // one misplaced line
  const moved = [...entries];
  const [x] = moved.splice(100, 1);
  moved.splice(4000, 0, x!);
  const f1 = await writeEntries('misplaced', moved);
  const p1 = await checkPaths(f1);
  t.truthy(p1);
  t.true(p1!.line === 4001 || p1!.line === 4002, `line ${p1?.line}`);
  t.regex(p1!.message, /out of order/);

  // reversed: a lookup that probes twice must notice
  const rev = [...entries].reverse();
  const f2 = await writeEntries('reversed', rev);
  t.like(await checkPaths(f2), { line: 2, offset: rev[0]![0].length + rev[0]![1].length + 2 });
  const db = await PathsDb.open(f2);
  const err = await t.throwsAsync(() => db.lookup(entries[10]![0]), { instanceOf: GatewayError });
  t.regex(err!.message, /not sorted/);
  t.regex(err!.where ?? '', /reversed:\d+$/);
  t.true(err!.temporary);
  await db.close();

  const f3 = join(dir, 'nopath');
  await writeFile(f3, 'a\tx!%s\nb\nc\ty!%s\n');
  t.like(await checkPaths(f3), { line: 2 });
});

test('open reports a missing file as a GatewayError', async (t) => {
  await t.throwsAsync(() => PathsDb.open(join(dir, 'does-not-exist')), { instanceOf: GatewayError });
});

test('MemoryPaths gives the same answers as the file', async (t) => {
  const entries = makeEntries(2000, 9).sort((a, b) => compareKeys(a[0], b[0]));
  const f = await writeEntries('mem', entries);
  const db = await PathsDb.open(f);
  const mem = new MemoryPaths(entries);
  for (const [k] of entries.slice(0, 300)) {
    t.deepEqual(strip(await db.lookup(`${k}.uucp`)), strip(mem.lookup(`${k}.uucp`)));
    t.deepEqual(strip(await db.lookup(`q.${k}`)), strip(mem.lookup(`q.${k}`)));
  }
  await db.close();
});

// ---------------------------------------------------------------------------
// Reads per lookup, the read window, the probe cache, file changes

/** A sorted file of n short lines, cheap to make (keys are zero-padded numbers). */
async function numbered(name: string, n: number): Promise<{ file: string; key: (i: number) => string }> {
  const key = (i: number) => `h${String(i * 2).padStart(8, '0')}`;
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`${key(i)}\tgw!${key(i)}!%s\n`);
  const file = join(dir, name);
  await writeFile(file, parts.join(''));
  return { file, key };
}

test('reads per key are few and grow with log2(file size)', async (t) => {
  const sizes = [10_000, 100_000, 1_000_000];
  const uncached: number[] = [];
  for (const n of sizes) {
    const { file, key } = await numbered(`num${n}`, n);
    const r = rng(n);
    const picks = Array.from({ length: 300 }, () => Math.floor(r() * n));
    const plain = await PathsDb.open(file, { probeLevels: 0 });
    const db = await PathsDb.open(file);
    t.is(db.reads + plain.reads, 0, 'open does no reads');
    for (const i of picks) {
      t.is(plain.findKeySync(key(i))?.path, `gw!${key(i)}!%s`);
      t.is(plain.findKeySync(`h${String(i * 2 + 1).padStart(8, '0')}`), null); // between two keys
    }
    const perKey = plain.reads / (2 * picks.length);
    // probes down to the 16 KiB window, then one read
    const bound = Math.ceil(Math.log2(plain.size / 16384)) + 2;
    t.true(perKey <= bound, `${n}: ${perKey} reads per key, bound ${bound}`);
    uncached.push(perKey);

    // with the default probe cache (top 8 levels): a few reads at most
    for (const i of picks.slice(0, 50)) db.findKeySync(key(i)); // fills the cache
    db.reads = 0;
    for (const i of picks) t.truthy(await db.lookup(key(i)));
    const perLookup = db.reads / picks.length;
    t.true(perLookup <= Math.max(1, bound - 8 + 1), `${n}: ${perLookup} reads per lookup with the cache`);
    t.true(db.cachedProbes <= 255, `${db.cachedProbes} probes cached`);
    t.log(`${n} names, ${plain.size} bytes: ${perKey.toFixed(1)} reads/key uncached, ${perLookup.toFixed(1)} reads/lookup cached (${db.cachedProbes} probes cached)`);
    await plain.close();
    await db.close();
  }
  // ×10 names is +log2(10) ≈ 3.3 reads, not ×10
  for (let i = 1; i < uncached.length; i++) {
    const d = uncached[i]! - uncached[i - 1]!;
    t.true(d >= 2 && d <= 5, `${sizes[i - 1]} -> ${sizes[i]}: +${d.toFixed(2)} reads per key`);
  }
});

test('tiny read window, no cache, and everything in one read give the same answers', async (t) => {
  const entries = makeEntries(20_000, 11).sort((a, b) => compareKeys(a[0], b[0]));
  // a run of duplicate keys straddling many probes: the first one wins
  const at = entries.findIndex(([k]) => compareKeys(k, 'mDup') > 0);
  const dups: Array<[string, string]> = Array.from({ length: 3000 }, (_, i) => ['mDup', i === 0 ? 'first!%s' : `later${i}!%s`]);
  entries.splice(at, 0, ...dups);
  const f = await writeEntries('variants', entries);
  t.is(await checkPaths(f), null);
  const ref = linear(entries);
  const dbs = await Promise.all([
    PathsDb.open(f, { window: 64, probeLevels: 0 }),
    PathsDb.open(f, { window: 64, probeLevels: 4 }),
    PathsDb.open(f, { window: 1 << 22 }),
    PathsDb.open(f),
  ]);
  const r = rng(5);
  const names = ['mdup', 'MDUP', 'mdup.uucp', 'x.mdup', ''];
  for (let i = 0; i < 600; i++) {
    const e = entries[Math.floor(r() * entries.length)]![0];
    names.push(r() < 0.5 ? e : `q${i}.${e.replace(/^\./, '')}`, e.slice(0, -1));
  }
  for (const db of dbs) {
    for (const n of names) {
      const want = strip(ref(n));
      const got = strip(db.lookupSync(n));
      if (JSON.stringify(got) !== JSON.stringify(want)) t.deepEqual(got, want, `lookup ${JSON.stringify(n)}`);
    }
    t.is(db.lookupSync('mdup')?.path, 'first!%s');
  }
  t.is(dbs[2]!.cachedProbes, 0, 'a 4 MiB window never probes');
  t.true(dbs[1]!.cachedProbes <= 15);
  for (const db of dbs) await db.close();
});

test('long lines and CRLF across probes with a tiny window', async (t) => {
  const f = join(dir, 'long-tiny');
  const long = `${'h'.repeat(3000)}!%s`;
  const keys = Array.from({ length: 200 }, (_, i) => `k${String(i).padStart(4, '0')}`);
  const body = keys.map((k, i) => `${k}\t${i % 17 === 0 ? long : `${k}!%s`}${i % 5 === 0 ? '  300' : ''}`).join('\r\n') + '\r\n';
  await writeFile(f, body);
  t.is(await checkPaths(f), null);
  for (const opts of [{ window: 64, probeLevels: 0 }, { window: 64, probeLevels: 3 }, {}]) {
    const db = await PathsDb.open(f, opts);
    for (const [i, k] of keys.entries()) {
      const m = db.lookupSync(k.toUpperCase());
      t.is(m?.path, i % 17 === 0 ? long : `${k}!%s`, `${k} ${JSON.stringify(opts)}`);
      t.is(m?.offset, body.indexOf(`${k}\t`));
    }
    t.is(db.lookupSync('k0000x'), null);
    t.is(db.lookupSync('k'), null);
    await db.close();
  }
});

test('out-of-order keys fail loudly on disk probes and in the in-memory window', async (t) => {
  const entries = makeEntries(5000, 3).sort((a, b) => compareKeys(a[0], b[0]));
  const rev = [...entries].reverse();
  const f = await writeEntries('reversed2', rev);
  for (const opts of [{ window: 64, probeLevels: 0 }, { window: 1 << 22 }, {}]) {
    const db = await PathsDb.open(f, opts);
    const err = t.throws(() => db.lookupSync(entries[10]![0]), { instanceOf: GatewayError });
    t.regex(err!.message, /not sorted .*byte offset \d+/);
    t.regex(err!.where ?? '', /reversed2:\d+$/);
    t.true(err!.temporary);
    await t.throwsAsync(() => db.lookup(entries[4000]![0]), { instanceOf: GatewayError });
    await db.close();
  }
  // one swapped pair inside a small (single-read) file
  const f2 = join(dir, 'swapped');
  await writeFile(f2, 'a\tx!%s\nb\tx!%s\nd\tx!%s\nc\tx!%s\ne\tx!%s\nf\tx!%s\n');
  const db = await PathsDb.open(f2);
  const err = t.throws(() => db.lookupSync('c'), { instanceOf: GatewayError });
  t.regex(err!.where ?? '', /swapped:[34]$/);
  await db.close();
});

test('a replaced or rewritten file is picked up by the next lookup', async (t) => {
  const { file, key } = await numbered('changing', 50_000);
  const db = await PathsDb.open(file);
  t.is(db.lookupSync(key(10))?.nextHop, 'gw');
  t.true(db.cachedProbes > 0);
  // replaced by rename (the usual way)
  const tmp = `${file}.new`;
  const replaced = `${key(10)}\tnew!%s\n${key(20)}\tnew!%s\n`;
  await writeFile(tmp, replaced);
  const { rename, unlink } = await import('node:fs/promises');
  await rename(tmp, file);
  t.is(db.lookupSync(key(10))?.nextHop, 'new');
  t.is(db.lookupSync(key(11)), null);
  t.is(db.size, replaced.length);
  // rewritten in place (same inode, new size)
  await writeFile(file, `${key(10)}\tthird!%s\n`);
  t.is((await db.lookup(key(10)))?.nextHop, 'third');
  t.is(db.lookupSync(key(20)), null);
  // removed: the open file keeps answering
  await unlink(file);
  t.is(db.lookupSync(key(10))?.nextHop, 'third');
  await db.close();
  t.throws(() => db.lookupSync(key(10)), { instanceOf: GatewayError });
});
