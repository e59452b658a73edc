// Prometheus metrics (prom-client) from one snapshot of the operator's view:
// the log's figures (counters that go on across restarts, traffic-feed.ts),
// the queue and the neighbours (gauges read at scrape time). Labels are entry
// points, transports, results, reasons and UUCP system names: bounded sets,
// never addresses. The list with meanings is in docs/watching.md.
import { Counter, Gauge, Registry } from 'prom-client';
import { DURATION_BUCKETS, type TrafficState } from '../log/traffic.js';
import type { NeighbourRow, QueueView } from './ops-views.js';

export interface OpsSnapshot {
  now: number;
  traffic: TrafficState;
  queue: QueueView;
  neighbours: NeighbourRow[];
  /** The services' live figures (Daemon.figures()). */
  live: Record<string, number>;
}

type Labels = Record<string, string>;
type Sample = [Labels, number];

export function metricsRegistry(snapshot: () => Promise<OpsSnapshot>): Registry {
  const registry = new Registry();
  // One snapshot per scrape, shared by every metric's collect().
  let current: Promise<OpsSnapshot> | undefined;
  const snap = (): Promise<OpsSnapshot> => (current ??= snapshot().finally(() => setImmediate(() => (current = undefined))));

  const metric = (kind: 'counter' | 'gauge', name: string, help: string, labelNames: string[], samples: (s: OpsSnapshot) => Sample[]): void => {
    const Kind = kind === 'counter' ? Counter : Gauge;
    new Kind({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const s = await snap();
        this.reset();
        for (const [labels, v] of samples(s)) (this as Counter).inc(labels, v);
      },
    });
  };
  const each = <T>(o: Record<string, T>, f: (k: string, v: T) => Sample[]): Sample[] => Object.entries(o).flatMap(([k, v]) => f(k, v));

  metric('counter', 'uugate_messages_received_total', 'Messages accepted into the queue, by entry point (rmail, rsmtp, sendmail, smtp, bounce...)', ['entry'], (s) =>
    each(s.traffic.received, (entry, r) => [[{ entry }, r.messages]]));
  metric('counter', 'uugate_received_bytes_total', 'Bytes of the messages accepted, by entry point', ['entry'], (s) => each(s.traffic.received, (entry, r) => [[{ entry }, r.bytes]]));
  metric('counter', 'uugate_deliveries_total', 'Delivery attempts per recipient, by transport and result (delivered, deferred, bounced)', ['transport', 'result'], (s) =>
    each(s.traffic.deliveries, (transport, d) => each(d.results, (result, n) => [[{ transport, result }, n]])));
  metric('counter', 'uugate_delivered_bytes_total', 'Bytes of the messages delivered, by transport', ['transport'], (s) => each(s.traffic.deliveries, (transport, d) => [[{ transport }, d.bytes]]));
  metric('counter', 'uugate_bounces_total', 'Bounce messages (delivery status notifications) sent', [], (s) => [[{}, s.traffic.bounces]]);
  metric('counter', 'uugate_refusals_total', 'Messages or commands turned down, by entry point (smtp, submission, rmail, sendmail) and reason (relay, size, rate, timeout, syntax, unknown-user, no-route, other)', ['entry', 'reason'], (s) =>
    each(s.traffic.refused, (entry, t) => each(t, (reason, n) => [[{ entry, reason }, n]])));
  metric('gauge', 'uugate_smtp_connections', 'SMTP client connections open now', [], (s) => (s.live.smtp_connections === undefined ? [] : [[{}, s.live.smtp_connections]]));
  metric('counter', 'uugate_smtp_connections_total', 'SMTP client connections closed, by listener (smtp, submission) and whether they used TLS (yes, no)', ['listener', 'tls'], (s) =>
    each(s.traffic.smtpConnections, (listener, t) => each(t, (tls, n) => [[{ listener, tls }, n]])));
  metric('counter', 'uugate_smtp_auth_total', 'SMTP AUTH attempts, by listener and result (ok, fail)', ['listener', 'result'], (s) =>
    each(s.traffic.smtpAuth, (listener, t) => each(t, (result, n) => [[{ listener, result }, n]])));
  metric('gauge', 'uugate_queue_messages', 'Messages in the queue with recipients still pending', [], (s) => [[{}, s.queue.messages]]);
  metric('gauge', 'uugate_queue_bytes', 'Bytes of the messages in the queue', [], (s) => [[{}, s.queue.bytes]]);
  metric('gauge', 'uugate_queue_oldest_age_seconds', 'Age of the oldest message in the queue (0 when empty)', [], (s) => [[{}, s.queue.oldest ? Math.round((s.now - s.queue.oldest) / 1000) : 0]]);

  const calls = (s: OpsSnapshot) => s.traffic.calls;
  metric('counter', 'uugate_uucp_calls_total', 'UUCP calls placed or answered, by neighbour and result (ok, busy, no-carrier, no-answer, login-refused, protocol-failure, timeout, dial-failed)', ['system', 'result'], (s) =>
    each(calls(s), (system, c) => each(c.results, (result, n) => [[{ system, result }, n]])));
  metric('counter', 'uugate_uucp_bytes_total', 'Bytes of files moved over UUCP, by neighbour and direction', ['system', 'direction'], (s) =>
    each(calls(s), (system, c) => [[{ system, direction: 'sent' }, c.bytesSent], [{ system, direction: 'received' }, c.bytesReceived]]));
  metric('counter', 'uugate_uucp_files_total', 'Files moved over UUCP, by neighbour and direction', ['system', 'direction'], (s) =>
    each(calls(s), (system, c) => [[{ system, direction: 'sent' }, c.filesSent], [{ system, direction: 'received' }, c.filesReceived]]));
  metric('counter', 'uugate_uucp_messages_total', 'Mail messages per neighbour: received (rmail run for it by uuxqt) and sent (uux jobs queued for it)', ['system', 'direction'], (s) =>
    each(s.traffic.neighbours, (system, v) => [[{ system, direction: 'received' }, v.in], [{ system, direction: 'sent' }, v.out]]));
  metric('counter', 'uugate_uucp_packets_resent_total', 'g/i packets sent again (line noise, lost acknowledgements), by neighbour', ['system'], (s) => each(calls(s), (system, c) => [[{ system }, c.resent]]));
  metric('counter', 'uugate_uucp_packets_damaged_total', 'g/i packets received damaged (bad header or checksum), by neighbour', ['system'], (s) => each(calls(s), (system, c) => [[{ system }, c.damaged]]));
  metric('gauge', 'uugate_uucp_last_success_timestamp_seconds', 'When the last successful call with the neighbour ended (Unix time)', ['system'], (s) =>
    s.neighbours.filter((n) => n.lastSuccess).map((n) => [{ system: n.system }, Math.round(n.lastSuccess! / 1000)]));
  metric('gauge', 'uugate_uucp_jobs_waiting', 'UUCP jobs (work files) waiting for the neighbour', ['system'], (s) => s.neighbours.map((n) => [{ system: n.system }, n.jobs]));
  metric('gauge', 'uugate_uucp_bytes_waiting', 'Bytes of data files waiting to be sent to the neighbour', ['system'], (s) => s.neighbours.map((n) => [{ system: n.system }, n.bytesWaiting]));

  // Counters keep their bucket counts in the snapshot, so the histogram is
  // served from them as is (prom-client's Histogram only learns by observe()).
  registry.registerMetric({
    name: 'uugate_delivery_duration_seconds',
    async get() {
      const s = await snap();
      const values = Object.entries(s.traffic.deliveries).flatMap(([transport, d]) => {
        let count = 0;
        const buckets = d.buckets.map((n, i) => {
          count += n;
          return { metricName: 'uugate_delivery_duration_seconds_bucket', labels: { transport, le: i < DURATION_BUCKETS.length ? String(DURATION_BUCKETS[i]) : '+Inf' }, value: count };
        });
        return [
          ...buckets,
          { metricName: 'uugate_delivery_duration_seconds_sum', labels: { transport }, value: d.seconds },
          { metricName: 'uugate_delivery_duration_seconds_count', labels: { transport }, value: count },
        ];
      });
      return { name: 'uugate_delivery_duration_seconds', help: 'Time one delivery attempt to a transport took (a group of recipients at once)', type: 'histogram', values, aggregator: 'sum' };
    },
  } as never);
  return registry;
}
