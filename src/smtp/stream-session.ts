// Runs an SmtpDialogue over a byte stream pair (stdin/stdout for `sendmail -bs`,
// or a socket): splits input into lines (CRLF or bare LF), writes CRLF replies.
import type { Readable, Writable } from 'node:stream';
import { SmtpDialogue, type DialogueHooks } from './dialogue.js';

export async function runSmtpSession(input: Readable, output: Writable, hooks: DialogueHooks): Promise<void> {
  const dialogue = new SmtpDialogue(hooks, (line) => output.write(`${line}\r\n`));
  dialogue.greet();
  let buf = Buffer.alloc(0);
  for await (const chunk of input) {
    buf = Buffer.concat([buf, chunk as Buffer]);
    let nl: number;
    while ((nl = buf.indexOf(0x0a)) >= 0) {
      const end = nl > 0 && buf[nl - 1] === 0x0d ? nl - 1 : nl;
      await dialogue.line(buf.subarray(0, end));
      buf = buf.subarray(nl + 1);
      if (dialogue.done) return;
    }
  }
}
