// `sendmail -bs`: the SMTP engine (engine.ts, local mode) over a byte stream
// pair, stdin/stdout. Every recipient is taken (a local submitter, as with
// `sendmail RCPT...`); what cannot be delivered is bounced later.
import type { Readable, Writable } from 'node:stream';
import { SmtpSession, type Transaction, type Verdict } from './engine.js';

export interface StreamSessionOptions {
  hostname: string;
  /** SIZE: bytes as transmitted. */
  sizeLimit: number;
}

/** Recipients per message: far beyond any hand-written one. */
const MAX_RECIPIENTS = 1000;

/** Runs the dialogue until QUIT or the end of `input`; `message` queues each message. */
export function runSmtpSession(input: Readable, output: Writable, opts: StreamSessionOptions, message: (tx: Transaction, data: Buffer) => Promise<Verdict>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const session = new SmtpSession(
      { ...opts, client: 'local user', maxRecipients: MAX_RECIPIENTS, mode: 'local' },
      {
        send: (text, close) => {
          output.write(text);
          if (!close) return;
          input.destroy();
          resolve();
        },
        rcpt: () => undefined,
        message,
        hold: (on) => (on ? input.pause() : input.resume()),
      },
    );
    input.on('data', (chunk: Buffer) => session.receive(chunk));
    input.once('end', () => session.finish().then(() => resolve(), reject));
    input.once('error', reject);
    session.start('uugate ready');
  });
}
