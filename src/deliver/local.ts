// Local transports: maildir, mbox, file (an mbox-format file named by an alias)
// and pipe. Each adds Return-Path and Delivered-To and refuses Delivered-To loops.
import { spawn } from 'node:child_process';
import { deliverToMaildir } from './maildir.js';
import { deliverToMbox, mboxEntry, MailboxLockedError } from './mbox.js';
import { deliveryPrefix, isDeliveryLoop } from './local-headers.js';
import { fsFailure, ok, perm, temp, type DeliveryJob, type DeliveryResult, type RoutedRecipient, type Transport } from './transport.js';

export type Writer = (job: DeliveryJob, r: RoutedRecipient, parts: Buffer[]) => Promise<string>;

/** Runs `write` once per recipient with the loop check and error classification. */
export function localTransport(name: string, write: Writer): Transport {
  return {
    name,
    retryFactor: 10,
    async deliver(job) {
      const results: DeliveryResult[] = [];
      for (const r of job.recipients) results.push(await deliverOne(job, r, write));
      return results;
    },
  };
}

async function deliverOne(job: DeliveryJob, r: RoutedRecipient, write: Writer): Promise<DeliveryResult> {
  const deliveredTo = r.route.address;
  if (isDeliveryLoop(job.data, deliveredTo))
    return perm(r.rcpt, `mail loop: message already delivered to ${deliveredTo} (Delivered-To)`, '5.4.6');
  const parts = [deliveryPrefix(job.envelope.sender, deliveredTo), job.data];
  try {
    return ok(r.rcpt, await write(job, r, parts));
  } catch (err) {
    if (err instanceof MailboxLockedError) return temp(r.rcpt, err.message, '4.2.1');
    if (err instanceof ProgramError) return err.result(r.rcpt);
    return fsFailure(r.rcpt, err, `delivery to ${r.route.destination ?? r.route.argv?.join(' ')}`);
  }
}

export const maildirTransport = localTransport('maildir', async (_job, r, parts) => {
  const file = await deliverToMaildir(r.route.destination!, parts);
  return `delivered to maildir ${file}`;
});

const mboxWriter: Writer = async (job, r, parts) => {
  await deliverToMbox(r.route.destination!, mboxEntry(job.envelope.sender, parts, new Date()));
  return `appended to ${r.route.destination}`;
};
export const mboxTransport = localTransport('mbox', mboxWriter);
export const fileTransport = localTransport('file', mboxWriter);

/** A delivery that ran elsewhere (a program, a child as another user) and said how it failed. */
export class ProgramError extends Error {
  constructor(message: string, readonly temporary: boolean) {
    super(message);
  }
  result(rcpt: string): DeliveryResult {
    return this.temporary ? temp(rcpt, this.message, '4.3.0') : perm(rcpt, this.message, '5.3.0');
  }
}

/** What a delivery program learns about the message besides its bytes. */
export const programEnv = (job: DeliveryJob, r: RoutedRecipient): Record<string, string> => ({ SENDER: job.envelope.sender, RECIPIENT: r.rcpt });

/**
 * Pipe delivery (the pipe transport is deliver/lspawn.ts's aliasPipeTransport):
 * argv comes from configuration (an alias), never from the address, and runs
 * without a shell. Exit 75 (EX_TEMPFAIL) defers, other non-zero fails. `as`
 * runs it as another account (the lspawn helper, as root).
 */
export function runProgram(argv: string[], env: Record<string, string>, parts: Buffer[], as: { uid?: number; gid?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      ...as,
      cwd: '/',
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', ...env },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-500); });
    child.on('error', (err) => reject(new ProgramError(`cannot run ${argv[0]}: ${err.message}`, false)));
    child.stdin.on('error', () => undefined); // a program that exits early is judged by its status
    child.on('close', (code, signal) => {
      if (code === 0) resolve(`piped to ${argv.join(' ')}`);
      else reject(new ProgramError(`${argv[0]} ${signal ? `killed by ${signal}` : `exited ${code}`}${stderr ? `: ${stderr.trim()}` : ''}`, code === 75 || !!signal));
    });
    child.stdin.end(Buffer.concat(parts));
  });
}
