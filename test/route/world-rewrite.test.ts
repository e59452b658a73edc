// Envelope and header rewriting when mail changes worlds: only the address text
// of From/To/Cc/... changes; the body and other headers stay byte for byte.
import test from 'ava';
import { makeSite, flags } from '../helpers/site.js';
import { loadGateway } from '../../src/runtime/gateway.js';
import { openRouter } from '../../src/runtime/routing.js';
import { rewriteForWorld, senderForWorld } from '../../src/route/world-rewrite.js';
import type { DeliveryJob } from '../../src/deliver/transport.js';

async function setup() {
  const site = makeSite({ files: { qualify: 'dusk example.net\n' } });
  const gw = await loadGateway(flags(site));
  const { tables, close } = await openRouter(gw);
  await close();
  return { gw, site: tables.site };
}

const job = (origin: string, sender: string, text: string): DeliveryJob => ({
  envelope: { id: 'x', sender, recipients: ['r'], arrival: 0, origin },
  data: Buffer.from(text, 'latin1'),
  recipients: [],
});

// The body carries header-like lines: they must not be touched.
const BODY = '\n\nFrom: alice\nTo: bob\nbody with From: carol and dusk!zed\n\xe9t\xe9\n';

test('mail from UUCP to SMTP: bang headers get the domain form, nothing else changes', async (t) => {
  const { gw, site } = await setup();
  const text = 'Received: from hub by leaf; Fri, 27 Nov 2026 10:00:00 +0000\nFrom: Zed <dusk!zed>\nTo: (Bob) bob@leaf,\n  dusk!amy\nX-Other: dusk!zed\nSubject: hi' + BODY;
  const out = rewriteForWorld(job('rmail', 'dusk!zed', text), 'inet', site, gw.cfg);
  t.is(out.envelope.sender, 'dusk!zed@leaf.example.org');
  t.is(
    out.data.toString('latin1'),
    'Received: from hub by leaf; Fri, 27 Nov 2026 10:00:00 +0000\nFrom: Zed <dusk!zed@leaf.example.org>\nTo: (Bob) bob@leaf.example.org,\n  dusk!amy@leaf.example.org\nX-Other: dusk!zed\nSubject: hi' + BODY,
  );
});

test('local submission to UUCP: bare names qualified; the envelope sender is relative to us', async (t) => {
  const { gw, site } = await setup();
  const out = rewriteForWorld(job('sendmail', 'alice@leaf.example.org', 'From: alice\nCc: carol, x@dusk\nSubject: s' + BODY), 'uucp', site, gw.cfg);
  t.is(out.envelope.sender, 'alice');
  t.is(out.data.toString('latin1'), 'From: alice@leaf.example.org\nCc: carol@leaf.example.org, x@dusk.example.net\nSubject: s' + BODY);
});

test('mail staying in its world keeps its headers; the envelope still takes the next hop\'s form', async (t) => {
  const { gw, site } = await setup();
  const text = 'From: dusk!zed\nSubject: s' + BODY;
  const out = rewriteForWorld(job('rmail', 'dusk!zed', text), 'uucp', site, gw.cfg);
  t.is(out.data.toString('latin1'), text);
  t.is(out.envelope.sender, 'dusk!zed');
  t.is(senderForWorld('', 'uucp', site), '', 'the null sender stays null');
  t.is(senderForWorld('leaf!hub!amy', 'uucp', site), 'hub!amy', 'our own name is stripped');
  t.is(senderForWorld('amy@far.example', 'uucp', site), 'far.example!amy');
});
