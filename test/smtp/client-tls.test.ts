// The smtp transport's TLS policy (config/tls_policy) against a real Exim that
// offers STARTTLS with a self-signed certificate: `verify` defers while the
// certificate cannot be checked and delivers once the CA file is given; `encrypt`
// defers a server without STARTTLS.
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeSite, flags, waitFor } from '../helpers/site.js';
import { startExim } from '../helpers/exim.js';
import { selfSignedCert } from '../helpers/tls-peers.js';
import { loadGateway, accept } from '../../src/runtime/gateway.js';
import { runQueue } from '../../src/runtime/runq.js';
import { listQueue } from '../../src/queue/mailq.js';

const MESSAGE = Buffer.from('From: alice@leaf.example.org\nTo: a@exim.test\nSubject: tls\n\nover TLS\n');

test.serial('verify: a self-signed certificate is refused and the message deferred; with ca= naming it, delivered over TLS', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uugate-client-tls-'));
  const pair = selfSignedCert(dir);
  const exim = await startExim({ tls: pair, extraMain: ['log_selector = +tls_cipher +tls_peerdn'] });
  t.teardown(() => exim.stop());
  // The next hop by name, so that there is a name for the certificate to match.
  const site = makeSite({ conf: { delivery_mode: 'queued' }, files: { hosts: `exim.test localhost:${exim.port}\n`, tls_policy: 'localhost verify\n' } });
  const gw = await loadGateway(flags(site));
  await accept(gw, { sender: 'alice', recipients: ['a@exim.test'], data: MESSAGE, origin: 'test' });
  t.like(await runQueue(gw), { delivered: 0, deferred: 1 });
  const [entry] = await listQueue(gw.spool);
  t.regex(entry.pending[0].lastError ?? '', /self[- ]signed certificate/i);
  t.is(exim.messages().length, 0);

  writeFileSync(path.join(site.config, 'tls_policy'), `localhost verify ca=${pair.cert}\n`);
  const gw2 = await loadGateway(flags(site));
  t.like(await runQueue(gw2, { force: true }), { delivered: 1, deferred: 0 });
  t.true(await waitFor(() => exim.messages().length === 1));
  t.regex(exim.mainlogText(), /<= alice@leaf\.example\.org .*X=TLS1\.[23]:/);
});

test.serial('encrypt: a server without STARTTLS is deferred; may (no line) sends in clear', async (t) => {
  const exim = await startExim();
  t.teardown(() => exim.stop());
  const site = makeSite({ conf: { delivery_mode: 'queued' }, files: { hosts: `exim.test ${exim.host}:${exim.port}\n`, tls_policy: `${exim.host} encrypt\n` } });
  const gw = await loadGateway(flags(site));
  await accept(gw, { sender: 'alice', recipients: ['a@exim.test'], data: MESSAGE, origin: 'test' });
  t.like(await runQueue(gw), { delivered: 0, deferred: 1 });
  const [entry] = await listQueue(gw.spool);
  t.regex(entry.pending[0].lastError ?? '', /STARTTLS/i);
  writeFileSync(path.join(site.config, 'tls_policy'), '');
  t.like(await runQueue(await loadGateway(flags(site)), { force: true }), { delivered: 1 });
});
