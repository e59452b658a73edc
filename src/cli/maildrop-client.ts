// The maildrop client: sendmail or rmail run by a local user who is not the
// gateway user (nor root) leaves the message in spool/maildrop/ for the daemon's
// pickup (docs/privileges.md "The maildrop"). It is started once per message by
// mail programs and cron, so it loads no logger, no LevelDB and no routing: only
// the argument parser, the drop format and Node's fs/os/path.
import fs, { constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseRmailArgs, parseSendmailArgs } from './sendmail-args.js';
import { resolveLocations } from '../config/locations.js';
import { dropHead, dropTrailer, MAILDROP, PICKUP_PID, type DropRequest } from '../inject/maildrop-format.js';
import { EX, GatewayError } from '../util/errors.js';

/**
 * Writes the message to the maildrop when this user must go through it; false
 * when the command is the gateway user's (or root's) and takes the direct path.
 */
export async function maildropMain(command: 'sendmail' | 'rmail', args: string[]): Promise<boolean> {
  if (process.getuid!() === 0) return false;
  let req: DropRequest;
  let locations;
  if (command === 'rmail') {
    const a = parseRmailArgs(args);
    req = { command, recipients: a.recipients };
    locations = a.locations;
  } else {
    const a = parseSendmailArgs(args);
    if (a.mode !== 'deliver') return false; // queue listing, runs and SMTP modes are the gateway user's
    req = { command, recipients: a.recipients, fromHeaders: a.fromHeaders, ignoreDots: a.ignoreDots, sender: a.sender, fullName: a.fullName };
    locations = a.locations;
  }
  const loc = resolveLocations(locations);
  const gatewayUser = configuredGatewayUser(path.join(loc.configDir, 'uugate.conf'));
  if (!gatewayUser || gatewayUser === os.userInfo().username) return false;
  const dir = path.join(loc.spoolDir, MAILDROP);
  const name = writeDrop(dir, req);
  if (!pickupRunning(dir)) process.stderr.write(`${command}: no uugate daemon is running to pick the message up; it waits in ${dir} (${name}) until one starts\n`);
  return true;
}

/** gateway_user from uugate.conf, read with the file's own syntax (name=value); '' when unset or unreadable. */
function configuredGatewayUser(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return ''; // the full command reports an unreadable configuration
  }
  // The last setting wins, as in the full parser.
  const all = [...text.matchAll(/^[ \t]*gateway_user[ \t]*=[ \t]*("?)([^"#\n]*?)\1[ \t]*(?:#.*)?$/gm)];
  return all.at(-1)?.[2] ?? '';
}

/**
 * Creates the drop (O_EXCL, never through a link), streams stdin into it, and
 * only when all of it is there makes it group-readable: the mode is the pickup's
 * sign that the file is complete. The fsync comes last, so the exit status 0
 * that follows means the message is on disk.
 */
function writeDrop(dir: string, req: DropRequest): string {
  // Unique is enough (O_EXCL settles any clash): nobody else can list or read drops.
  const name = `${Date.now().toString(36)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}`;
  const file = path.join(dir, name);
  let fd: number;
  try {
    fd = fs.openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    throw new GatewayError(`cannot queue message in the maildrop ${dir}: ${(err as Error).message}`, { exitCode: EX.CANTCREAT, temporary: true });
  }
  try {
    writeAll(fd, dropHead(req));
    let size = 0;
    const buf = Buffer.allocUnsafe(65536);
    for (let n; (n = readStdin(buf)) > 0; size += n) writeAll(fd, buf.subarray(0, n));
    writeAll(fd, dropTrailer(size));
    fs.fchmodSync(fd, 0o640);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.unlinkSync(file);
    throw new GatewayError(`cannot queue message in the maildrop ${file}: ${(err as Error).message}`, { exitCode: EX.TEMPFAIL });
  }
  return name;
}

function writeAll(fd: number, data: Buffer): void {
  for (let off = 0; off < data.length; ) off += fs.writeSync(fd, data, off);
}

/** Reads stdin synchronously (no stream machinery to load); a non-blocking stdin is waited for. */
function readStdin(buf: Buffer): number {
  for (;;) {
    try {
      return fs.readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EOF') return 0;
      if (code !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

/** Whether the daemon's pickup is alive: its pid file, made by the maildrop's owner, names a live process. */
function pickupRunning(dir: string): boolean {
  try {
    const pidFile = path.join(dir, PICKUP_PID);
    const st = fs.lstatSync(pidFile);
    if (!st.isFile() || st.uid !== fs.statSync(dir).uid) return false;
    const pid = Number(fs.readFileSync(pidFile, 'latin1').trim());
    if (!Number.isInteger(pid) || pid <= 1) return false;
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}
