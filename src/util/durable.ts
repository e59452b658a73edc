// Durable file primitives: every byte we acknowledge has been fsync'd, and every
// name we create is made visible by a rename or link followed by a directory fsync.
// New files are all written by writeNewFilesSynced, on plain descriptors: a
// FileHandle and a promise per step cost more CPU than the system calls.
import fs, { promises as fsp, constants } from 'node:fs';
import path from 'node:path';

export function fsyncDir(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY, (err, fd) => {
      if (err) return reject(err);
      fs.fsync(fd, (syncErr) => fs.close(fd, (closeErr) => (syncErr || closeErr ? reject(syncErr ?? closeErr) : resolve())));
    });
  });
}

/** fsyncs an existing file's data. */
export async function fsyncFile(file: string): Promise<void> {
  const fh = await fsp.open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes data to a new file (O_EXCL) and fsyncs it; a file it could not write whole is removed. */
export async function writeNewFile(file: string, data: Buffer | string, mode = 0o600): Promise<void> {
  const created: string[] = [];
  try {
    await writeNewFilesSynced([{ path: file, data: typeof data === 'string' ? Buffer.from(data) : data }], created, mode);
  } catch (err) {
    for (const f of created) await fsp.unlink(f).catch(() => undefined);
    throw err;
  }
}

/**
 * Creates, writes and fsyncs several new files (O_EXCL). Creating and writing a
 * small file takes tens of microseconds, so that is done synchronously; only
 * the fsyncs, which wait for the disk, go to the thread pool, all at once. That
 * saves three thread-pool round trips per file, which on a busy machine cost
 * more than the system calls themselves. `created` gets each path as soon as
 * the file exists, for the caller's cleanup on failure.
 */
export async function writeNewFilesSynced(files: ReadonlyArray<{ path: string; data: Buffer }>, created: string[], mode = 0o600): Promise<void> {
  const fds: number[] = [];
  try {
    for (const f of files) {
      const fd = fs.openSync(f.path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
      fds.push(fd);
      created.push(f.path);
      writeAllSync(fd, f.data);
    }
    // allSettled: no descriptor may be closed while its fsync is still running.
    const synced = await Promise.allSettled(fds.map(fsyncFd));
    const failed = synced.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    for (const fd of fds) closeQuietly(fd);
  }
}

/**
 * Creates a new file (O_EXCL) from chunks as they come and fsyncs it; only one
 * chunk is held at a time, so a message of any size streams through. A chunk
 * source that throws (a size limit, bad input) or a failed write leaves no file.
 */
export async function writeNewFileStreamed(file: string, chunks: AsyncIterable<Buffer>, mode = 0o600): Promise<void> {
  const fd = fs.openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    for await (const c of chunks) writeAllSync(fd, c);
    await fsyncFd(fd);
  } catch (err) {
    closeQuietly(fd);
    await fsp.unlink(file).catch(() => undefined);
    throw err;
  }
  closeQuietly(fd);
}

function writeAllSync(fd: number, data: Buffer): void {
  for (let off = 0; off < data.length; ) off += fs.writeSync(fd, data, off);
}

const fsyncFd = (fd: number): Promise<void> => new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));

/** Closing is cleanup here: success or failure was decided by the writes and fsyncs. */
function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // nothing to add to what the fsync said
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

/**
 * Writes all of `data` at `position` (at the file offset when omitted). One
 * write() may take only part of it (a full disk does that without an error; the
 * error comes with the next write), so it loops until every byte is out.
 */
export async function writeAll(fh: fsp.FileHandle, data: Uint8Array, position?: number): Promise<void> {
  for (let off = 0; off < data.length; ) {
    const { bytesWritten } = await fh.write(data, off, data.length - off, position === undefined ? null : position + off);
    if (bytesWritten <= 0) throw Object.assign(new Error(`short write: ${off} of ${data.length} bytes`), { code: 'EIO' });
    off += bytesWritten;
  }
}

/** Appends a line and fsyncs it when `sync` is set; a line that did not fit whole is cut away again. */
export async function appendLine(file: string, line: string, sync: boolean): Promise<void> {
  const fh = await fsp.open(file, 'a', 0o600);
  let size = -1;
  try {
    size = (await fh.stat()).size;
    await writeAll(fh, Buffer.from(line.endsWith('\n') ? line : `${line}\n`));
    if (sync) await fh.datasync();
  } catch (err) {
    if (size >= 0) await fh.truncate(size).catch(() => undefined);
    throw err;
  } finally {
    await fh.close();
  }
}

export async function mkdirp(dir: string, mode = 0o700): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode });
}
