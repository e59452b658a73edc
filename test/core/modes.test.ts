import test from 'ava';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { makeSite, run, maildirMessages, waitFor } from '../helpers/site.js';
import { serve, swaks } from '../smtp/server-helpers.js';

const MSG = 'From x Fri Nov 27 10:00:00 2026 remote from hub\nSubject: m\n\nx\n';


test('delivery_mode=background: rmail returns at once and a detached runner delivers', async (t) => {
  const site = makeSite({ conf: { delivery_mode: 'background' } });
  const r = await run(site, ['rmail', 'bob'], MSG);
  t.is(r.code, 0, r.stderr);
  t.true(await waitFor(() => maildirMessages(path.join(site.spool, 'mail/bob')).length === 1));
});

test('delivery_mode=queued and queue_only leave the message for runq', async (t) => {
  const confs: Array<Record<string, string | boolean>> = [{ delivery_mode: 'queued' }, { delivery_mode: 'foreground', queue_only: true }];
  for (const conf of confs) {
    const site = makeSite({ conf });
    t.is((await run(site, ['rmail', 'bob'], MSG)).code, 0);
    await new Promise((r) => setTimeout(r, 300));
    t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 0, JSON.stringify(conf));
    t.regex((await run(site, ['mailq'])).stdout, /1 message in queue/);
    t.regex((await run(site, ['runq'])).stdout, /1 messages: 1 delivered/);
    t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 1);
  }
});

test('log_json writes the events as JSON lines beside the logfile', async (t) => {
  const site = makeSite({ conf: { log_json: true } });
  t.is((await run(site, ['rmail', 'bob'], MSG)).code, 0);
  const lines = readFileSync(path.join(site.spool, 'log/log.json'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.deepEqual(lines.map((l) => l.event), ['received', 'delivered']);
  t.is(lines[1].rcpt, 'bob');
  t.is(lines[1].transport, 'maildir');
  t.regex(readFileSync(path.join(site.spool, 'log/logfile'), 'utf8'), /Delivered TO:<bob> ROUTER:user TRANSPORT:maildir/);
});

test('delivery_mode=background under a standalone SMTP server: a burst over parallel connections is all delivered', async (t) => {
  // All 20 come from 127.0.0.1: above the default of 10 per client.
  const s = await serve({ conf: { delivery_mode: 'background', smtp_max_per_client: '20', smtp_max_connections: '40' } });
  t.teardown(() => s.close());
  const sent = await Promise.all(Array.from({ length: 20 }, (_, i) => swaks(s.port, ['--from', 'x@lan.example', '--to', 'bob@leaf.example.org', '--body', `message ${i}\n`])));
  for (const r of sent) t.is(r.code, 0, r.out);
  const box = path.join(s.site.spool, 'mail/bob');
  t.true(await waitFor(() => maildirMessages(box).length === 20, 30_000), `${maildirMessages(box).length} of 20 delivered`);
});
