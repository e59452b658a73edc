// BSMTP and maildir flush commands:
//
//   uugate rsmtp                     a BSMTP batch on stdin (also the link name rsmtp)
//   uugate maildir2smtp MAILDIR PREFIX HOST[:PORT] HELOHOST
//   maildirsmtp DIR PREFIX HOST HELOHOST   (serialmail's name and argument order, as a link)
//   uugate maildir2bsmtp MAILDIR PREFIX [--helo NAME] [--keep]   the maildir as a BSMTP batch on stdout
//
// Exit codes: rsmtp 0 all accepted, 65 something bounced/refused/cut off, 75 a
// temporary failure (the rest of the batch was not acknowledged); maildir2smtp
// 0 all sent, 65 something bounced, 75 something stays (4xx, no connection,
// maildir locked by another flush).
import type { Command } from 'commander';
import { withLocationFlags } from './command-flags.js';
import { readStdin } from './run.js';
import { usageError } from '../util/errors.js';
import type { LocationFlags } from '../runtime/gateway.js';

export function registerBsmtpCommands(program: Command): void {
  withLocationFlags(program.command('rsmtp'))
    .alias('rgsmtp')
    .description('read a batch of SMTP transactions (BSMTP, plain or gzip) on standard input and queue each message')
    .action(async (opts: LocationFlags) => {
      process.exitCode = await rsmtpCommand(opts);
    });

  withLocationFlags(program.command('maildir2smtp'))
    .alias('maildirsmtp')
    .description('send the messages waiting in MAILDIR for PREFIX to an SMTP server (serialmail maildirsmtp)')
    .argument('<maildir>')
    .argument('<prefix>', 'Delivered-To prefix; the recipient is the rest of that line')
    .argument('<host>', 'host[:port] (port 25 by default)')
    .argument('<helohost>', 'name to give in EHLO/HELO')
    .option('--lifetime <seconds>', 'bounce temporarily refused messages older than this (default 1209600)')
    .option('--timeout <seconds>', 'read/write timeout (default 81/73)')
    .action(async (maildir: string, prefix: string, hostPort: string, helo: string, opts: LocationFlags & { lifetime?: string; timeout?: string }) => {
      const { flushMaildir, flushExitCode } = await import('../deliver/maildir-flush.js');
      const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort);
      if (!m) throw usageError(`bad host "${hostPort}" (host or host:port)`);
      const ms = opts.timeout ? Number(opts.timeout) * 1000 : undefined;
      const { resolveLocations } = await import('../config/locations.js');
      const { loadTlsPolicy, policyFor } = await import('../deliver/tls-policy.js');
      const host = m[1].replace(/^\[(.*)\]$/, '$1');
      const tlsPolicy = policyFor(await loadTlsPolicy(resolveLocations(opts).configDir), host);
      const bouncer = gatewayBouncer(opts);
      const r = await flushMaildir({
        maildir,
        prefix,
        host,
        tlsPolicy,
        port: m[2] ? Number(m[2]) : 25,
        helo,
        lifetime: opts.lifetime ? Number(opts.lifetime) : undefined,
        readTimeout: ms,
        writeTimeout: ms,
        report: (line) => process.stdout.write(`${line}\n`),
        bounce: (msg, reply) => bouncer.bounce(msg.sender, msg.body, msg.recipient, reply),
      });
      await bouncer.done();
      process.exitCode = flushExitCode(r);
    });

  withLocationFlags(program.command('maildir2bsmtp'))
    .description('write the messages waiting in MAILDIR for PREFIX as a BSMTP batch on standard output, then remove them')
    .argument('<maildir>')
    .argument('<prefix>')
    .option('--helo <name>', 'put HELO NAME ... QUIT around the batch')
    .option('--keep', 'leave the messages in the maildir')
    .action(async (maildir: string, prefix: string, opts: { helo?: string; keep?: boolean }) => {
      const { lockMaildir, maildirToBsmtp, removeMessages } = await import('../deliver/maildir-flush.js');
      const lock = await lockMaildir(maildir);
      try {
        const { batch, messages } = await maildirToBsmtp(maildir, prefix, opts.helo);
        await new Promise<void>((resolve, reject) => process.stdout.write(batch, (err) => (err ? reject(err) : resolve())));
        if (!opts.keep) await removeMessages(messages);
      } finally {
        await lock.release();
      }
    });
}

export async function rsmtpCommand(opts: LocationFlags): Promise<number> {
  const { loadGateway } = await import('../runtime/gateway.js');
  const { rsmtp } = await import('../inject/rsmtp.js');
  const { bsmtpExitCode } = await import('../bsmtp/reader.js');
  const { deliverAccepted } = await import('../runtime/after-accept.js');
  const { MAX_UNPACKED_BATCH, batchTooBig } = await import('../bsmtp/gzip.js');
  const gw = await loadGateway(opts);
  const input = await readStdin({ max: MAX_UNPACKED_BATCH, tooBig: batchTooBig });
  const r = await rsmtp(gw, input, { where: 'standard input', receivedFrom: process.env.UU_MACHINE, logAs: 'rsmtp' });
  if ('unreadable' in r) throw r.unreadable;
  process.stderr.write(r.report);
  if (r.ids.length) await deliverAccepted(gw, r.ids);
  return bsmtpExitCode(r.summary);
}

/** Bounces through the gateway's queue, loaded on first use; `done` starts delivery. */
function gatewayBouncer(opts: LocationFlags) {
  const ids: string[] = [];
  let gw: import('../runtime/gateway.js').Gateway | undefined;
  return {
    async bounce(sender: string, original: Buffer, rcpt: string, reply: string): Promise<void> {
      const { loadGateway, accept } = await import('../runtime/gateway.js');
      const { bounceRequest } = await import('../queue/bounce-send.js');
      gw ??= await loadGateway(opts);
      const status = /^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})/.exec(reply)?.[1] ?? (reply.startsWith('4') ? '4.0.0' : '5.0.0');
      const now = gw.clock();
      ids.push(await accept(gw, bounceRequest(gw.cfg, { to: sender, original, arrival: now, now, failed: [{ rcpt, status: status.replace(/^4/, '5'), reason: reply }] })));
    },
    async done(): Promise<void> {
      if (!gw || !ids.length) return;
      const { deliverAccepted } = await import('../runtime/after-accept.js');
      await deliverAccepted(gw, ids);
    },
  };
}
