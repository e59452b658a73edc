// Durable file primitives: every byte we acknowledge has been fsync'd, and every
// name we create is made visible by a rename or link followed by a directory fsync.
import { promises as fsp, constants } from 'node:fs';
import path from 'node:path';

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes data to a new file (O_EXCL), fsyncs it, and returns. */
export async function writeNewFile(file: string, data: Buffer | string, mode = 0o600): Promise<void> {
  const fh = await fsp.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes via a temporary file and renames into place, syncing file and directory.
 * The temporary name starts with a dot so that directory scanners (spool work
 * lists, maildir readers) never take it for the real thing.
 */
export async function writeFileAtomic(file: string, data: Buffer | string, mode = 0o600): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp${process.pid}.${Date.now()}`);
  await writeNewFile(tmp, data, mode);
  try {
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(path.dirname(file));
}

/** Appends a line and fsyncs it when `sync` is set. */
export async function appendLine(file: string, line: string, sync: boolean): Promise<void> {
  const fh = await fsp.open(file, 'a', 0o600);
  try {
    await fh.write(line.endsWith('\n') ? line : `${line}\n`);
    if (sync) await fh.datasync();
  } finally {
    await fh.close();
  }
}

export async function mkdirp(dir: string, mode = 0o700): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode });
}
