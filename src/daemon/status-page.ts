// The status page: server-rendered HTML (every table works without
// JavaScript) with the chart data inline as JSON; status-client.ts draws the
// charts with Chart.js and refreshes the tables and charts in place. The same
// charts go into the self-contained report of `uugate stats --html`.
import { createRequire } from 'node:module';
import path from 'node:path';
import type { TrafficState, Volume } from '../log/traffic.js';
import { blankAddresses, top, topPairs } from '../log/traffic.js';
import type { OpsSnapshot } from './metrics.js';

export interface ChartData {
  hourly: { labels: string[]; in: number[]; out: number[] };
  daily: { labels: string[]; in: number[]; out: number[] };
  neighbours: { labels: string[]; sent: number[]; received: number[] };
  calls: { labels: string[]; results: Record<string, number[]> };
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** Buckets ending with the one holding `now`: 24 hours, 30 days. */
export function chartData(t: TrafficState, now: number): ChartData {
  const series = (buckets: Record<string, Volume>, starts: number[], label: (d: Date) => string) => ({
    labels: starts.map((s) => label(new Date(s))),
    in: starts.map((s) => buckets[String(s)]?.in ?? 0),
    out: starts.map((s) => buckets[String(s)]?.out ?? 0),
  });
  const hourStart = new Date(now).setMinutes(0, 0, 0);
  const hours = Array.from({ length: 24 }, (_, i) => new Date(hourStart).setHours(new Date(hourStart).getHours() - 23 + i));
  const dayStart = new Date(now).setHours(0, 0, 0, 0);
  const days = Array.from({ length: 30 }, (_, i) => new Date(dayStart).setDate(new Date(dayStart).getDate() - 29 + i));
  const systems = Object.keys(t.calls).sort();
  const results = [...new Set(systems.flatMap((s) => Object.keys(t.calls[s]!.results)))].sort();
  return {
    hourly: series(t.hours, hours, (d) => `${pad(d.getHours())}:00`),
    daily: series(t.days, days, (d) => `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`),
    neighbours: { labels: systems, sent: systems.map((s) => t.calls[s]!.bytesSent), received: systems.map((s) => t.calls[s]!.bytesReceived) },
    calls: { labels: systems, results: Object.fromEntries(results.map((r) => [r, systems.map((s) => t.calls[s]!.results[r] ?? 0)])) },
  };
}

export const esc = (s: unknown): string =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** "3h 12m ago", "in 5m": a duration relative to now, coarse. */
export function relative(t: number | undefined, now: number): string {
  if (!t) return '—';
  const s = Math.round(Math.abs(now - t) / 1000);
  const d = s >= 86400 ? `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h` : s >= 3600 ? `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m` : `${s}s`;
  return t <= now ? `${d} ago` : `in ${d}`;
}

export function table(caption: string, id: string, head: string[], rows: unknown[][], empty: string): string {
  const body = rows.length
    ? rows.map((r) => `<tr>${r.map((c, i) => `<td${i ? ' class="n"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('\n')
    : `<tr><td colspan="${head.length}">${esc(empty)}</td></tr>`;
  return `<section><h2>${esc(caption)}</h2><div class="scroll"><table id="${id}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>\n<tbody>${body}</tbody></table></div></section>`;
}

export const CHARTS = `<section class="charts">
<figure><figcaption>Messages per hour, last 24 hours</figcaption><div class="chart"><canvas id="chart-hourly"></canvas></div></figure>
<figure><figcaption>Messages per day, last 30 days</figcaption><div class="chart"><canvas id="chart-daily"></canvas></div></figure>
<figure><figcaption>Bytes per neighbour</figcaption><div class="chart"><canvas id="chart-neighbours"></canvas></div></figure>
<figure><figcaption>Call results per neighbour</figcaption><div class="chart"><canvas id="chart-calls"></canvas></div></figure>
</section>`;

export const STYLE = `body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 12px;color:#222}
h1{font-size:1.3em}h2{font-size:1.05em;margin:1.2em 0 .4em}header p{color:#555;margin:.2em 0}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,520px),1fr));gap:12px}
figure{margin:0;border:1px solid #ddd;border-radius:6px;padding:8px}figcaption{font-weight:600;font-size:.9em}
.chart{position:relative;height:220px}.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9em}th,td{padding:4px 8px;border-bottom:1px solid #eee;text-align:left;white-space:nowrap}
td.n{font-variant-numeric:tabular-nums}tbody tr:hover{background:#f6f8fa}.ok{color:#1a7f37}.bad{color:#cf222e}`;

export function tablesHtml(s: OpsSnapshot, showAddresses: boolean): string {
  const now = s.now;
  const t = s.traffic;
  const hide = (text: string | undefined): string | undefined => (showAddresses || !text ? text : blankAddresses(text));
  return [
    `<p id="smtp">${esc(smtpSummary(t))}</p>`,
    table(`Queue: ${s.queue.messages} messages, ${bytes(s.queue.bytes)}`, 'queue', ['Destination', 'Messages', 'Bytes', 'Oldest', 'Next attempt', 'Last error'],
      s.queue.rows.map((r) => [r.dest, r.messages, bytes(r.bytes), relative(r.oldest, now), relative(r.nextAttempt, now), hide(r.lastError) ?? '']), 'The queue is empty.'),
    table('UUCP neighbours', 'neighbours', ['System', 'Last call', 'Result', 'Last success', 'Next call', 'Jobs waiting', 'Bytes waiting', 'Line rate'],
      s.neighbours.map((n) => [n.system, relative(n.lastCall, now), n.lastResult ?? '—', relative(n.lastSuccess, now), n.nextCall && n.nextCall > now ? relative(n.nextCall, now) : 'when due', n.jobs, bytes(n.bytesWaiting), n.lineRate === undefined ? '—' : `${bytes(n.lineRate)}/s`]),
      'No systems in uucp/sys.'),
    table('Refusals by entry point and reason', 'refusals', ['Entry', 'Reason', 'Count'], topPairs(t.refused, 20), 'No refusals.'),
    table('Bounces by reason', 'bounces', ['Reason', 'Recipients'], top(t.bounceReasons, 15), 'No bounces.'),
    table('Deferrals by reason', 'deferrals', ['Reason', 'Attempts'], top(t.deferReasons, 15), 'No deferrals.'),
  ].join('\n');
}

/** One line on SMTP use: connections per listener, how many with TLS, and the AUTH results. */
export function smtpSummary(t: TrafficState): string {
  const listeners = Object.entries(t.smtpConnections).map(([l, c]) => `${(c.yes ?? 0) + (c.no ?? 0)} on ${l} (${c.yes ?? 0} with TLS)`);
  const auth = Object.values(t.smtpAuth).reduce((a, r) => [a[0]! + (r.ok ?? 0), a[1]! + (r.fail ?? 0)], [0, 0]);
  return `SMTP connections: ${listeners.join(', ') || 'none'}; AUTH: ${auth[0]} succeeded, ${auth[1]} failed.`;
}

/** The whole page; `scripts` are the tags that load Chart.js and the client. */
export function statusPage(s: OpsSnapshot, o: { host: string; showAddresses: boolean; scripts: string; refresh?: boolean }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>uugate on ${esc(o.host)}</title><link rel="icon" href="data:,"><style>${STYLE}</style></head>
<body${o.refresh ? ' data-refresh' : ''}><header><h1>uugate on ${esc(o.host)}</h1><p>Updated <time id="updated">${esc(new Date(s.now).toLocaleString('en-GB'))}</time>; ${o.refresh ? `refreshes every 15 seconds. <a href="metrics">Prometheus metrics</a>` : ''}</p></header>
${CHARTS}
<div id="tables">${tablesHtml(s, o.showAddresses)}</div>
<script type="application/json" id="chart-data">${jsonForScript(chartData(s.traffic, s.now))}</script>
${o.scripts}
</body></html>
`;
}

/** JSON safe inside a <script> element. */
export const jsonForScript = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');

/** Chart.js's browser build, from the installed package (never a CDN: a leaf site may be offline). */
export function chartJsFile(): string {
  return path.join(path.dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');
}
