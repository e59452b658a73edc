// Free space on the spool's file system, asked before a file is accepted (SN6
// when it would not fit) and told to the peer with an R request.
import { promises as fsp } from 'node:fs';

/** Free bytes for an unprivileged writer in the file system holding `dir` (-1 if unknown). */
export async function freeBytes(dir: string): Promise<number> {
  try {
    const s = await fsp.statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return Number.MAX_SAFE_INTEGER;
  }
}

/** statfs at most once a second; bytes received since are taken off. */
export class FreeSpace {
  private cache?: { at: number; bytes: number };

  constructor(private readonly dir: string) {}

  async bytes(): Promise<number> {
    const now = Date.now();
    if (!this.cache || now - this.cache.at > 1000) this.cache = { at: now, bytes: await freeBytes(this.dir) };
    return this.cache.bytes;
  }

  /** `n` bytes were written since. */
  took(n: number): void {
    this.cache = this.cache && { ...this.cache, bytes: this.cache.bytes - n };
  }
}
