// The daemon's read-only HTTP listener on status_listen (docs/watching.md):
//
//   /             the status page (status-page.ts)     /status.json  its refresh
//   /metrics      Prometheus text format (metrics.ts)  /status.js, /chart.umd.min.js
//
// Chart.js is served from the installed package: a leaf site may have no
// internet. Off loopback it needs status_password_file (`user:password`
// lines; HTTP basic auth) and warns that the password crosses the network in
// clear unless a TLS proxy fronts it; without the file it does not listen.
import { createHash, timingSafeEqual } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { STATUS_CLIENT_JS } from './status-client.js';
import { chartData, chartJsFile, statusPage, tablesHtml } from './status-page.js';
import { metricsRegistry, type OpsSnapshot } from './metrics.js';
import { neighbourView, queueView } from './ops-views.js';
import { TrafficFeed } from './traffic-feed.js';
import { isLoopback } from '../util/loopback.js';
import type { Daemon, DaemonService } from './daemon.js';

const READ_EVERY_MS = 5_000;
const SAVE_EVERY_MS = 60_000;

/** `user:password` lines; # comments. */
async function readPasswords(file: string): Promise<Map<string, string>> {
  const users = new Map<string, string>();
  for (const line of (await fsp.readFile(file, 'utf8')).split('\n')) {
    const l = line.trim();
    const colon = l.indexOf(':');
    if (l && !l.startsWith('#') && colon > 0) users.set(l.slice(0, colon), l.slice(colon + 1));
  }
  return users;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

function authorised(header: string | undefined, users: Map<string, string>): boolean {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!m) return false;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  const want = users.get(text.slice(0, colon));
  // Compared as digests: equal lengths, and the time says nothing of the password.
  return colon > 0 && want !== undefined && timingSafeEqual(digest(want), digest(text.slice(colon + 1)));
}

export function statusService(): DaemonService {
  const servers: http.Server[] = [];
  let feed: TrafficFeed | undefined;
  let timers: NodeJS.Timeout[] = [];
  return {
    name: 'status',
    // It reads the log and keeps its snapshot in the spool: as the gateway user, so no file there is root's.
    unprivileged: true,
    async start(d: Daemon): Promise<string> {
      const cfg = d.gw.cfg;
      const open = cfg.status_listen.filter((a) => !isLoopback(a.host));
      if (open.length && !cfg.status_password_file) {
        const where = open.map((a) => `${a.host}:${a.port}`).join(', ');
        d.gw.log.panic(`status_listen ${where} is not loopback and status_password_file is not set: status page and metrics not served`);
        return `off: ${where} is not loopback and status_password_file is not set`;
      }
      const users = cfg.status_password_file ? await readPasswords(path.resolve(cfg.configDir, cfg.status_password_file)) : undefined;
      const chartJs = await fsp.readFile(chartJsFile());
      feed = new TrafficFeed(d.gw.spool.log);
      await feed.load();
      await feed.catchUp();
      const f = feed;
      const snapshot = async (): Promise<OpsSnapshot> => {
        await f.catchUp();
        const gw = d.gw;
        const [queue, neighbours] = await Promise.all([queueView(d.queueIndex), neighbourView(gw.uucp, path.join(gw.loc.spoolDir, 'uucp'), f.traffic.state.calls)]);
        return { now: gw.clock(), traffic: f.traffic.state, queue, neighbours, live: d.figures() };
      };
      const registry = metricsRegistry(snapshot);
      const host = d.gw.cfg.visible_name || os.hostname();
      const scripts = '<script src="chart.umd.min.js"></script><script src="status.js"></script>';

      const routes: Record<string, () => Promise<[string, string | Buffer]>> = {
        '/': async () => ['text/html; charset=utf-8', statusPage(await snapshot(), { host, showAddresses: d.gw.cfg.status_show_addresses, scripts, refresh: true })],
        '/status.json': async () => {
          const s = await snapshot();
          return ['application/json', JSON.stringify({ updated: new Date(s.now).toLocaleString('en-GB'), tables: tablesHtml(s, d.gw.cfg.status_show_addresses), charts: chartData(s.traffic, s.now) })];
        },
        '/metrics': async () => [registry.contentType, await registry.metrics()],
        '/status.js': async () => ['text/javascript; charset=utf-8', STATUS_CLIENT_JS],
        '/chart.umd.min.js': async () => ['text/javascript; charset=utf-8', chartJs],
      };
      const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
        if (users && !authorised(req.headers.authorization, users)) {
          res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="uugate status", charset="UTF-8"' }).end('authorisation required\n');
          return;
        }
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.writeHead(405, { Allow: 'GET, HEAD' }).end('read-only\n');
          return;
        }
        const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
        if (!route) {
          res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
          return;
        }
        route().then(
          ([type, body]) => res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' }).end(req.method === 'HEAD' ? undefined : body),
          (err: Error) => {
            d.gw.log.panic(`status page ${req.url}: ${err.stack ?? err.message}`);
            res.writeHead(500, { 'Content-Type': 'text/plain' }).end('internal error, see paniclog\n');
          },
        );
      };
      for (const a of cfg.status_listen) {
        const srv = http.createServer(handle);
        await new Promise<void>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen(a.port, a.host, () => {
            srv.off('error', reject);
            resolve();
          });
        });
        servers.push(srv);
      }
      timers = [setInterval(() => void f.catchUp().catch(() => undefined), READ_EVERY_MS), setInterval(() => void f.save().catch((err: Error) => d.gw.log.panic(`status: ${err.message}`)), SAVE_EVERY_MS)];
      const where = servers.map((srv) => {
        const a = srv.address() as net.AddressInfo;
        return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/`;
      });
      const clear = open.length ? '; WARNING: basic auth over plain HTTP off loopback, put a TLS proxy in front' : '';
      return `${where.join(', ')} (metrics at /metrics)${users ? ', password required' : ''}${clear}`;
    },
    async stop(): Promise<void> {
      timers.forEach(clearInterval);
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
      servers.length = 0;
      await feed?.catchUp();
      await feed?.save();
    },
  };
}
