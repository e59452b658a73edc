// The daemon's pickup (docs/privileges.md "The maildrop"): takes the drops local
// users' sendmail and rmail leave in spool/maildrop/ into the queue. The sender
// is the drop's owner (the kernel's word, not the file's); only trusted users may
// choose another envelope sender. Whatever is not a complete drop by its owner
// (a link, a FIFO, a directory, a truncated or hand-made file) is moved to
// spool/maildrop-rejected/ and logged, never followed or delivered.
import fs, { constants, promises as fsp, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Daemon, DaemonService } from './daemon.js';
import { accept as acceptMessage, type Gateway } from '../runtime/gateway.js';
import { buildDsn } from '../queue/bounce.js';
import { submit } from '../inject/submission.js';
import { rmail } from '../inject/rmail.js';
import { decodeDrop, MAILDROP, MAILDROP_REJECTED, PICKUP_PID, type DropRequest } from '../inject/maildrop-format.js';
import { lookupAccount, type Account } from '../util/accounts.js';
import { GatewayError } from '../util/errors.js';
import { mkdirp, writeFileAtomic } from '../util/durable.js';

/** Drops are also looked for this often: a watch can miss events (an overflow, a file system without them). */
const SCAN_INTERVAL_MS = 30_000;
/** A drop still unreadable (its writer never finished) after this long is moved aside. */
const ABANDONED_MS = 24 * 3600_000;

export function pickupService(): DaemonService {
  let gw: Gateway;
  let dir = '';
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let scanning: Promise<void> | undefined;
  let again = false;
  let stopping = false;
  let kick: () => void = () => undefined;

  const scan = (): void => {
    if (stopping) return;
    if (scanning) {
      again = true;
      return;
    }
    scanning = scanOnce().finally(() => {
      scanning = undefined;
      if (again) {
        again = false;
        scan();
      }
    });
  };

  async function scanOnce(): Promise<void> {
    let picked = 0;
    for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
      if (name === PICKUP_PID || name.startsWith('.')) continue;
      try {
        if (await pickUp(gw, dir, name)) picked++;
      } catch (err) {
        gw.log.log({ event: 'info', reason: `pickup: ${name}: ${(err as Error).message}; left for the next scan` });
      }
    }
    if (picked) kick();
  }

  return {
    name: 'pickup',
    unprivileged: true,
    async start(d: Daemon): Promise<string> {
      gw = d.gw;
      kick = () => d.kick();
      dir = path.join(gw.spool.root, MAILDROP);
      await prepareMaildrop(gw.spool.root, dir, path.join(gw.spool.root, MAILDROP_REJECTED));
      const pidFile = path.join(dir, PICKUP_PID);
      await writeFileAtomic(pidFile, `${process.pid}\n`, 0o644);
      await fsp.chmod(pidFile, 0o644); // readable by the users' sendmail whatever the umask
      watcher = watch(dir, () => scan());
      watcher.on('error', (err) => gw.log.log({ event: 'info', reason: `pickup: watch ${dir}: ${err.message}` }));
      timer = setInterval(scan, SCAN_INTERVAL_MS);
      scan();
      return `picking up ${dir} (watched, and scanned every ${SCAN_INTERVAL_MS / 1000}s)`;
    },
    async stop(): Promise<void> {
      stopping = true;
      watcher?.close();
      clearInterval(timer);
      await scanning;
      await fsp.unlink(path.join(dir, PICKUP_PID)).catch(() => undefined);
    },
    async reload(next: Gateway): Promise<void> {
      gw = next;
    },
  };
}

/**
 * maildrop/ is 3733: anyone may create a file, nobody but its owner may list it
 * or remove another's (sticky), and files take the gateway's group (setgid), so
 * the pickup can read a drop its writer made group-readable. Users reach it
 * through the spool, which others may therefore pass through (0711) but not list.
 */
async function prepareMaildrop(spool: string, dir: string, rejected: string): Promise<void> {
  await fsp.chmod(spool, ((await fsp.stat(spool)).mode & 0o7777) | 0o711);
  // Passable by all, the spool's own directories must then be the gateway's
  // alone (uucp/ is made 0755 for Taylor's habits); uucppublic/ is public by intent.
  for (const e of await fsp.readdir(spool, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name === MAILDROP || e.name === 'uucppublic') continue;
    const d = path.join(spool, e.name);
    const mode = (await fsp.lstat(d)).mode & 0o7777;
    if (mode & 0o077) await fsp.chmod(d, mode & 0o700);
  }
  await mkdirp(rejected);
  await fsp.mkdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const st = await fsp.lstat(dir);
  if (!st.isDirectory()) throw new GatewayError(`${dir} is not a directory`, { temporary: true });
  await fsp.chmod(dir, 0o3733);
}

/** Handles one entry of the maildrop; true when a message was queued. */
async function pickUp(gw: Gateway, dir: string, name: string): Promise<boolean> {
  const file = path.join(dir, name);
  const aside = async (why: string): Promise<false> => {
    let to = path.join(gw.spool.root, MAILDROP_REJECTED, name);
    // A directory we may not write cannot change parents (its '..' would change):
    // it gets a dot name in place, which scans skip.
    await fsp.rename(file, to).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EACCES' && err.code !== 'EPERM') throw err;
      to = path.join(dir, `.rejected.${name}`);
      await fsp.rename(file, to);
    });
    gw.log.log({ event: 'info', reason: `pickup: ${file}: ${why}; moved to ${to}` });
    return false;
  };
  const lst = await fsp.lstat(file).catch(() => undefined);
  if (!lst) return false;
  // root's sendmail takes the direct path: nothing in the maildrop is root's.
  if (lst.uid === 0) return aside('owned by root, not written by a maildrop client');
  let fd: number;
  try {
    // Never through a link, and never waiting on a FIFO's writer.
    fd = fs.openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    if (code === 'ELOOP') return aside('a symbolic link');
    if (code === 'ENXIO') return aside('a socket');
    if (code !== 'EACCES') throw err;
    // Not group-readable yet: its writer is still at work, or died at work long ago.
    return Date.now() - lst.mtimeMs > ABANDONED_MS ? aside('never completed by its writer') : false;
  }
  let data: Buffer;
  let st: fs.Stats;
  try {
    st = fs.fstatSync(fd);
    if (st.ino !== lst.ino) return false; // replaced since the lstat: the next scan looks again
    if (!st.isFile()) return await aside(st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : 'not a regular file');
    if (st.nlink !== 1) return await aside(`a file with ${st.nlink} links`);
    if (!(st.mode & 0o040)) return false; // still being written (the writer makes it group-readable last)
    if (st.size > gw.cfg.message_size_limit + 65536) return await aside(`${st.size} bytes, over message_size_limit`);
    data = fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  const drop = decodeDrop(data);
  if ('problem' in drop) return aside(drop.problem);
  const account = await lookupAccount(st.uid);
  if (!account) return aside(`owner uid ${st.uid} has no account`);
  let id: string;
  try {
    id = await accept(gw, drop.req, drop.message, account);
  } catch (err) {
    if (err instanceof GatewayError && err.temporary) throw err; // stays for the next scan
    // The user's sendmail said 0 long ago: the refusal goes back as a bounce.
    const bounce = await returnToSender(gw, account, drop.req, drop.message, err);
    return aside(`refused for ${account.name}: ${(err as Error).message}; bounce ${bounce}`);
  }
  await fsp.unlink(file);
  gw.log.log({ event: 'info', reason: `pickup: ${name} from ${account.name} queued as ${id}` });
  return true;
}

/** root, the gateway user and trusted_users may set the envelope sender (sendmail -f, rmail's From_ lines). */
export const mayChooseSender = (gw: Gateway, a: Account): boolean => a.uid === 0 || a.name === gw.cfg.gateway_user || gw.cfg.trusted_users.includes(a.name);

/** The sender an untrusted user gets, and the record of any other one claimed (sendmail's X-Authentication-Warning). */
function ownSender(gw: Gateway, a: Account, claimed: string | undefined): { sender: string; addFields: string[] } {
  const own = `${a.name}@${gw.cfg.visible_name}`;
  const forged = claimed !== undefined && claimed !== own && claimed !== a.name;
  return { sender: own, addFields: forged ? [`X-Authentication-Warning: ${gw.cfg.primaryName}: ${a.name} set sender to ${claimed} using -f`] : [] };
}

async function accept(gw: Gateway, req: DropRequest, message: Buffer, a: Account): Promise<string> {
  const trusted = mayChooseSender(gw, a);
  const input = (async function* () {
    yield message;
  })();
  if (req.command === 'rmail')
    return rmail(gw, { recipients: req.recipients, input, defaultSender: a.name, senderPolicy: trusted ? undefined : (claimed) => ownSender(gw, a, claimed) });
  const policy = trusted ? { sender: req.sender === '<>' ? '' : req.sender, addFields: [] } : ownSender(gw, a, req.sender);
  return submit(gw, { recipients: req.recipients, input, fromHeaders: !!req.fromHeaders, ignoreDots: !!req.ignoreDots, fullName: req.fullName, user: a.name, ...policy });
}

/** Queues a bounce to the drop's owner for a drop refused for good; returns its queue id. */
function returnToSender(gw: Gateway, a: Account, req: DropRequest, message: Buffer, err: unknown): Promise<string> {
  const now = gw.clock();
  const status = err instanceof GatewayError ? err.status : '5.0.0';
  const reason = (err as Error).message;
  const data = buildDsn({
    reportingMta: gw.cfg.visible_name,
    fromAddress: `MAILER-DAEMON@${gw.cfg.visible_name}`,
    to: `${a.name}@${gw.cfg.visible_name}`,
    original: message,
    arrival: now,
    failed: (req.recipients.length ? req.recipients : ['(no recipients)']).map((rcpt) => ({ rcpt, status, reason })),
    now,
  });
  return acceptMessage(gw, { sender: '', recipients: [a.name], data, origin: 'bounce', noReceived: true });
}
