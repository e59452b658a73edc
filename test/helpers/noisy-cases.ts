// The line settings and protocol variants the noisy-line interop tests run through.
import { promises as fsp } from 'node:fs';
import type { NoisyLineOptions } from './noisy-line.js';
import { seededRandom } from '../../src/util/seeded-random.js';

/** 230400 bit/s 8N1: four times the bench's line, so that a file costs a quarter of the time. */
export const RATE = 23_040;
export const SIZE = 32 * 1024;
/** The first (noisy) call is cut off after this long. */
export const DEADLINE_MS = 45_000;

/** Login and handshake cross clean (a seed that hits them tests nothing else); the protocol's start-up does not. */
export const NOISE_AFTER = 256;

export const PROTOCOLS = {
  'g 64/7': 'protocol g\nprotocol-parameter g packet-size 64\nprotocol-parameter g window 7\n',
  'g 1024/7': 'protocol g\nprotocol-parameter g packet-size 1024\nprotocol-parameter g window 7\n',
  i: 'protocol i\n',
} as const;
export type Proto = keyof typeof PROTOCOLS;

export const CONDITIONS: Record<string, NoisyLineOptions> = {
  clean: {},
  'bit errors 1e-4': { bitErrorRate: 1e-4, damageAfter: NOISE_AFTER },
  'drops 1e-4': { dropRate: 1e-4, damageAfter: NOISE_AFTER },
};

/** A file's bytes, or null when it is not there (a transfer that never completed). */
export const readOrNull = (f: string): Promise<Buffer | null> => fsp.readFile(f).catch(() => null);

/** Random bytes from a seed (the file differs per case, repeats per run). */
export function seededBytes(seed: number, n: number): Buffer {
  const r = seededRandom(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}
