// UUCP neighbours in seven_bit_neighbors get 8-bit mail made 7-bit (the uux
// job's data file, the BSMTP batch); others get it as it is; a message with
// 8-bit headers is refused for them (5.6.3).
import test from 'ava';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as libqp from 'libqp';
import { makeSite, flags } from '../helpers/site.js';
import { loadGateway } from '../../src/runtime/gateway.js';
import { createUuxTransport } from '../../src/deliver/uux.js';
import { createBsmtpTransport } from '../../src/deliver/bsmtp.js';
import type { DeliveryJob } from '../../src/deliver/transport.js';

const BODY = Buffer.from('caf\xe9 cr\xe8me\ntrailing  \nend\n', 'latin1');
const HEAD = 'From: alice@leaf.example.org\nSubject: 8bit\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n';

function job(transport: string, data: Buffer): DeliveryJob {
  return {
    envelope: { id: 'test-1', sender: 'alice', recipients: ['bob@far.example'], arrival: Date.now(), origin: 'test' },
    data,
    recipients: [{ rcpt: 'bob@far.example', route: { transport, nextHop: 'hub', address: 'far.example!bob', router: 'test', why: [] } }],
  };
}

async function site(conf: Record<string, string>) {
  const s = makeSite({ conf });
  writeFileSync(path.join(s.uucp, 'sys'), 'system hub\ncommands rmail rsmtp\n');
  return { s, gw: await loadGateway(flags(s)) };
}

const bodyOf = (text: string): string => text.slice(text.indexOf('\n\n') + 2);

test('uux: the rmail job for a 7-bit neighbour carries quoted-printable that decodes to the original body', async (t) => {
  const { s, gw } = await site({ seven_bit_neighbors: 'hub' });
  const [r] = await createUuxTransport(gw).deliver(job('uux', Buffer.concat([Buffer.from(HEAD), BODY])));
  t.is(r.outcome, 'ok', r.reason);
  const dir = path.join(s.spool, 'uucp/hub/D.');
  const data = readFileSync(path.join(dir, readdirSync(dir).find((n) => !n.includes('X'))!), 'latin1');
  t.regex(data, /^From alice .* remote from leaf\n/);
  t.false(/[\x80-\xff]/.test(data));
  t.regex(data, /Content-Transfer-Encoding: quoted-printable/);
  t.true(libqp.decode(bodyOf(data)).equals(BODY));
});

test('bsmtp: the batch for a 7-bit neighbour is 7-bit; a neighbour not listed gets the 8-bit bytes', async (t) => {
  for (const [listed, conf] of [[true, { bsmtp_neighbors: 'hub', seven_bit_neighbors: 'HUB' }], [false, { bsmtp_neighbors: 'hub' }]] as const) {
    const { s, gw } = await site(conf);
    const [r] = await createBsmtpTransport(gw).deliver(job('bsmtp', Buffer.concat([Buffer.from(HEAD), BODY])));
    t.is(r.outcome, 'ok', r.reason);
    const pending = readFileSync(path.join(s.spool, 'bsmtp/hub/pending'), 'latin1');
    t.is(/[\x80-\xff]/.test(pending), !listed);
  }
});

test('8-bit header bytes for a 7-bit neighbour: refused 5.6.3, nothing queued for it', async (t) => {
  const { s, gw } = await site({ seven_bit_neighbors: 'hub' });
  const [r] = await createUuxTransport(gw).deliver(job('uux', Buffer.from('From: J\xf6rg <alice@leaf.example.org>\n\nx\xe9\n', 'latin1')));
  t.like(r, { outcome: 'perm', status: '5.6.3' });
  t.regex(r.reason, /hub does not take 8-bit mail and the message cannot be converted: 8-bit bytes in the message header/);
  t.throws(() => readdirSync(path.join(s.spool, 'uucp/hub/D.')));
});
