// Shared plumbing for commands: stdin reading and the mapping
// from thrown errors to a message on stderr and a sysexits status.
import { GatewayError, EX } from '../util/errors.js';

/** All of stdin, for what is read whole (batches); past `limit.max` bytes reading stops with `limit.tooBig()`. */
export async function readStdin(limit?: { max: number; tooBig: () => Error }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of process.stdin) {
    size += (c as Buffer).length;
    if (limit && size > limit.max) throw limit.tooBig();
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Configuration warnings (`file:line: keyword "x" not supported`): on stderr, which never carries a session. */
export function printWarnings(name: string, warnings: readonly string[]): void {
  for (const w of warnings) process.stderr.write(`${name}: ${w}\n`);
}

export function reportAndExit(name: string, err: unknown): never {
  if (err instanceof GatewayError) {
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`${name}: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(EX.SOFTWARE);
}
