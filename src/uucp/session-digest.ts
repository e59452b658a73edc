// End-to-end file integrity between two uugate sites (FEATURE.DIGEST, agreed
// in the handshake with `-Yuugate`; never used with other peers).
//
// g's 16-bit checksum misses some damage (about 1 in 90 single-bit errors
// among its blind spots, and any corruption outside the packet layer), so
// after a file's end-of-file packet its sender (of an S or E, or of the file
// an R asked for) sends one more command:
//
//   Zsha256 <64 hex> 0x<size> 0x<chunk> <c0>,<c1>,…
//
// the SHA-256 of the whole file (0..size), then the chunk size and, for each
// chunk of the file in turn, the first 16 hex digits of its SHA-256. The
// receiver hashes what it holds on disk (a restarted prefix too) and answers
// CY, or CN5 on a mismatch. The chunk digests say where the damage is. A
// receiver that can restart (an S or E with a spool temp name) keeps its
// file: when it holds the whole length, the sender's next try is asked for
// the first damaged chunk only (`SY 0x<offset> 0x<length>`, a reply only a
// uugate sender gets), written in place; when it holds less (the call broke
// off), it is cut back to the last good chunk and restarted there as usual
// (`SY 0x<offset>`). The sender tries again until DIGEST_TRIES tries in a
// row start no further on: on a line where g's checksum lets a few bad
// packets through per file, a try repairs one chunk instead of resending
// the rest of the file. Without restart (an R: the protocol has no
// offset for it) the file is dropped and asked for again
// from byte 0, DIGEST_TRIES times. Chunks are 16 KiB, doubled while a file
// would have more than 256 (so the command stays under ~4.4 KB).
import { createHash } from 'node:crypto';
import { createReadStream, type promises as fsp } from 'node:fs';

export const DIGEST_COMMAND = 'Zsha256';
/** Tries in a row without progress (no further restart offset) before a file whose digest fails is left for the next call. */
export const DIGEST_TRIES = 3;

const MIN_CHUNK = 16 * 1024;
const MAX_CHUNKS = 256;
/** Hex digits of each chunk's SHA-256 sent: 64 bits, plenty against line damage. */
const CHUNK_HEX = 16;

export interface FileDigest {
  hex: string;
  size: number;
  chunk: number;
  /** Truncated SHA-256 of each chunk (the last may be short; none for an empty file). */
  chunks: string[];
}

/** The chunk size for a file of `size` bytes. */
export function chunkSizeFor(size: number): number {
  let chunk = MIN_CHUNK;
  while (size > chunk * MAX_CHUNKS) chunk *= 2;
  return chunk;
}

export function digestCommand(d: FileDigest): string {
  return `${DIGEST_COMMAND} ${d.hex} 0x${d.size.toString(16)} 0x${d.chunk.toString(16)} ${d.chunks.join(',')}`.trimEnd();
}

/** The digest in a digest command, or undefined if it is not one. */
export function parseDigestCommand(cmd: string): FileDigest | undefined {
  // Without the chunk part (as the first uugate versions send it): whole file only.
  const m = /^Zsha256 ([0-9a-f]{64}) 0x([0-9a-f]+)(?: 0x([0-9a-f]+)(?: ([0-9a-f,]*))?)?$/i.exec(cmd.trim());
  if (!m) return undefined;
  const size = parseInt(m[2]!, 16);
  const chunk = m[3] ? parseInt(m[3], 16) : 0;
  if (m[3] && chunk === 0) return undefined;
  return { hex: m[1]!.toLowerCase(), size, chunk: chunk || chunkSizeFor(size), chunks: m[4] ? m[4].toLowerCase().split(',') : [] };
}

/** Hashes a stream of pieces: the whole and each chunk. */
class Digester {
  private readonly whole = createHash('sha256');
  private part = createHash('sha256');
  private inPart = 0;
  private size = 0;
  private readonly chunks: string[] = [];

  constructor(private readonly chunk: number) {}

  update(bytes: Uint8Array): void {
    this.whole.update(bytes);
    this.size += bytes.length;
    for (let at = 0; at < bytes.length; ) {
      const take = Math.min(bytes.length - at, this.chunk - this.inPart);
      this.part.update(bytes.subarray(at, at + take));
      at += take;
      this.inPart += take;
      if (this.inPart === this.chunk) this.endPart();
    }
  }

  private endPart(): void {
    this.chunks.push(this.part.digest('hex').slice(0, CHUNK_HEX));
    this.part = createHash('sha256');
    this.inPart = 0;
  }

  digest(): FileDigest {
    if (this.inPart > 0) this.endPart();
    return { hex: this.whole.digest('hex'), size: this.size, chunk: this.chunk, chunks: this.chunks };
  }
}

/** The digest of bytes in memory. */
export function digestBytes(bytes: Uint8Array): FileDigest {
  const d = new Digester(chunkSizeFor(bytes.length));
  d.update(bytes);
  return d.digest();
}

/** The digest of the first `size` bytes through an open handle (positional reads: the handle's position is not used). */
export async function digestHandle(fh: fsp.FileHandle, size: number): Promise<FileDigest> {
  const d = new Digester(chunkSizeFor(size));
  const buf = Buffer.allocUnsafe(Math.min(Math.max(size, 1), 256 * 1024));
  for (let at = 0; at < size; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - at), at);
    if (bytesRead === 0) break;
    d.update(buf.subarray(0, bytesRead));
    at += bytesRead;
  }
  return d.digest();
}

/** The digest of a whole file, in chunks of `chunk` bytes (the sender's). */
export async function digestFile(file: string, chunk: number): Promise<FileDigest> {
  const d = new Digester(chunk);
  for await (const piece of createReadStream(file, { highWaterMark: 256 * 1024 })) d.update(piece as Buffer);
  return d.digest();
}

export function digestsMatch(a: FileDigest, b: FileDigest): boolean {
  return a.hex === b.hex && a.size === b.size;
}

/** The first chunk of `got` (the whole length held) that differs from `want`, or undefined. */
export function firstBadChunk(got: FileDigest, want: FileDigest): { at: number; length: number } | undefined {
  if (got.chunk !== want.chunk || got.size !== want.size || want.chunks.length !== got.chunks.length) return undefined;
  const i = got.chunks.findIndex((c, n) => c !== want.chunks[n]);
  if (i < 0) return undefined;
  const at = i * got.chunk;
  return { at, length: Math.min(got.chunk, got.size - at) };
}

/** Bytes at the start of `got` known good against `want`: the chunks before the first that differs. */
export function verifiedPrefix(got: FileDigest, want: FileDigest): number {
  if (got.chunk !== want.chunk) return 0;
  let n = 0;
  while (n < got.chunks.length && n < want.chunks.length && got.chunks[n] === want.chunks[n] && (n + 1) * got.chunk <= Math.min(got.size, want.size)) n++;
  return n * got.chunk;
}

/**
 * Runs a transfer again while the digest check fails, until DIGEST_TRIES
 * tries in a row started no further on than an earlier one. The transfer
 * says how its try ended through `refused` and `restartedAt`.
 */
export class DigestRetries {
  /** True when the last transfer ended in CN5 for a digest mismatch (between uugate sites). */
  refused = false;
  /** Where the last file sent restarted (the peer's verified prefix after a mismatch). */
  restartedAt = 0;

  constructor(private readonly log: (message: string) => void) {}

  async run(what: string, again: string, transfer: () => Promise<'done' | 'keep'>): Promise<'done' | 'keep'> {
    let from = 0;
    for (let attempt = 1, stuck = 0; ; attempt++) {
      this.refused = false;
      this.restartedAt = 0;
      const outcome = await transfer();
      if (this.restartedAt > from) {
        from = this.restartedAt;
        stuck = 0;
      } else stuck++;
      if (outcome !== 'keep' || !this.refused || stuck >= DIGEST_TRIES) return outcome;
      this.log(`${what}: ${again} (try ${attempt + 1})`);
    }
  }
}
