// Reads log files line by line for `uugate stats`: plain or gzipped (logrotate's
// logfile.2.gz, told by its magic bytes, not its name), streamed, so memory
// does not grow with the file.
import { createReadStream, promises as fsp } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';

async function isGzip(file: string): Promise<boolean> {
  const fh = await fsp.open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

export async function* readLogLines(file: string): AsyncGenerator<string> {
  let input: Readable = createReadStream(file, { highWaterMark: 1 << 20 });
  if (await isGzip(file)) input = input.pipe(createGunzip());
  yield* createInterface({ input, crlfDelay: Infinity });
}
