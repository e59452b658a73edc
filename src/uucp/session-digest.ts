// End-to-end file integrity between two uugate sites (FEATURE.DIGEST, agreed
// in the handshake with `-Yuugate`; never used with other peers).
//
// g's 16-bit checksum misses some damage (about 1 in 90 single-bit errors
// among its blind spots, and any corruption outside the packet layer), so
// after a file's end-of-file packet the sender sends one more command:
//
//   Zsha256 <64 hex digits> 0x<size>        SHA-256 of the whole file, 0..size
//
// and the receiver hashes what it holds on disk (the restarted prefix too),
// then answers CY, or CN5 on a mismatch after deleting the partial file (the
// damage could be anywhere, so the next try starts from byte 0). The sender
// keeps the job on CN5 and sends it again in the same call, a few times.
import { createHash } from 'node:crypto';
import { createReadStream, type promises as fsp } from 'node:fs';

export const DIGEST_COMMAND = 'Zsha256';
/** Tries per file in one call when the digest does not match. */
export const DIGEST_TRIES = 3;

export function digestCommand(hex: string, size: number): string {
  return `${DIGEST_COMMAND} ${hex} 0x${size.toString(16)}`;
}

/** The digest and size in a digest command, or undefined if it is not one. */
export function parseDigestCommand(cmd: string): { hex: string; size: number } | undefined {
  const m = /^Zsha256 ([0-9a-f]{64}) 0x([0-9a-f]+)$/i.exec(cmd.trim());
  return m ? { hex: m[1]!.toLowerCase(), size: parseInt(m[2]!, 16) } : undefined;
}

/** SHA-256 of bytes in memory. */
export function digestBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** SHA-256 of the first `size` bytes through an open handle (positional reads: the handle's position is not used). */
export async function digestHandle(fh: fsp.FileHandle, size: number): Promise<string> {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(Math.min(Math.max(size, 1), 256 * 1024));
  for (let at = 0; at < size; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - at), at);
    if (bytesRead === 0) break;
    h.update(buf.subarray(0, bytesRead));
    at += bytesRead;
  }
  return h.digest('hex');
}

/** SHA-256 and length of a whole file. */
export async function digestFile(file: string): Promise<{ hex: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { hex: h.digest('hex'), size };
}
