// Receiving into the spool: partial files under .Temp/<sys>/ (so a transfer can
// restart), the durable move into place, the .Received/<sys>/ records of files
// whose acknowledgement may be lost (SN8), and .Corrupt/.Failed/.Preserve for
// what cannot be used.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fsyncDir, fsyncFile, mkdirp } from '../../util/durable.js';
import { dataError } from '../../util/errors.js';
import { checkSystemName, exists, isSpoolName, tmpName } from './names.js';

// ---------------------------------------------------------------- receiving

/**
 * Where a file offered by `system` is received before being moved into place:
 * `.Temp/<sys>/<temp>` when `temp` is a usable spool temp name (so an interrupted
 * transfer can restart), else a fresh random name in `.Temp/`.
 */
export function receiveTempPath(spoolDir: string, system: string, temp?: string): string {
  checkSystemName(system);
  if (temp && isSpoolName(temp)) return path.join(spoolDir, '.Temp', system, temp);
  return path.join(spoolDir, '.Temp', tmpName());
}

/**
 * Moves a completely received file into its final place durably: fsync the data,
 * then rename (or link, with `noReplace`, which fails with EEXIST rather than
 * overwrite), then fsync both directories.
 */
export async function storeReceivedFile(
  tempPath: string,
  finalPath: string,
  opts: { noReplace?: boolean; mode?: number; synced?: boolean; dirs?: Set<string> } = {},
): Promise<void> {
  // `synced`: the caller already set the mode and fsync'd through its own handle.
  if (!opts.synced) {
    if (opts.mode !== undefined) await fsp.chmod(tempPath, opts.mode);
    await fsyncFile(tempPath);
  }
  // `dirs`: directories known to exist (a session receiving many files creates each once).
  const dir = path.dirname(finalPath);
  if (!opts.dirs?.has(dir)) {
    await mkdirp(dir, 0o755);
    opts.dirs?.add(dir);
  }
  if (opts.noReplace) {
    await fsp.link(tempPath, finalPath);
    await fsp.unlink(tempPath);
  } else {
    await fsp.rename(tempPath, finalPath);
  }
  // The new name is what must survive a crash. The rename is one journal
  // transaction (ext4, XFS), so this also commits the old name's removal; a
  // second fsync of the temp directory cost ~1 ms per received file for nothing.
  await fsyncDir(path.dirname(finalPath));
}

function receivedMarker(spoolDir: string, system: string, temp: string): string {
  if (!isSpoolName(temp)) throw dataError(`bad temp name "${temp}"`);
  checkSystemName(system);
  return path.join(spoolDir, '.Received', system, temp);
}

/** Records that the file sent under `temp` was received (its acknowledgement may be lost). */
export async function markReceived(spoolDir: string, system: string, temp: string, dirs?: Set<string>): Promise<void> {
  const f = receivedMarker(spoolDir, system, temp);
  if (!dirs?.has(path.dirname(f))) {
    await mkdirp(path.dirname(f), 0o755);
    dirs?.add(path.dirname(f));
  }
  await fsp.writeFile(f, '', { mode: 0o600 });
}

/** True when `temp` was already received: answer SN8 and forget the record. */
export async function takeReceived(spoolDir: string, system: string, temp: string): Promise<boolean> {
  if (!isSpoolName(temp)) return false;
  try {
    await fsp.unlink(receivedMarker(spoolDir, system, temp));
    return true;
  } catch {
    return false;
  }
}

/** Moves a file into `.Corrupt` or `.Failed`, keeping its name (suffixed if taken). */
export async function moveAside(spoolDir: string, file: string, where: '.Corrupt' | '.Failed' | '.Preserve'): Promise<string> {
  const dir = path.join(spoolDir, where);
  await mkdirp(dir, 0o755);
  let dest = path.join(dir, path.basename(file));
  if (await exists(dest)) dest = `${dest}.${Date.now().toString(36)}`;
  await fsp.rename(file, dest);
  await fsyncDir(dir);
  return dest;
}
