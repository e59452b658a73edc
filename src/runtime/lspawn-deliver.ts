// A delivery running as a system account, started by the lspawn helper
// (deliver/lspawn-helper.ts): `lspawn-deliver.js maildir|mbox PATH`, the
// message on stdin (Return-Path and Delivered-To already on top), SENDER and
// RECIPIENT in the environment. Exit 0 and a line saying where it went; 75 for
// a failure worth retrying, 77 for one that is not.
//
// The account's own ~/.forward is read here, as the account (qmail-local's
// way): its programs and files run and are written as the account, its
// addresses are sent on with the account's sendmail (through the maildrop),
// `\name` is the account's own mailbox. A .forward others may write is not
// obeyed: the message waits (75) until it is fixed.
import { spawn } from 'node:child_process';
import { constants, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deliverToMaildir } from '../deliver/maildir.js';
import { deliverToMbox, mboxEntry } from '../deliver/mbox.js';
import { runProgram } from '../deliver/local.js';
import { fsFailure } from '../deliver/transport.js';
import { parseAddressFile, type AliasItem } from '../route/aliases/parse.js';
import { PACKAGE_ROOT } from '../config/locations.js';

const [kind, mailbox] = process.argv.slice(2);
const sender = process.env.SENDER ?? '';
const recipient = process.env.RECIPIENT ?? '';
const me = os.userInfo();

class Failure extends Error {
  constructor(message: string, readonly temporary: boolean) {
    super(message);
  }
}

const toMailbox = async (data: Buffer): Promise<string> =>
  kind === 'maildir'
    ? `delivered to maildir ${await deliverToMaildir(mailbox, [data])}`
    : (await deliverToMbox(mailbox, mboxEntry(sender, [data], new Date())), `appended to ${mailbox}`);

/** The account's .forward items, or undefined without one; refuses one others could change. */
async function forwardItems(): Promise<AliasItem[] | undefined> {
  const file = path.join(me.homedir, '.forward');
  let fh;
  try {
    fh = await fsp.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Failure(`${file}: ${(err as Error).message}`, true);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.uid !== me.uid || st.mode & 0o022) throw new Failure(`${file}: owner/mode ${st.uid}/${(st.mode & 0o777).toString(8)} is unsafe: it must be ${me.username}'s and writable by nobody else`, true);
    return parseAddressFile(await fh.readFile('latin1'), file);
  } catch (err) {
    if (err instanceof Failure) throw err;
    throw new Failure((err as Error).message, true); // a syntax error: the user fixes it, the mail waits
  } finally {
    await fh.close();
  }
}

/** Sends `data` on to `to` with this account's sendmail (its maildrop). */
function resend(to: string[], data: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'bin/uugate'), 'sendmail', '-i', '--', ...to], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('error', (e) => reject(new Failure(`cannot run sendmail: ${e.message}`, true)));
    child.on('close', (code) => (code === 0 ? resolve(`sent on to ${to.join(', ')}`) : reject(new Failure(`sendmail ${to.join(' ')}: ${err.trim() || `exit ${code}`}`, code === 75))));
    child.stdin.end(data);
  });
}

async function deliver(data: Buffer): Promise<string[]> {
  const items = await forwardItems();
  if (!items) return [await toMailbox(data)];
  const done: string[] = [];
  const addresses: string[] = [];
  for (const it of items) {
    if (it.kind === 'program') done.push(await runProgram(it.argv!, { SENDER: sender, RECIPIENT: recipient }, [data]));
    else if (it.kind === 'file') done.push((await deliverToMbox(it.value, mboxEntry(sender, [data], new Date())), `appended to ${it.value}`));
    else if (it.kind === 'include') throw new Failure(`${it.file}:${it.line}: :include: is not obeyed in a .forward of a system account`, false);
    else if (it.noAlias && it.value.toLowerCase() === me.username.toLowerCase()) done.push(await toMailbox(data));
    else addresses.push(it.value);
  }
  // Sent on without our Return-Path line (the first): the receiving end adds its own.
  if (addresses.length) done.push(await resend(addresses, data.subarray(data.indexOf(0x0a) + 1)));
  return done;
}

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
try {
  process.stdout.write(`${(await deliver(Buffer.concat(chunks))).join('; ')}\n`);
} catch (err) {
  const temporary = err instanceof Failure ? err.temporary : (err as { temporary?: boolean }).temporary ?? fsFailure('', err, '').outcome === 'temp';
  process.stdout.write(`${err instanceof Failure ? err.message : fsFailure('', err, `delivery to ${mailbox} as ${me.username}`).reason}\n`);
  process.exitCode = temporary ? 75 : 77;
}
