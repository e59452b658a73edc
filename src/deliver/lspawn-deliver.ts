// A delivery running as a mailbox's own account, started by the lspawn helper
// (lspawn-helper.ts): `lspawn-deliver.js maildir|mbox PATH`, the message on
// stdin, already framed for the mailbox. Exit 0 and a line saying where it
// went; 75 for a failure worth retrying, 77 for one that is not.
import { deliverToMaildir } from './maildir.js';
import { deliverToMbox } from './mbox.js';
import { fsFailure } from './transport.js';

const [kind, file] = process.argv.slice(2);
const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const data = Buffer.concat(chunks);
try {
  if (kind === 'maildir') process.stdout.write(`delivered to maildir ${await deliverToMaildir(file, [data])}\n`);
  else {
    await deliverToMbox(file, data);
    process.stdout.write(`appended to ${file}\n`);
  }
} catch (err) {
  const r = fsFailure('', err, `delivery to ${file} as uid ${process.getuid!()}`);
  process.stdout.write(`${r.reason}\n`);
  process.exitCode = r.outcome === 'temp' ? 75 : 77;
}
