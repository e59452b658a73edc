// The status listener off loopback: without status_password_file the daemon
// says why at start-up and does not listen; with it every path asks for HTTP
// basic auth, the start-up line warns about plain HTTP, and nothing but
// GET/HEAD is answered.
import test from 'ava';
import { freePort, makeSite } from '../helpers/site.js';
import { startOpsDaemon } from '../helpers/ops-site.js';

test('off loopback without a password file: a start-up warning and no listener', async (t) => {
  const port = await freePort();
  const site = makeSite({ conf: { status_listen: `0.0.0.0:${port}`, smtp_listen: '' } });
  const d = await startOpsDaemon(site);
  try {
    t.regex(d.output(), new RegExp(`status: off: 0\\.0\\.0\\.0:${port} is not loopback and status_password_file is not set`));
    await t.throwsAsync(fetch(`http://127.0.0.1:${port}/metrics`));
  } finally {
    await d.stop();
  }
});

test('off loopback with a password file: basic auth on every path, a warning, read-only', async (t) => {
  const port = await freePort();
  const site = makeSite({ conf: { status_listen: `0.0.0.0:${port}`, status_password_file: 'status.passwd', smtp_listen: '' }, files: { 'status.passwd': '# operators\nops:s3cret pass\n' } });
  const d = await startOpsDaemon(site);
  try {
    t.regex(d.output(), /status: http:\/\/0\.0\.0\.0:\d+\/ \(metrics at \/metrics\), password required; WARNING: basic auth over plain HTTP/);
    const url = `http://127.0.0.1:${port}`;
    const auth = (user: string, pw: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` });
    for (const p of ['/', '/metrics', '/status.json', '/chart.umd.min.js']) {
      const r = await fetch(url + p);
      t.is(r.status, 401, p);
      t.regex(r.headers.get('www-authenticate') ?? '', /^Basic realm="uugate status"/);
    }
    t.is((await fetch(`${url}/metrics`, { headers: auth('ops', 'wrong') })).status, 401);
    t.is((await fetch(`${url}/metrics`, { headers: auth('root', 's3cret pass') })).status, 401);
    const ok = await fetch(`${url}/metrics`, { headers: auth('ops', 's3cret pass') });
    t.is(ok.status, 200);
    t.regex(await ok.text(), /uugate_queue_messages 0/);
    t.is((await fetch(`${url}/`, { method: 'POST', headers: auth('ops', 's3cret pass') })).status, 405);
  } finally {
    await d.stop();
  }
});
