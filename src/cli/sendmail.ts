// sendmail-compatible entry point: -bm (deliver, default), -bp (mailq), -q (runq),
// -bs (SMTP on stdin/stdout), -bS (BSMTP batch on stdin), -t, -i/-oi, -f, -F.
import { parseSendmailArgs } from './sendmail-args.js';
import { readStdin } from './run.js';
import { accept, loadGateway } from '../runtime/gateway.js';
import { deliverAccepted } from '../runtime/after-accept.js';
import { runQueue } from '../runtime/runq.js';
import { submit } from '../inject/submission.js';
import { formatQueue, listQueue } from '../queue/mailq.js';
import { runSmtpSession } from '../smtp/stream-session.js';
import { GatewayError, EX } from '../util/errors.js';

export async function sendmailMain(argv: string[]): Promise<void> {
  const a = parseSendmailArgs(argv);
  const gw = await loadGateway(a.locations);
  switch (a.mode) {
    case 'print-queue':
      process.stdout.write(formatQueue(await listQueue(gw.spool), gw.clock(), a.verbose));
      return;
    case 'run-queue':
      await runQueue(gw);
      return;
    case 'smtp': {
      const ids: string[] = [];
      await runSmtpSession(process.stdin, process.stdout, { hostname: gw.cfg.visible_name, sizeLimit: gw.cfg.message_size_limit }, async (tx, data) => {
        const id = await accept(gw, { sender: tx.sender, recipients: tx.recipients, data, origin: 'sendmail-bs', protocol: tx.protocol, receivedFrom: tx.helo });
        ids.push(id);
        return { code: 250, status: '2.0.0', text: `queued as ${id}` };
      });
      if (ids.length) await deliverAccepted(gw, ids);
      return;
    }
    case 'deliver': {
      const id = await submit(gw, { ...a, sender: a.sender === '<>' ? '' : a.sender, input: process.stdin });
      await deliverAccepted(gw, [id]);
      return;
    }
    case 'batch-smtp': {
      // -bS: a BSMTP batch on stdin, read with Exim's -bS semantics (inject/bsmtp-reader.ts).
      const { readBsmtp } = await import('../inject/bsmtp-reader.js');
      const { bsmtpExitCode, formatProblems } = await import('../bsmtp/reader.js');
      const { MAX_UNPACKED_BATCH, batchTooBig } = await import('../bsmtp/gzip.js');
      const s = await readBsmtp(gw, await readStdin({ max: MAX_UNPACKED_BATCH, tooBig: batchTooBig }), { origin: 'sendmail-bS' });
      process.stderr.write(formatProblems(s));
      const ids = [...s.accepted, ...s.bounces];
      if (ids.length) await deliverAccepted(gw, ids);
      process.exitCode = bsmtpExitCode(s);
      return;
    }
    case 'test-route':
    case 'verify':
      return (await import('./route-commands.js')).routeCommand(a.locations, a.recipients);
    default:
      throw new GatewayError(`sendmail -b mode "${a.mode}" is not built yet`, { exitCode: EX.CONFIG });
  }
}
