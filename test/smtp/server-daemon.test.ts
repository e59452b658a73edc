// `uugate daemon` with smtp_listen: the SMTP service starts with the daemon, mail
// taken by SMTP is delivered at once (the daemon owns the queue), SIGTERM stops
// the listener; an explicit smtp_listen that cannot be bound stops the daemon.
import test from 'ava';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { makeSite, maildirMessages, run, UUGATE, waitFor, freePort } from '../helpers/site.js';
import { swaks, rawSession } from './server-helpers.js';


test('the daemon runs the SMTP listener, delivers what it takes, and closes it on SIGTERM', async (t) => {
  const port = await freePort();
  const site = makeSite({ conf: { delivery_mode: 'queued', queue_interval: '1h', smtp_listen: `127.0.0.1:${port}` } });
  const child = spawn(process.execPath, [UUGATE, 'daemon'], { env: site.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr!.on('data', (d) => (out += d));
  t.teardown(() => child.kill('SIGKILL'));
  t.true(await waitFor(() => /smtp: listening on 127\.0\.0\.1:\d+/.test(out)), out);
  const r = await swaks(port, ['--from', 'x@lan.example', '--to', 'bob@leaf.example.org', '--body', 'via the daemon\n']);
  t.is(r.code, 0, r.out);
  t.true(await waitFor(() => maildirMessages(path.join(site.spool, 'mail/bob')).length === 1), 'delivered without waiting for queue_interval');
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  t.is(await exit, 0);
  t.regex(await rawSession(port, [], { timeoutMs: 1000 }), /^$/, 'nothing listens any more');
});

test('an explicit smtp_listen that is taken stops the daemon (exit 75)', async (t) => {
  const port = await freePort();
  const blocker = (await import('node:net')).createServer().listen(port, '127.0.0.1');
  t.teardown(() => blocker.close());
  const site = makeSite({ conf: { smtp_listen: `127.0.0.1:${port}` } });
  const r = await run(site, ['daemon']);
  t.is(r.code, 75, r.stderr);
  t.regex(r.stderr, /smtp: cannot listen: .*EADDRINUSE/);
});

test('bad smtp_listen and relay_networks values are configuration errors (exit 78, file:line)', async (t) => {
  for (const [k, v, msg] of [
    ['smtp_listen', 'localhost', /not host:port/],
    ['smtp_listen', '127.0.0.1:99999', /out of range/],
    ['relay_networks', '10.0.0.0/33', /prefix \/33 is too long/],
    ['relay_networks', 'lan', /not an address or CIDR block/],
  ] as const) {
    const site = makeSite({ conf: { [k]: v } });
    const r = await run(site, ['mailq']);
    t.is(r.code, 78, `${k}=${v}`);
    t.regex(r.stderr, new RegExp(`uugate\\.conf:\\d+: ${k}: .*${msg.source}`));
  }
});
