// Compressed BSMTP batches. On slow UUCP lines mail batches shrink to a third or
// less with gzip; the convention among UUCP mailers is a separate command name
// for the compressed kind (`rgsmtp` for gzip, `rcsmtp` for compress(1), `rbsmtp`
// for "any"). Our readers do not rely on the name: a batch is recognised by its
// first bytes, so `rsmtp` and all of those names read plain and gzip batches.
// compress(1) (.Z) and bzip2 batches are refused with a clear reason instead of
// being read as garbage.
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { dataError } from '../util/errors.js';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

/** Command names uuxqt reads as BSMTP batches (when the system's `commands` allow them). */
export const BATCH_COMMANDS = new Set(['rsmtp', 'rgsmtp', 'rcsmtp', 'rbsmtp']);

/**
 * Largest batch unpacked in memory. Batches are read whole (they are at most
 * `bsmtp_batch_bytes` when we write them); the cap stops a small gzip file
 * from unpacking into gigabytes.
 */
export const MAX_UNPACKED_BATCH = 256 * 1024 * 1024;

/** A batch bigger than MAX_UNPACKED_BATCH, refused for good (a permanent data error). */
export const batchTooBig = (size?: number) =>
  dataError(`the batch is ${size === undefined ? '' : `${size} bytes, `}over the ${MAX_UNPACKED_BATCH} bytes a batch may have`);

export function packBatch(batch: Buffer): Promise<Buffer> {
  return gzip(batch, { level: 9 });
}

/** The plain batch: gzip data is unpacked, anything else is returned as it is. */
export async function unpackBatch(data: Buffer, where = 'batch'): Promise<Buffer> {
  if (data[0] === 0x1f && data[1] === 0x8b) {
    try {
      return await gunzip(data, { maxOutputLength: MAX_UNPACKED_BATCH });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ERR_BUFFER_TOO_LARGE') throw dataError(`gzip data unpacks to more than ${MAX_UNPACKED_BATCH} bytes`, where);
      throw dataError(`gzip data is damaged (${e.message})`, where);
    }
  }
  if (data[0] === 0x1f && data[1] === 0x9d) throw dataError('compress(1) (.Z) batches are not supported; have the sender use gzip', where);
  if (data.subarray(0, 3).toString('latin1') === 'BZh') throw dataError('bzip2 batches are not supported; have the sender use gzip', where);
  return data;
}
