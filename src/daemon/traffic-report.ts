// `uugate stats`: an eximstats/pflogsumm-style summary of uugate's logs. The
// sections are built once as rows, then printed as aligned text or written
// as one self-contained HTML file with the status page's charts (Chart.js
// and the client script inlined, nothing fetched).
import type { Traffic } from '../log/traffic.js';
import { top, topPairs } from '../log/traffic.js';
import { STATUS_CLIENT_JS } from './status-client.js';
import { bytes, CHARTS, chartData, esc, jsonForScript, STYLE, table } from './status-page.js';

export interface Section {
  title: string;
  head: string[];
  rows: Array<Array<string | number>>;
}

export interface ReportRange {
  from?: number;
  until?: number;
  lines: number;
}

const TOP = 10;
const pad = (n: number): string => String(n).padStart(2, '0');
const dayName = (t: number): string => {
  const d = new Date(t);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
};
const pct = (a: number, b: number): string => (b ? `${((100 * a) / b).toFixed(1)}%` : '—');
const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);

export function reportSections(tr: Traffic): Section[] {
  const t = tr.state;
  const d = tr.detail;
  const received = Object.values(t.received);
  const deliveries = Object.values(t.deliveries);
  const count = (r: string): number => deliveries.reduce((a, x) => a + (x.results[r] ?? 0), 0);
  const sections: Section[] = [
    {
      title: 'Totals',
      head: ['', 'Count', 'Bytes'],
      rows: [
        ['Messages received', received.reduce((a, r) => a + r.messages, 0), bytes(received.reduce((a, r) => a + r.bytes, 0))],
        ['Recipients delivered', count('delivered'), bytes(deliveries.reduce((a, x) => a + x.bytes, 0))],
        ['Delivery attempts deferred', count('deferred'), ''],
        ['Recipients bounced', count('bounced'), ''],
        ['Bounce messages sent', t.bounces, ''],
        ['Refusals', Object.values(t.refused).reduce((a, r) => a + sum(r), 0), ''],
      ],
    },
    {
      title: 'Volume per day',
      head: ['Day', 'In', 'Out', 'Bytes in', 'Bytes out'],
      rows: Object.entries(t.days)
        .sort((a, b) => +a[0] - +b[0])
        .map(([k, v]) => [dayName(+k), v.in, v.out, bytes(v.bytesIn), bytes(v.bytesOut)]),
    },
  ];
  if (d) sections.push({ title: 'Volume per hour of the day', head: ['Hour', 'In', 'Out', 'Bytes in', 'Bytes out'], rows: d.hourOfDay.map((v, h) => [`${pad(h)}:00`, v.in, v.out, bytes(v.bytesIn), bytes(v.bytesOut)]).filter((r) => r[1] || r[2]) });
  sections.push(
    { title: 'Received by entry point', head: ['Entry', 'Messages', 'Bytes'], rows: Object.entries(t.received).map(([k, v]) => [k, v.messages, bytes(v.bytes)]) },
    {
      title: 'Deliveries per transport',
      head: ['Transport', 'Delivered', 'Deferred', 'Bounced', 'Bytes', 'Mean time'],
      rows: Object.entries(t.deliveries).map(([k, v]) => {
        const n = v.buckets.reduce((a, b) => a + b, 0);
        return [k, v.results.delivered ?? 0, v.results.deferred ?? 0, v.results.bounced ?? 0, bytes(v.bytes), n ? `${(v.seconds / n).toFixed(2)} s` : '—'];
      }),
    },
    {
      title: 'Mail per UUCP neighbour',
      head: ['System', 'Messages in', 'Bytes in', 'Messages out', 'Bytes out'],
      rows: Object.entries(t.neighbours).map(([k, v]) => [k, v.in, bytes(v.bytesIn), v.out, bytes(v.bytesOut)]),
    },
    {
      title: 'UUCP calls per neighbour',
      head: ['System', 'Calls', 'Succeeded', 'Mean length', 'Sent', 'Received', 'Files out/in', 'Throughput', 'Resent', 'Damaged'],
      rows: Object.entries(t.calls).map(([k, c]) => {
        const calls = sum(c.results);
        const moved = c.bytesSent + c.bytesReceived;
        return [k, calls, pct(c.results.ok ?? 0, calls), calls ? `${(c.ms / calls / 1000).toFixed(1)} s` : '—', bytes(c.bytesSent), bytes(c.bytesReceived), `${c.filesSent}/${c.filesReceived}`, c.ms ? `${bytes(Math.round((moved * 1000) / c.ms))}/s` : '—', c.resent, c.damaged];
      }),
    },
    { title: 'Call results', head: ['System', 'Result', 'Calls'], rows: Object.entries(t.calls).flatMap(([k, c]) => top(c.results, 20).map(([r, n]) => [k, r, n])) },
  );
  if (d)
    sections.push(
      { title: `Top ${TOP} senders`, head: ['Sender', 'Messages'], rows: top(d.senders, TOP) },
      { title: `Top ${TOP} recipients`, head: ['Recipient', 'Messages'], rows: top(d.recipients, TOP) },
      { title: `Top ${TOP} recipient domains`, head: ['Domain', 'Recipients'], rows: top(d.domains, TOP) },
    );
  sections.push(
    { title: 'Deferral reasons', head: ['Reason', 'Attempts'], rows: top(t.deferReasons, 20) },
    { title: 'Bounce reasons', head: ['Reason', 'Recipients'], rows: top(t.bounceReasons, 20) },
    {
      title: 'SMTP connections and AUTH',
      head: ['Listener', 'Connections', 'With TLS', 'AUTH ok', 'AUTH failed'],
      rows: [...new Set([...Object.keys(t.smtpConnections), ...Object.keys(t.smtpAuth)])].map((l) => {
        const c = t.smtpConnections[l] ?? {};
        const a = t.smtpAuth[l] ?? {};
        return [l, (c.yes ?? 0) + (c.no ?? 0), c.yes ?? 0, a.ok ?? 0, a.fail ?? 0];
      }),
    },
    { title: 'Refusals by entry point and reason', head: ['Entry', 'Reason', 'Count'], rows: topPairs(t.refused, 20) },
    { title: 'Refusal replies and messages', head: ['Reply', 'Count'], rows: top(t.refusalTexts, 20) },
  );
  return sections;
}

function heading(r: ReportRange): string {
  const when = (t: number | undefined): string => (t ? new Date(t).toLocaleString('en-GB') : '…');
  return `uugate traffic report, ${when(r.from)} to ${when(r.until)} (${r.lines} log lines)`;
}

export function textReport(tr: Traffic, r: ReportRange): string {
  const out = [heading(r), ''];
  for (const s of reportSections(tr)) {
    out.push(s.title, '-'.repeat(s.title.length));
    if (s.rows.length === 0) {
      out.push('  (none)', '');
      continue;
    }
    const cells = [s.head, ...s.rows].map((row) => row.map(String));
    const widths = s.head.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0)));
    // The first column (names, reasons) is left-aligned, figures right-aligned.
    for (const row of cells) out.push(`  ${row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`.trimEnd());
    out.push('');
  }
  return out.join('\n');
}

export function htmlReport(tr: Traffic, r: ReportRange, chartJs: string): string {
  const title = heading(r);
  const tables = reportSections(tr)
    .map((s) => table(s.title, s.title.toLowerCase().replace(/[^a-z0-9]+/g, '-'), s.head, s.rows, 'None.'))
    .join('\n');
  // The script closes no element early: "</script" cannot occur in it.
  const inline = (js: string): string => `<script>${js.replace(/<\/script/gi, '<\\/script')}</script>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body><header><h1>${esc(title)}</h1></header>
${CHARTS}
<div id="tables">${tables}</div>
<script type="application/json" id="chart-data">${jsonForScript(chartData(tr.state, r.until ?? Date.now()))}</script>
${inline(chartJs)}
${inline(STATUS_CLIENT_JS)}
</body></html>
`;
}
