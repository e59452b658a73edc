// The operator's view end to end: a daemon takes one message from Taylor
// UUCP (uux + uucico calling its UUCP listener) and one over SMTP, refuses a
// relay attempt and queues one for hub; then its /metrics pass `promtool
// check metrics`, a real Prometheus scraping it answers a query with the
// counts, the status page in headless Chromium shows the right numbers and
// drawn charts and refreshes in place; a call placed by a separate uucico
// process is counted; and the counters survive a restart over a rotated log.
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { freePort, maildirMessages, ROOT, run } from '../helpers/site.js';
import { requireTaylor, taylorListens } from '../helpers/taylor.js';
import { fetchText, opsSite, sample, sendBySmtp, sendThroughTaylor, startOpsDaemon, until, type OpsSite, type RunningDaemon } from '../helpers/ops-site.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTEFACTS = path.join(ROOT, 'dist/test-artefacts');

let o: OpsSite;
let daemon: RunningDaemon;

test.before(async () => {
  requireTaylor();
  for (const p of ['/usr/bin/promtool', '/usr/bin/prometheus', CHROMIUM, '/usr/bin/swaks'])
    if (!existsSync(p)) throw new Error(`${p} missing (run test/install-peers.sh)`);
  o = await opsSite();
  daemon = await startOpsDaemon(o.site);
  await sendThroughTaylor(o, 'through Taylor');
  if ((await sendBySmtp(o, 'alice@leaf.example.org', 'over SMTP')) !== 0) throw new Error('swaks failed');
  await sendBySmtp(o, 'someone@elsewhere.example.net', 'relay attempt');
  // Mail for the hub waits in the UUCP spool until hub calls again: a job for the neighbours table.
  const queued = await run(o.site, ['sendmail', '-f', 'alice', 'hub!bob'], 'Subject: for bob\n\nWaits for the next call.\n');
  if (queued.code !== 0) throw new Error(`sendmail: ${queued.stderr}`);
  await until('both messages delivered', async () => maildirMessages(path.join(o.site.spool, 'mail/alice')).length === 2);
});

test.after.always(async () => {
  await daemon?.stop();
});

test.serial('/metrics counts both messages by entry point, the call and the refusal, and passes promtool check metrics', async (t) => {
  // Each figure reaches the daemon when its process writes its log line: wait for all, then compare each.
  const expected: Array<[string, Record<string, string>, number, string?]> = [
    ['uugate_messages_received_total', { entry: 'rmail' }, 1],
    ['uugate_messages_received_total', { entry: 'smtp' }, 1],
    ['uugate_deliveries_total', { transport: 'maildir', result: 'delivered' }, 2],
    ['uugate_delivery_duration_seconds_count', { transport: 'maildir' }, 2],
    ['uugate_uucp_calls_total', { system: 'hub', result: 'ok' }, 1],
    ['uugate_uucp_files_total', { system: 'hub', direction: 'received' }, 1, 'the data file (its execute file is not counted)'],
    ['uugate_refusals_total', { entry: 'smtp', reason: 'no-route' }, 1],
    ['uugate_smtp_connections_total', { listener: 'smtp', tls: 'no' }, 2, 'both swaks runs, counted as they closed'],
    ['uugate_uucp_messages_total', { system: 'hub', direction: 'received' }, 1],
    ['uugate_uucp_messages_total', { system: 'hub', direction: 'sent' }, 1],
    ['uugate_queue_messages', {}, 0],
    ['uugate_smtp_connections', {}, 0, 'swaks has gone'],
    ['uugate_uucp_jobs_waiting', { system: 'hub' }, 1],
  ];
  let text = '';
  await until('the counts in /metrics', async () => {
    text = await fetchText(`${o.base}metrics`);
    return expected.every(([name, labels, n]) => sample(text, name, labels) === n) ? text : undefined;
  }).catch(() => undefined);
  for (const [name, labels, n, why] of expected) t.is(sample(text, name, labels), n, why ?? `${name} ${JSON.stringify(labels)}`);
  t.true(sample(text, 'uugate_uucp_bytes_total', { system: 'hub', direction: 'received' })! > 0);
  t.true(sample(text, 'uugate_uucp_last_success_timestamp_seconds', { system: 'hub' })! > Date.now() / 1000 - 600);
  t.true(sample(text, 'uugate_uucp_bytes_waiting', { system: 'hub' })! > 0);
  t.notRegex(text, /alice|dave|elsewhere/, 'no addresses in labels');
  const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  t.is(check.status, 0, check.stdout + check.stderr);
});

test.serial('a Prometheus server scraping the daemon answers a query with the message counts', async (t) => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'uuops-prom-'));
  const port = await freePort();
  await fsp.writeFile(
    path.join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: uugate\n    static_configs:\n      - targets: ['127.0.0.1:${o.statusPort}']\n`,
  );
  const prom: ChildProcess = spawn('/usr/bin/prometheus', [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/data`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  try {
    const query = encodeURIComponent('sum by (entry) (uugate_messages_received_total{job="uugate"})');
    const result = await until(
      'Prometheus to scrape the daemon',
      async () => {
        const r = (await (await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${query}`)).json()) as { data: { result: Array<{ metric: { entry: string }; value: [number, string] }> } };
        return r.data.result.length >= 3 ? r.data.result : undefined;
      },
      60_000,
    );
    const counts = Object.fromEntries(result.map((r) => [r.metric.entry, r.value[1]]));
    t.deepEqual(counts, { rmail: '1', sendmail: '1', smtp: '1' });
  } finally {
    prom.kill('SIGTERM');
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test.serial('the example alert rules in docs/watching.md pass promtool check rules', async (t) => {
  const doc = readFileSync(path.join(ROOT, 'docs/watching.md'), 'utf8');
  const rules = /```yaml\n(groups:[\s\S]*?)```/.exec(doc)?.[1];
  t.truthy(rules, 'a ```yaml block starting with groups: in docs/watching.md');
  const file = path.join(await fsp.mkdtemp(path.join(os.tmpdir(), 'uuops-rules-')), 'uugate.rules.yml');
  await fsp.writeFile(file, rules!);
  const check = spawnSync('/usr/bin/promtool', ['check', 'rules', file], { encoding: 'utf8' });
  t.is(check.status, 0, check.stdout + check.stderr);
  t.regex(check.stdout, /SUCCESS: [3-9] rules found/);
});

async function browser(): Promise<BrowserContext> {
  const profile = await fsp.mkdtemp(path.join(os.tmpdir(), 'uuops-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Per chart: the number of data points Chart.js holds and the canvas pixels that are not blank. */
const CHART_STATE = `Array.from(document.querySelectorAll('canvas')).map((c) => {
  const chart = Chart.getChart(c);
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let ink = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i] > 0) ink++;
  return { id: c.id, points: chart ? chart.data.datasets.reduce((a, d) => a + d.data.filter((v) => v > 0).length, 0) : 0, ink };
})`;

test.serial('the status page in Chromium: right numbers, four drawn charts, no errors, usable at 390 px; it refreshes in place', async (t) => {
  const ctx = await browser();
  try {
    const page = await ctx.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
    await page.setViewportSize({ width: 1280, height: 1100 });
    await page.goto(o.base, { waitUntil: 'networkidle' });
    const hub = await page.locator('#neighbours tbody tr', { hasText: 'hub' }).innerText();
    t.regex(hub, /^hub\t\S+ ago\t[^\t]*complete[^\t]*\t\S+ ago\t[^\t]+\t1\t\d+ B\t\d+ B\/s$/i);
    t.regex(await page.locator('#refusals').innerText(), /no-route\t1/);
    t.regex(await page.locator('#queue').innerText(), /The queue is empty/);
    const charts = (await page.evaluate(CHART_STATE)) as Array<{ id: string; points: number; ink: number }>;
    t.deepEqual(charts.map((c) => c.id), ['chart-hourly', 'chart-daily', 'chart-neighbours', 'chart-calls']);
    for (const c of charts) t.true(c.points > 0 && c.ink > 500, `${c.id} drawn: ${JSON.stringify(c)}`);
    await fsp.mkdir(ARTEFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTEFACTS, 'status-1280.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    t.true((await page.evaluate('document.documentElement.scrollWidth')) as number <= 390, 'no sideways scrolling of the page at 390 px');
    await page.screenshot({ path: path.join(ARTEFACTS, 'status-390.png'), fullPage: true });

    // In place: a marker on window survives, the deliveries chart and the queue table change.
    await page.evaluate('window.notReloaded = true');
    const HOURLY_IN = 'Chart.getChart(document.getElementById("chart-hourly")).data.datasets[0].data.reduce((a, b) => a + b, 0)';
    const before = (await page.evaluate(HOURLY_IN)) as number;
    const updated = await page.locator('#updated').innerText();
    t.is(before, 3, 'rmail, SMTP and sendmail this hour');
    await sendBySmtp(o, 'alice@leaf.example.org', 'after the page loaded');
    await page.waitForFunction(`${HOURLY_IN} === ${before + 1}`, undefined, { timeout: 40_000 });
    t.true(await page.evaluate('window.notReloaded === true'));
    t.not(await page.locator('#updated').innerText(), updated);
    t.regex(await page.locator('#refusals').innerText(), /no-route\t1/, 'the tables were replaced whole');
    t.deepEqual(problems, []);
  } finally {
    await ctx.close();
  }
});

test.serial('the uugate stats --html report draws its charts offline, from the file alone', async (t) => {
  const file = path.join(o.site.dir, 'report.html');
  const r = await run(o.site, ['stats', '--html', file]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /Mail per UUCP neighbour\n-+\n.*\n +hub +1 /);
  const ctx = await browser();
  try {
    const page = await ctx.newPage();
    const requests: string[] = [];
    const problems: string[] = [];
    page.on('request', (q) => requests.push(q.url()));
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    const charts = (await page.evaluate(CHART_STATE)) as Array<{ id: string; points: number; ink: number }>;
    t.is(charts.length, 4);
    for (const c of charts) t.true(c.points > 0 && c.ink > 500, `${c.id} drawn: ${JSON.stringify(c)}`);
    t.deepEqual(requests, [`file://${file}`], 'nothing but the file itself');
    t.deepEqual(problems, []);
  } finally {
    await ctx.close();
  }
});

test.serial('a call placed by a separate uugate uucico process (as cron would start it) reaches the daemon\'s metrics', async (t) => {
  const taylor = await taylorListens(o.hub, o.hubPort);
  const call = await run(o.site, ['uucico', '-S', 'hub']);
  t.is(call.code, 0, call.stderr);
  t.is(await taylor.done, 0);
  const m = await until('the call in /metrics', async () => {
    const text = await fetchText(`${o.base}metrics`);
    return sample(text, 'uugate_uucp_calls_total', { system: 'hub', result: 'ok' }) === 2 ? text : undefined;
  });
  t.is(sample(m, 'uugate_uucp_files_total', { system: 'hub', direction: 'sent' }), 2, 'the data and execute files of the job for hub!bob');
  t.is(sample(m, 'uugate_uucp_jobs_waiting', { system: 'hub' }), 0);
});

test.serial('counters go on after a restart, even when the log was rotated while the daemon was down', async (t) => {
  await daemon.stop();
  const log = path.join(o.site.spool, 'log');
  await fsp.rename(path.join(log, 'logfile'), path.join(log, 'logfile.1'));
  daemon = await startOpsDaemon(o.site);
  const m = await fetchText(`${o.base}metrics`);
  t.is(sample(m, 'uugate_messages_received_total', { entry: 'rmail' }), 1);
  t.is(sample(m, 'uugate_messages_received_total', { entry: 'smtp' }), 2);
  t.is(sample(m, 'uugate_uucp_calls_total', { system: 'hub', result: 'ok' }), 2);
});
