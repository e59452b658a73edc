// The paths database: pathalias output, searched in place.
//
// FILE FORMAT. One entry per line: `key<TAB>path`. The key ends at the first
// TAB, space or ':'; the path is the next field (anything after further white
// space, e.g. a pathalias cost, is ignored; '#' ends it). Paths contain `%s`
// where the user goes: `%s` (local), `host!%s` (one hop), `h1!h2!host!%s`.
// Domain gateways are keys with a leading dot: `.bar.com<TAB>gw!%s`.
// No comments or blank lines are expected (a blank line has the empty key and
// therefore may only appear first).
//
// ORDER. Keys are compared as UTF-8 bytes after folding ASCII 'A'-'Z' to
// 'a'-'z' (and nothing else); a key that is a prefix of another sorts first.
// This is smail's strcmpic() order. Note that `LC_ALL=C sort -f` folds to
// UPPER case and therefore orders keys containing any of [ \ ] ^ _ ` the
// other way ('_' sorts after letters here, before them under sort -f): use
// sortPaths(), or `LC_ALL=C sort -t'<TAB>' -k1,1` on lower-cased keys, and
// check with checkPaths(). Equal keys (ignoring case) may repeat; the first
// one found wins.
//
// LOOKUP (smail's pathalias router) for a target T:
//   1. A trailing '.' on T is moved to the front; a trailing `.domain`
//      (the configured pseudo-domain, default "uucp") is removed.
//   2. T itself (full match).
//   3. T with its leading dot removed, or with one added (full match). If
//      `.T` matched and its path ends in `!%s`, T is inserted: `gw!%s` ->
//      `gw!T!%s`.
//   4. The parent domains of T, keeping the leading dot: `.bar.com`, `.com`
//      (partial matches). The rest of the target is added to the route.
//      A partial match whose path is just `%s` does not count as a route;
//      it stops the search and is returned with `blocked: true` (we are
//      authoritative for that domain: the host is unknown, and a smarthost
//      must not take it).
//
// Lookups binary-search the file with synchronous positioned reads of a small
// buffer (seek to the middle, skip to the next line start, compare) and read
// the last few KiB in one go; the file is never loaded (see "The on-disk
// database" below for why the reads are synchronous and what is cached). Keys met during a search that are out of order throw a loud
// GatewayError (EX_CONFIG, temporary so mail is deferred) naming the byte
// offset and line number.

import {
  closeSync,
  createReadStream,
  createWriteStream,
  fstatSync,
  openSync,
  readSync,
  statSync,
  type Stats,
} from 'node:fs';
import { once } from 'node:events';
import { EX, GatewayError, fromSystemError } from '../util/errors.js';
import { assertTrustedSync } from '../util/trusted-file.js';

export interface PathMatch {
  /** The key as written in the file. */
  key: string;
  /** The path as written in the file (cleaned: cost and '#...' removed). */
  path: string;
  /** The path with the target inserted/appended where smail does so. */
  expandedPath: string;
  /** Characters of the target covered by the key (".bar.com" -> 8). */
  matchedLength: number;
  /** The whole target matched (allowing for a leading dot). */
  full: boolean;
  /** First '!' field of the expanded path; null if the path is `%s` (us). */
  nextHop: string | null;
  /** Hosts after nextHop, up to and including the target. */
  route: string[];
  /** A partial match on a `%s` path: not a route, and no smarthost either. */
  blocked: boolean;
  /** Byte offset of the entry's line in the file (-1 for in-memory tables). */
  offset: number;
}

export interface LookupOptions {
  /** Pseudo-domain stripped from the target first. Default 'uucp'; '' = none. */
  domain?: string;
}

// ---------------------------------------------------------------------------
// Key order

const foldByte = (b: number): number => (b >= 0x41 && b <= 0x5a ? b + 0x20 : b);

/** Compares two keys (bytes) in paths-file order. */
export function compareKeyBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = foldByte(a[i]!) - foldByte(b[i]!);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Compares two keys (strings) in paths-file order. */
export function compareKeys(a: string, b: string): number {
  return compareKeyBytes(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The key and path of one line (without its newline). */
export function parsePathsLine(line: string): { key: string; path: string | null } {
  const m = /^([^\t :]*)(?:[\t :]+([^\t #]*))?/.exec(line)!;
  const key = m[1]!;
  const path = m[2] ? m[2] : null;
  return { key, path };
}

/** Key length in bytes of a raw line buffer slice. */
function keyEnd(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = buf[i]!;
    if (c === 0x09 || c === 0x20 || c === 0x3a || c === 0x0d) break;
    i++;
  }
  return i;
}

// ---------------------------------------------------------------------------
// Lookup order and match building (shared with the in-memory table)

export interface Candidate {
  key: string;
  /** 'exact' = T, 'dot' = T with its leading dot toggled, 'parent' = a parent domain. */
  kind: 'exact' | 'dot' | 'parent';
}

/** The normalised target: trailing dot moved to the front, pseudo-domain removed. */
export function normaliseTarget(name: string, opts: LookupOptions = {}): string {
  let t = name.trim();
  if (t.length > 1 && t.endsWith('.')) t = `.${t.slice(0, -1)}`;
  const dom = opts.domain ?? 'uucp';
  if (dom) {
    const suf = `.${dom}`.toLowerCase();
    if (t.length > suf.length && t.toLowerCase().endsWith(suf)) t = t.slice(0, -suf.length);
  }
  return t;
}

/** smail's lookup order for a target (after normaliseTarget). */
export function lookupCandidates(target: string): Candidate[] {
  if (target === '' || target === '.') return [];
  const out: Candidate[] = [{ key: target, kind: 'exact' }];
  out.push({ key: target.startsWith('.') ? target.slice(1) : `.${target}`, kind: 'dot' });
  const bare = target.startsWith('.') ? target.slice(1) : target;
  let i = bare.indexOf('.');
  while (i >= 0 && i < bare.length - 1) {
    out.push({ key: bare.slice(i), kind: 'parent' });
    i = bare.indexOf('.', i + 1);
  }
  return out;
}

/** Builds a PathMatch for a found candidate. */
export function buildMatch(target: string, cand: Candidate, key: string, path: string, offset: number): PathMatch {
  const bare = target.startsWith('.') ? target.slice(1) : target;
  let expanded = path;
  let full = true;
  let matchedLength = target.length;
  if (cand.kind === 'dot' && key.startsWith('.') && path.endsWith('!%s')) {
    expanded = `${path.slice(0, -2)}${bare}!%s`;
  } else if (cand.kind === 'parent') {
    full = false;
    matchedLength = key.length;
    // A partial match on a gateway: the whole target goes after the route.
    if (path !== '%s' && path.endsWith('!%s')) expanded = `${path.slice(0, -2)}${bare}!%s`;
  }
  const blocked = cand.kind === 'parent' && path === '%s';
  let nextHop: string | null = null;
  let route: string[] = [];
  if (expanded !== '%s') {
    const hops = expanded.split('!');
    const last = hops.pop();
    if (last !== '%s' || hops.length === 0) {
      // Not a plain bang path (e.g. `a!%s@b`): first field is the hop, the
      // rest is kept as one opaque route element.
      const i = expanded.indexOf('!');
      nextHop = i > 0 ? expanded.slice(0, i) : expanded;
      route = i > 0 ? [expanded.slice(i + 1)] : [];
    } else {
      nextHop = hops[0]!;
      route = hops.slice(1);
    }
  }
  return { key, path, expandedPath: expanded, matchedLength, full, nextHop, route, blocked, offset };
}

function cleanPath(raw: string | null): string | null {
  if (raw === null) return null;
  const p = raw.trim();
  return p === '' ? null : p;
}

// ---------------------------------------------------------------------------
// The on-disk database
//
// SYNCHRONOUS READS. A lookup is a few binary searches, each a handful of
// small positioned reads from a file that, after first use, is in the page
// cache. pread(2) from the page cache costs ~1-2 µs; the same read through
// libuv's thread pool (fs.promises) costs ~5-10 µs of queueing, thread hops
// and event-loop turns, and that round trip, not the I/O, made up most of a
// lookup (~45 async reads, ~290 µs). So the search uses fs.readSync: it blocks
// the event loop for ~15 µs per lookup on a 1M-name file (~2 µs per key on
// a small one).
// lookup() keeps its async signature (it returns a settled promise);
// lookupSync() is the same search for synchronous callers. Because a search
// never yields, concurrent lookups cannot interleave and one read buffer per
// database is enough.
//
// FEWER READS. (1) Once the bytes left to search are at most `window` (16
// KiB) they are read in one go and the binary search goes on in that buffer.
// (2) The top `probeLevels` (8) levels of the search probe the same offsets
// for every key, so the lines found there are cached, lazily: at most 2^8-1 =
// 255 entries of two offsets and a key each (tens of KB; open stays one open
// and one fstat). A key then costs max(1, log2(bytes / 16 KiB) - 8 + 1)
// reads: 4 instead of 12 on a 26 MB (1M-name) file.
//
// FILE CHANGES. smail reopens the paths file for every use, so a rebuilt
// file applies to the next message. We keep the descriptor and instead
// stat(2) the path once per lookup (~1-2 µs): if the name now refers to a
// different file (replaced by rename, the usual way: write a temporary file,
// sort, mv) it is reopened; if the same file changed size, mtime or ctime
// (rewritten in place) its new size is taken. Either way the probe cache is
// dropped. If the path cannot be stat'ed or reopened (e.g. briefly missing),
// the file already open keeps being used. The file is trusted only when root
// or the gateway user alone may write it (util/trusted-file.ts): checked at
// open, and again (with its directory) whenever its ctime or identity changes,
// which any rewrite, replacement or chmod does; an unsafe file throws, so mail
// waits in the queue.

/** First read of a probe: enough for the partial line skipped and the next one. */
const CHUNK = 512;
const DEFAULT_WINDOW = 16384;
const DEFAULT_PROBE_LEVELS = 8;
const MAX_PROBE_LEVELS = 12;

export interface PathsDbOptions extends LookupOptions {
  /** Levels of the binary search whose probed lines are cached (0 = none; default 8, at most 12). */
  probeLevels?: number;
  /** Byte ranges this small are read whole and searched in memory (default 16384; min 64). */
  window?: number;
}

function orderError(file: string, offset: number, line: number | null, detail: string): GatewayError {
  const where = line !== null ? `${file}:${line}` : `${file}@${offset}`;
  return new GatewayError(`paths file is not sorted (${detail}, byte offset ${offset}); run checkPaths/sortPaths`, {
    exitCode: EX.CONFIG,
    temporary: true,
    status: '4.3.5',
    where,
  });
}

/** compareKeyBytes(a, b.subarray(bs, be)) without making the subarray. */
function compareKeyRange(a: Uint8Array, b: Uint8Array, bs: number, be: number): number {
  const bl = be - bs;
  const n = Math.min(a.length, bl);
  for (let i = 0; i < n; i++) {
    const d = foldByte(a[i]!) - foldByte(b[bs + i]!);
    if (d !== 0) return d;
  }
  return a.length - bl;
}

/** A line met by a probe. */
interface Probe {
  start: number;
  /** Offset after the line's newline (or EOF). */
  next: number;
  /** The key's bytes (a copy: the read buffer is reused). */
  key: Buffer;
}

interface Found {
  start: number;
  /** The line's text, or null if it came from the probe cache (read again). */
  line: string | null;
}

export class PathsDb {
  readonly file: string;
  private fd: number | null;
  private _size = 0;
  private dev = 0;
  private ino = 0;
  private mtimeMs = 0;
  private ctimeMs = 0;
  private readonly opts: LookupOptions;
  private readonly window: number;
  private readonly probeLevels: number;
  /** mid offset -> first line starting at or after it (null: none). */
  private readonly probes = new Map<number, Probe | null>();
  private readonly maxProbes: number;
  /** Shared read buffer (searches are synchronous, so never used by two at once). */
  private buf: Buffer;
  /** Where lineFrom() left the text of the line it returned, in `buf`. */
  private textStart = 0;
  private textEnd = 0;
  /** Number of positioned reads done so far (for tests and benches). */
  reads = 0;

  private constructor(file: string, fd: number, st: Stats, opts: PathsDbOptions) {
    this.file = file;
    this.fd = fd;
    this.setStat(st);
    this.opts = { domain: opts.domain };
    this.window = Math.max(64, Math.floor(opts.window ?? DEFAULT_WINDOW));
    this.probeLevels = Math.max(0, Math.min(MAX_PROBE_LEVELS, Math.floor(opts.probeLevels ?? DEFAULT_PROBE_LEVELS)));
    this.maxProbes = 2 ** this.probeLevels - 1;
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK, this.window));
  }

  /** Current size of the file searched. */
  get size(): number {
    return this._size;
  }

  /** Lines cached from the top levels of the search (for tests and benches). */
  get cachedProbes(): number {
    return this.probes.size;
  }

  /** Opens the file (one open + one fstat; nothing is read). */
  static async open(file: string, opts: PathsDbOptions = {}): Promise<PathsDb> {
    return PathsDb.openSync(file, opts);
  }

  static openSync(file: string, opts: PathsDbOptions = {}): PathsDb {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (err) {
      throw fromSystemError(err, `paths file ${file}`);
    }
    try {
      const st = fstatSync(fd);
      assertTrustedSync(file, st);
      return new PathsDb(file, fd, st, opts);
    } catch (err) {
      try {
        closeSync(fd);
      } catch {
        /* already failing */
      }
      throw fromSystemError(err, `paths file ${file}`);
    }
  }

  async close(): Promise<void> {
    const fd = this.fd;
    this.fd = null;
    this.probes.clear();
    if (fd !== null) {
      try {
        closeSync(fd);
      } catch (err) {
        throw fromSystemError(err, `closing paths file ${this.file}`);
      }
    }
  }

  private handle(): number {
    if (this.fd === null) throw new GatewayError('paths database is closed', { where: this.file });
    return this.fd;
  }

  private setStat(st: Stats): void {
    this._size = st.size;
    this.dev = st.dev;
    this.ino = st.ino;
    this.mtimeMs = st.mtimeMs;
    this.ctimeMs = st.ctimeMs;
  }

  /** Picks up a replaced or rewritten file (see FILE CHANGES above). */
  private refresh(): void {
    const fd = this.handle();
    let st: Stats | undefined;
    try {
      st = statSync(this.file, { throwIfNoEntry: false });
    } catch {
      return;
    }
    if (!st) return;
    if (st.ino === this.ino && st.dev === this.dev && st.ctimeMs !== this.ctimeMs) assertTrustedSync(this.file, st);
    if (st.ino !== this.ino || st.dev !== this.dev) {
      let nfd: number;
      let nst: Stats;
      try {
        nfd = openSync(this.file, 'r');
      } catch {
        return;
      }
      try {
        nst = fstatSync(nfd);
        assertTrustedSync(this.file, nst);
      } catch (err) {
        closeSync(nfd);
        if (err instanceof GatewayError) throw err;
        return;
      }
      try {
        closeSync(fd);
      } catch {
        /* the old descriptor is gone either way */
      }
      this.fd = nfd;
      this.setStat(nst);
      this.probes.clear();
    } else if (st.size !== this._size || st.mtimeMs !== this.mtimeMs || st.ctimeMs !== this.ctimeMs) {
      this.setStat(st);
      this.probes.clear();
    }
  }

  /** One pread into this.buf; returns the bytes read. */
  private readAt(pos: number, len: number): number {
    if (len > this.buf.length) this.buf = Buffer.allocUnsafe(Math.max(len, this.buf.length * 2));
    const fd = this.handle();
    this.reads++;
    try {
      return readSync(fd, this.buf, 0, len, pos);
    } catch (err) {
      throw fromSystemError(err, `reading paths file ${this.file}`);
    }
  }

  /**
   * The first line that starts at or after `from` (0, or any offset: a line
   * starts at 0 and after each '\n'). Null if none. Leaves the line's text at
   * this.buf[textStart, textEnd) until the next read.
   */
  private lineFrom(from: number): Probe | null {
    const size = this._size;
    let pos = from === 0 ? 0 : from - 1;
    let skipping = from !== 0;
    let start = from;
    let len = CHUNK;
    for (;;) {
      if (pos >= size) return null;
      const n = this.readAt(pos, Math.min(len, size - pos));
      if (n === 0) return null;
      const b = this.buf.subarray(0, n);
      let i = 0;
      if (skipping) {
        const nl = b.indexOf(0x0a);
        if (nl < 0) {
          pos += n;
          continue;
        }
        start = pos + nl + 1;
        if (start >= size) return null;
        skipping = false;
        i = nl + 1;
      }
      const nl = b.indexOf(0x0a, i);
      if (nl >= 0 || pos + n >= size) {
        const end = nl >= 0 ? nl : n;
        let lineEnd = end;
        if (lineEnd > i && b[lineEnd - 1] === 0x0d) lineEnd--;
        this.textStart = i;
        this.textEnd = lineEnd;
        return { start, next: pos + (nl >= 0 ? nl + 1 : n), key: Buffer.from(b.subarray(i, keyEnd(b, i, end))) };
      }
      // Line longer than the buffer: read again from its start, bigger.
      pos = start;
      len *= 2;
    }
  }

  /** Counts newlines before offset (only used to report errors; not counted in `reads`). */
  private lineNumberAt(offset: number): number | null {
    try {
      const fd = this.handle();
      let n = 1;
      const chunk = Buffer.allocUnsafe(1 << 16);
      let pos = 0;
      while (pos < offset) {
        const bytesRead = readSync(fd, chunk, 0, Math.min(chunk.length, offset - pos), pos);
        if (bytesRead === 0) break;
        for (let i = 0; i < bytesRead; i++) if (chunk[i] === 0x0a) n++;
        pos += bytesRead;
      }
      return n;
    } catch {
      return null;
    }
  }

  private outOfOrder(at: number, detail: string): GatewayError {
    return orderError(this.file, at, this.lineNumberAt(at), detail);
  }

  /**
   * Binary search for one key: the first line (ignoring case) with that key,
   * or null. Throws on out-of-order keys met on the way.
   */
  private search(want: Buffer): Found | null {
    // Lines starting in [lo, hi) are left to search; [lo, end) is whole lines
    // (no line starts in [hi, end)), so it can be read and scanned at once.
    let lo = 0;
    let hi = this._size;
    let end = hi;
    let loKey: Uint8Array | null = null;
    let loAt = -1;
    let hiKey: Uint8Array | null = null;
    let hiAt = -1;
    let found: Found | null = null;
    let depth = 0;
    while (lo < hi && end - lo > this.window) {
      const mid = lo + Math.floor((hi - lo) / 2);
      let ln: Probe | null | undefined;
      let fresh = true;
      if (depth++ < this.probeLevels) {
        ln = this.probes.get(mid);
        if (ln === undefined) {
          ln = this.lineFrom(mid);
          if (this.probes.size < this.maxProbes) this.probes.set(mid, ln);
        } else fresh = false;
      } else ln = this.lineFrom(mid);
      if (!ln || ln.start >= hi) {
        hi = mid;
        continue;
      }
      if (loKey && compareKeyBytes(loKey, ln.key) > 0)
        throw this.outOfOrder(
          ln.start,
          `key ${JSON.stringify(ln.key.toString())} follows ${JSON.stringify(Buffer.from(loKey).toString())} at offset ${loAt}`,
        );
      if (hiKey && compareKeyBytes(ln.key, hiKey) > 0)
        throw this.outOfOrder(
          ln.start,
          `key ${JSON.stringify(ln.key.toString())} precedes ${JSON.stringify(Buffer.from(hiKey).toString())} at offset ${hiAt}`,
        );
      const c = compareKeyBytes(want, ln.key);
      if (c > 0) {
        lo = ln.next;
        loKey = ln.key;
        loAt = ln.start;
      } else {
        // Equal keys: keep searching left for the first one.
        if (c === 0) found = { start: ln.start, line: fresh ? this.buf.toString('utf8', this.textStart, this.textEnd) : null };
        hi = end = ln.start;
        hiKey = ln.key;
        hiAt = ln.start;
      }
    }
    if (lo < hi) {
      // Small enough: one read, then the same search in memory.
      const base = lo;
      const n = this.readAt(base, end - base);
      const b = this.buf;
      if (base + n < end) hi = Math.min(hi, (end = base + n)); // the file shrank under us
      while (lo < hi) {
        const mid = lo + Math.floor((hi - lo) / 2);
        // first line start at or after mid (lo is one)
        let s = mid - base;
        if (s > 0) {
          let j = s - 1;
          while (j < n && b[j] !== 0x0a) j++;
          s = j + 1;
        }
        const start = base + s;
        if (s >= n || start >= hi) {
          hi = mid;
          continue;
        }
        let k = s;
        for (let c = b[k]; k < n && c !== 0x09 && c !== 0x20 && c !== 0x3a && c !== 0x0d && c !== 0x0a; c = b[++k]);
        let e = k;
        while (e < n && b[e] !== 0x0a) e++;
        if (loKey && compareKeyRange(loKey, b, s, k) > 0)
          throw this.outOfOrder(
            start,
            `key ${JSON.stringify(b.toString('utf8', s, k))} follows ${JSON.stringify(Buffer.from(loKey).toString())} at offset ${loAt}`,
          );
        if (hiKey && compareKeyRange(hiKey, b, s, k) < 0)
          throw this.outOfOrder(
            start,
            `key ${JSON.stringify(b.toString('utf8', s, k))} precedes ${JSON.stringify(Buffer.from(hiKey).toString())} at offset ${hiAt}`,
          );
        const c = compareKeyRange(want, b, s, k);
        if (c > 0) {
          lo = base + (e < n ? e + 1 : n);
          loKey = b.subarray(s, k);
          loAt = start;
        } else {
          if (c === 0) found = { start, line: b.toString('utf8', s, e > s && b[e - 1] === 0x0d ? e - 1 : e) };
          hi = start;
          hiKey = b.subarray(s, k);
          hiAt = start;
        }
      }
    }
    if (found && found.line === null) {
      // Found at a cached probe: read its text now.
      const ln = this.lineFrom(found.start);
      found.line = ln ? this.buf.toString('utf8', this.textStart, this.textEnd) : '';
    }
    return found;
  }

  private findKeyNow(key: string): { key: string; path: string | null; offset: number } | null {
    const found = this.search(Buffer.from(key, 'utf8'));
    if (!found) return null;
    const { key: k, path } = parsePathsLine(found.line!);
    return { key: k, path: cleanPath(path), offset: found.start };
  }

  /**
   * Binary search for one key. Returns the first line (ignoring case) with
   * that key, or null. Throws on out-of-order keys met on the way.
   */
  findKeySync(key: string): { key: string; path: string | null; offset: number } | null {
    this.refresh();
    return this.findKeyNow(key);
  }

  async findKey(key: string): Promise<{ key: string; path: string | null; offset: number } | null> {
    return this.findKeySync(key);
  }

  /** smail's lookup (see the header comment). Null if nothing matched. */
  lookupSync(name: string): PathMatch | null {
    this.refresh();
    const target = normaliseTarget(name, this.opts);
    for (const cand of lookupCandidates(target)) {
      const hit = this.findKeyNow(cand.key);
      if (!hit || hit.path === null) continue;
      return buildMatch(target, cand, hit.key, hit.path, hit.offset);
    }
    return null;
  }

  /** The same as lookupSync(), as a settled promise (errors reject it). */
  async lookup(name: string): Promise<PathMatch | null> {
    return this.lookupSync(name);
  }
}

// ---------------------------------------------------------------------------
// In-memory table (tests, routeByPaths, and the bench's comparison)

export class MemoryPaths {
  private readonly map = new Map<string, { key: string; path: string; offset: number }>();
  private readonly opts: LookupOptions;

  constructor(entries: Iterable<readonly [string, string]> = [], opts: LookupOptions = {}) {
    this.opts = opts;
    let i = 0;
    for (const [k, p] of entries) this.add(k, p, i++);
  }

  add(key: string, path: string, offset = -1): void {
    const lk = foldKey(key);
    if (!this.map.has(lk)) this.map.set(lk, { key, path, offset });
  }

  get size(): number {
    return this.map.size;
  }

  /** Loads a whole paths file (what the on-disk search avoids). */
  static fromText(text: string, opts: LookupOptions = {}): MemoryPaths {
    const m = new MemoryPaths([], opts);
    let pos = 0;
    while (pos < text.length) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) nl = text.length;
      const { key, path } = parsePathsLine(text.slice(pos, nl).replace(/\r$/, ''));
      const p = cleanPath(path);
      if (p !== null) m.add(key, p, pos);
      pos = nl + 1;
    }
    return m;
  }

  findKey(key: string): { key: string; path: string; offset: number } | null {
    return this.map.get(foldKey(key)) ?? null;
  }

  lookup(name: string): PathMatch | null {
    const target = normaliseTarget(name, this.opts);
    for (const cand of lookupCandidates(target)) {
      const hit = this.findKey(cand.key);
      if (hit) return buildMatch(target, cand, hit.key, hit.path, hit.offset);
    }
    return null;
  }
}

/** ASCII-only lower-casing, the fold used for keys. */
export function foldKey(key: string): string {
  return key.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

// ---------------------------------------------------------------------------
// Checking and sorting

export interface PathsProblem {
  line: number;
  offset: number;
  message: string;
}

/**
 * Reads the file once, streaming, and reports the first line out of order
 * (or without a path). Null when the file is sorted and well formed.
 */
export async function checkPaths(file: string): Promise<PathsProblem | null> {
  let prev: Buffer | null = null;
  let lineNo = 0;
  let offset = 0;
  let carry = Buffer.alloc(0);
  const checkLine = (raw: Buffer, at: number): PathsProblem | null => {
    lineNo++;
    let end = raw.length;
    if (end > 0 && raw[end - 1] === 0x0d) end--;
    const ke = keyEnd(raw, 0, end);
    const key = raw.subarray(0, ke);
    const { path } = parsePathsLine(raw.toString('utf8', 0, end));
    if (cleanPath(path) === null)
      return { line: lineNo, offset: at, message: `no path for key ${JSON.stringify(key.toString())}` };
    if (prev && compareKeyBytes(prev, key) > 0)
      return {
        line: lineNo,
        offset: at,
        message: `key ${JSON.stringify(key.toString())} is out of order after ${JSON.stringify(prev.toString())}`,
      };
    prev = Buffer.from(key);
    return null;
  };
  try {
    const stream = createReadStream(file, { highWaterMark: 1 << 16 });
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      let pos = 0;
      for (;;) {
        const nl = data.indexOf(0x0a, pos);
        if (nl < 0) break;
        const p = checkLine(data.subarray(pos, nl), offset);
        if (p) {
          stream.destroy();
          return p;
        }
        offset += nl + 1 - pos;
        pos = nl + 1;
      }
      carry = Buffer.from(data.subarray(pos));
    }
    if (carry.length) return checkLine(carry, offset);
    return null;
  } catch (err) {
    throw fromSystemError(err, `paths file ${file}`);
  }
}

/**
 * Sorts a paths file into lookup order (in memory; this is an admin tool, not
 * the lookup path). Lines without a path are kept; CRLF becomes LF; the
 * relative order of equal keys is kept (the first stays the winner).
 */
export async function sortPaths(input: string, output: string): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  let text: Buffer;
  try {
    text = await readFile(input);
  } catch (err) {
    throw fromSystemError(err, `paths file ${input}`);
  }
  const lines: Array<{ key: Buffer; line: Buffer; i: number }> = [];
  let pos = 0;
  while (pos < text.length) {
    let nl = text.indexOf(0x0a, pos);
    if (nl < 0) nl = text.length;
    let end = nl;
    if (end > pos && text[end - 1] === 0x0d) end--;
    if (end > pos) {
      const line = text.subarray(pos, end);
      lines.push({ key: line.subarray(0, keyEnd(line, 0, line.length)), line, i: lines.length });
    }
    pos = nl + 1;
  }
  lines.sort((a, b) => compareKeyBytes(a.key, b.key) || a.i - b.i);
  const out = createWriteStream(output);
  try {
    for (const l of lines) {
      if (!out.write(l.line)) await once(out, 'drain');
      if (!out.write('\n')) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
  } catch (err) {
    out.destroy();
    throw fromSystemError(err, `writing ${output}`);
  }
  return lines.length;
}
