// The bsmtp transport in-process: routing picks it for bsmtp_neighbors, the null
// sender stays <>, a partial append left by a crash is cut off, flush() sends
// what is pending, and the batch reads back through our own reader.
import test from 'ava';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { flags, makeSite, maildirMessages, run } from '../helpers/site.js';
import { loadGateway } from '../../src/runtime/gateway.js';
import { createBsmtpTransport } from '../../src/deliver/bsmtp.js';
import type { DeliveryJob } from '../../src/deliver/transport.js';

const job = (sender: string, subject: string): DeliveryJob => ({
  envelope: { id: subject, sender, recipients: ['far.example!bob'], arrival: Date.now(), origin: 'test' },
  data: Buffer.from(`Subject: ${subject}\n\nbody\n`),
  recipients: [{ rcpt: 'far.example!bob', route: { transport: 'bsmtp', nextHop: 'hub', address: 'far.example!bob', router: 'test', why: [] } }],
});

test('uugate route: a neighbour in bsmtp_neighbors gets the bsmtp transport, others keep uux', async (t) => {
  const site = makeSite({ conf: { bsmtp_neighbors: 'hub' } });
  writeFileSync(path.join(site.uucp, 'sys'), 'system hub\nsystem dusk\n');
  const r = await run(site, ['route', 'hub!far.example!bob', 'dusk!amy']);
  t.is(r.code, 0, r.stderr);
  const [hub, dusk] = r.stdout.split('\n\n');
  t.regex(hub, /bsmtp/);
  t.notRegex(dusk, /bsmtp/);
  t.regex(dusk, /uux/);
});

test('a partial transaction left by a crash is cut off before the next append; flush sends a batch our reader accepts', async (t) => {
  const site = makeSite({ conf: { delivery_mode: 'foreground', bsmtp_neighbors: 'hub' } });
  writeFileSync(path.join(site.uucp, 'sys'), 'system hub\n');
  const gw = await loadGateway(flags(site));
  const tr = createBsmtpTransport(gw);
  t.is((await tr.deliver(job('alice', 'one')))[0].outcome, 'ok');
  const pending = path.join(site.spool, 'bsmtp/hub/pending');
  appendFileSync(pending, 'MAIL FROM:<leaf!x>\nRCPT TO:<y>\nDATA\nSubject: half'); // crash mid-append
  t.is((await tr.deliver(job('', 'two')))[0].outcome, 'ok');
  const text = readFileSync(pending, 'latin1');
  t.false(text.includes('half'));
  t.is(text, 'MAIL FROM:<leaf!alice>\nRCPT TO:<far.example!bob>\nDATA\nSubject: one\n\nbody\n.\nMAIL FROM:<>\nRCPT TO:<far.example!bob>\nDATA\nSubject: two\n\nbody\n.\n');
  await tr.flush();
  t.false(existsSync(pending));
  const dir = path.join(site.spool, 'uucp/hub/D.');
  const batches = readdirSync(dir).map((n) => readFileSync(path.join(dir, n), 'latin1')).filter((b) => b.startsWith('HELO leaf\n'));
  t.is(batches.length, 1);
  t.true(batches[0].endsWith('.\nQUIT\n'));
  // Read it back here, with the recipients made local.
  const back = await run(site, ['rsmtp'], batches[0].replaceAll('far.example!bob', 'bob'));
  t.is(back.code, 0, back.stderr);
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 2);
});
