// Reads log files for `uugate stats`: plain or gzipped (logrotate's
// logfile.2.gz, told by its magic bytes, not its name), streamed in batches
// of lines, so memory does not grow with the file and no line costs an await.
import { createReadStream, promises as fsp } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
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

/** The file's lines, a batch per chunk read (a last line without a newline included). */
export async function* readLogLines(file: string): AsyncGenerator<string[]> {
  let input: Readable = createReadStream(file, { highWaterMark: 1 << 20 });
  if (await isGzip(file)) input = input.pipe(createGunzip());
  const decoder = new StringDecoder('utf8');
  let carry = '';
  for await (const chunk of input) {
    const lines = (carry + decoder.write(chunk as Buffer)).split('\n');
    carry = lines.pop()!;
    yield lines;
  }
  const rest = carry + decoder.end();
  if (rest) yield [rest];
}
