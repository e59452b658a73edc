import test from 'ava';
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { makeSite, maildirMessages, flags } from '../helpers/site.js';
import { loadGateway, accept } from '../../src/runtime/gateway.js';
import { defaultTransports } from '../../src/runtime/queue-owner.js';
import { runQueue } from '../../src/runtime/runq.js';
import { listQueue, formatQueue } from '../../src/queue/mailq.js';
import { splitMessage, getFields } from '../../src/message/headers.js';
import type { Transport, DeliveryJob } from '../../src/deliver/transport.js';
import type { AddressRouter } from '../../src/route/types.js';
import { openRouter } from '../../src/runtime/routing.js';

/** A remote transport that always defers, recording when it was tried. */
function flaky(times: number[], clock: () => number): Transport {
  return {
    name: 'uux',
    retryFactor: 20,
    async deliver(job: DeliveryJob) {
      times.push(clock());
      return job.recipients.map((r) => ({ rcpt: r.rcpt, outcome: 'temp' as const, status: '4.4.1', reason: 'hub did not answer' }));
    },
  };
}

function parseDsn(text: string): { header: string; parts: string[] } {
  const { header, body } = splitMessage(Buffer.from(text, 'latin1'));
  const boundary = /boundary="([^"]+)"/.exec(getFields(header, 'Content-Type')[0])![1];
  const parts = body.toString('latin1').split(`--${boundary}`).slice(1, -1);
  return { header, parts };
}

test('a temporary failure is retried on the (20n)² schedule and bounces with a DSN after queue_lifetime', async (t) => {
  const site = makeSite({ conf: { smart_path: 'hub', smart_transport: 'uux', queue_lifetime: '2h', delivery_mode: 'queued' } });
  let now = Date.UTC(2026, 10, 27, 12, 0, 0);
  const clock = (): number => now;
  const gw = await loadGateway(flags(site), clock);
  const tries: number[] = [];
  const transports = [...defaultTransports(gw), flaky(tries, clock)];
  const start = now;
  await accept(gw, { sender: 'bob@leaf.example.org', recipients: ['zed@far.example', 'amy@far.example'], data: Buffer.from('Subject: retry me\n\nbody\n'), origin: 'test' });
  // Walk the clock forward minute by minute for three hours, running the queue each time.
  for (let m = 0; m <= 180; m++) {
    now = start + m * 60_000;
    await runQueue(gw, { transports });
  }
  const offsets = tries.map((x) => (x - start) / 1000);
  // First attempt at once, then at 400 s, 1600 s, 3600 s, 6400 s; the 2 h lifetime caps the last one.
  t.deepEqual(offsets, [0, 420, 1620, 3600, 6420, 7200]);
  const [dsn] = maildirMessages(path.join(site.spool, 'mail/bob'));
  t.truthy(dsn, 'the sender got a bounce');
  t.regex(dsn, /^Return-Path: <>\n/);
  const { header, parts } = parseDsn(dsn);
  t.regex(header, /\nFrom: Mail Delivery System <MAILER-DAEMON@leaf\.example\.org>\n/);
  t.regex(header, /Content-Type: multipart\/report; report-type=delivery-status/);
  t.is(parts.length, 3);
  t.regex(parts[0], /<zed@far\.example>: queue_lifetime expired; last error: hub did not answer/);
  t.regex(parts[1], /Content-Type: message\/delivery-status/);
  t.regex(parts[1], /Reporting-MTA: dns; leaf\.example\.org/);
  for (const r of ['zed@far.example', 'amy@far.example']) t.regex(parts[1], new RegExp(`Final-Recipient: rfc822; ${r}\\nAction: failed\\nStatus: 5\\.4\\.1\\n`));
  t.regex(parts[2], /Content-Type: text\/rfc822-headers\n\n(?:.*\n)*Subject: retry me\n/);
  t.deepEqual(await listQueue(gw.spool), [], 'nothing left in the queue');
});

test('recipients routed to one destination get one copy; each keeps its own status in mailq and in the DSN', async (t) => {
  const site = makeSite({ conf: { smart_path: 'hub', smart_transport: 'uux', queue_lifetime: '1h', delivery_mode: 'queued' } });
  let now = Date.UTC(2026, 10, 27, 12, 0, 0);
  const gw = await loadGateway(flags(site), () => now);
  const seen: string[][] = [];
  const hub: Transport = {
    name: 'uux',
    retryFactor: 20,
    async deliver(job: DeliveryJob) {
      seen.push(job.recipients.map((r) => r.route.address));
      return job.recipients.map((r) => ({ rcpt: r.rcpt, outcome: 'temp' as const, status: '4.4.1', reason: 'hub did not answer' }));
    },
  };
  const transports = [...defaultTransports(gw), hub];
  // All three become far!zed for hub; amy is another recipient.
  await accept(gw, { sender: 'bob@leaf.example.org', recipients: ['zed@far', 'far!zed', 'leaf!far!zed', 'amy@far'], data: Buffer.from('Subject: dup\n\nbody\n'), origin: 'test' });
  await runQueue(gw, { transports });
  t.deepEqual(seen, [['far!zed', 'far!amy']]);
  const text = formatQueue(await listQueue(gw.spool), now, true);
  for (const r of ['zed@far', 'far!zed', 'leaf!far!zed', 'amy@far']) t.regex(text, new RegExp(`deferred ${r} via smart_host/uux 4\\.4\\.1: hub did not answer`), text);
  now += 2 * 3600_000;
  await runQueue(gw, { transports });
  t.is(seen.length, 2);
  const [dsn] = maildirMessages(path.join(site.spool, 'mail/bob'));
  const { parts } = parseDsn(dsn);
  for (const r of ['zed@far', 'far!zed', 'leaf!far!zed', 'amy@far']) t.regex(parts[1], new RegExp(`Final-Recipient: rfc822; ${r}\nAction: failed\nStatus: 5\\.4\\.1\n`));
  t.deepEqual(await listQueue(gw.spool), []);
});

test('a bounce that cannot be delivered goes to the postmaster; no bounce of a bounce', async (t) => {
  const site = makeSite({ conf: { delivery_mode: 'queued' } });
  const gw = await loadGateway(flags(site));
  // Undeliverable message from an unknown local user: its bounce fails too.
  await accept(gw, { sender: 'ghost@leaf.example.org', recipients: ['nobody@leaf.example.org'], data: Buffer.from('Subject: s\n\nx\n'), origin: 'test' });
  for (let i = 0; i < 3; i++) await runQueue(gw);
  const pm = maildirMessages(path.join(site.spool, 'mail/alice'));
  t.is(pm.length, 1, 'exactly one double bounce to the postmaster');
  t.regex(pm[0], /Final-Recipient: rfc822; ghost@leaf\.example\.org/);
  t.regex(pm[0], /^Return-Path: <>\n/);
  // A failed message whose sender is null produces exactly one double bounce, then nothing.
  await accept(gw, { sender: '', recipients: ['nobody2@leaf'], data: Buffer.from('Subject: b\n\nx\n'), origin: 'test' });
  for (let i = 0; i < 3; i++) await runQueue(gw);
  t.is(maildirMessages(path.join(site.spool, 'mail/alice')).length, 2);
  t.deepEqual(await listQueue(gw.spool), []);
});

test('error_copy_postmaster copies bounces; mailq -v shows attempts and the last error', async (t) => {
  const site = makeSite({ conf: { smart_path: 'hub', error_copy_postmaster: true, delivery_mode: 'queued' } });
  let now = Date.now();
  const gw = await loadGateway(flags(site), () => now);
  const transports = [...defaultTransports(gw), flaky([], () => now)];
  await accept(gw, { sender: 'bob', recipients: ['x@far.example'], data: Buffer.from('Subject: s\n\nx\n'), origin: 'test' });
  await runQueue(gw, { transports });
  const text = formatQueue(await listQueue(gw.spool), now, true);
  t.regex(text, /<bob>\n {8}x@far\.example\n {10}\(hub did not answer\)\n/);
  t.regex(text, /deferred x@far\.example via smart_host\/uux 4\.4\.1: hub did not answer/);
  now += 8 * 86400_000;
  await runQueue(gw, { transports });
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 1);
  t.is(maildirMessages(path.join(site.spool, 'mail/alice')).length, 1, 'postmaster copy');
});

test('a message with max_hop_count Received: headers is bounced, never routed', async (t) => {
  const site = makeSite({ conf: { max_hop_count: '5', delivery_mode: 'queued' } });
  const gw = await loadGateway(flags(site));
  let routed = 0;
  const { router: base } = await openRouter(gw);
  const router: AddressRouter = { route: (r) => { if (r.addr === 'bob') routed++; return base.route(r); } };
  const hops = Array.from({ length: 4 }, (_, i) => `Received: from h${i} by h${i + 1}; Fri, 27 Nov 2026 10:00:00 +0000\n`).join('');
  await accept(gw, { sender: 'alice', recipients: ['bob'], data: Buffer.from(`${hops}Subject: loop\n\nx\n`), origin: 'rmail', receivedFrom: 'hub' });
  await runQueue(gw, { router });
  t.is(routed, 0);
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 0);
  const [dsn] = maildirMessages(path.join(site.spool, 'mail/alice'));
  t.regex(dsn, /Status: 5\.4\.6/);
  t.regex(dsn, /too many hops: 5 Received: headers/);
  await fsp.rm(site.dir, { recursive: true });
});
