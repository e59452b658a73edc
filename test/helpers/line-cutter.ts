// A TCP relay standing in for a modem line that can lose its carrier: every
// connection to `port` is joined to `target`, optionally paced at `rate`
// bytes/s each way (as bench/line-relay.ts does for benchmarks), and when
// `cutAfter` is set, the line drops after that many bytes went in the
// `direction` carrying the file (client → target is 'up'): the relay forwards
// exactly that many, then destroys both sockets, as a hang-up would. The cut
// is armed for one connection only (the next call goes through whole).
//
//   caller ── TCP ── cutter (rate, cutAfter) ── TCP ── answering side
import net from 'node:net';
import { once } from 'node:events';

export interface CutterOptions {
  /** Where connections go; a function picks per connection (0, 1, …): one line, several numbers. */
  target: { host?: string; port: number } | ((n: number) => { host?: string; port: number });
  /** Bytes per second each way; unpaced when absent. */
  rate?: number;
  /** Drop the line after this many bytes in `direction` (first connection only). */
  cutAfter?: number;
  direction?: 'up' | 'down';
}

export interface ConnectionStats {
  up: number;
  down: number;
  cut: boolean;
}

export interface LineCutter {
  port: number;
  /** One entry per connection so far. */
  connections: ConnectionStats[];
  /** Resolves when the line was cut. */
  cut: Promise<ConnectionStats>;
  /** Arms another cut for the next connection. */
  armCut(bytes: number, direction?: 'up' | 'down'): void;
  stop(): Promise<void>;
}

const TICK_MS = 5;

export async function startLineCutter(o: CutterOptions): Promise<LineCutter> {
  let cutAfter = o.cutAfter;
  let cutDir = o.direction ?? 'up';
  let onCut!: (s: ConnectionStats) => void;
  let cut = new Promise<ConnectionStats>((r) => (onCut = r));
  const connections: ConnectionStats[] = [];
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const server = net.createServer((client) => {
    const stats: ConnectionStats = { up: 0, down: 0, cut: false };
    connections.push(stats);
    const limit = cutAfter;
    const limitDir = cutDir;
    cutAfter = undefined;
    const to = typeof o.target === 'function' ? o.target(connections.length - 1) : o.target;
    const upstream = net.connect(to.port, to.host ?? '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    const hangUp = (): void => {
      stats.cut = true;
      client.destroy();
      upstream.destroy();
      onCut(stats);
    };
    const forward = (from: net.Socket, to: net.Socket, dir: 'up' | 'down'): void => {
      const queue: Buffer[] = [];
      let credit = 0;
      let last = performance.now();
      const push = (b: Buffer): void => {
        if (stats.cut) return;
        if (limit !== undefined && dir === limitDir && stats[dir] + b.length >= limit) {
          const part = b.subarray(0, limit - stats[dir]);
          stats[dir] += part.length;
          if (part.length) to.write(part);
          hangUp();
          return;
        }
        stats[dir] += b.length;
        to.write(b);
      };
      if (!o.rate) {
        from.on('data', push);
        return;
      }
      const rate = o.rate;
      from.on('data', (b: Buffer) => {
        queue.push(b);
        if (queue.reduce((n, q) => n + q.length, 0) > 64 * 1024) from.pause();
      });
      const timer = setInterval(() => {
        const now = performance.now();
        credit = Math.min(credit + ((now - last) / 1000) * rate, Math.max(1, (rate * 4 * TICK_MS) / 1000));
        last = now;
        while (queue.length && credit >= 1 && !stats.cut) {
          const head = queue[0]!;
          const n = Math.min(head.length, Math.floor(credit));
          credit -= n;
          if (n === head.length) queue.shift();
          else queue[0] = head.subarray(n);
          push(head.subarray(0, n));
        }
        if (queue.length === 0 && from.isPaused()) from.resume();
        if (stats.cut || from.destroyed) {
          clearInterval(timer);
          timers.delete(timer);
        }
      }, TICK_MS);
      timers.add(timer);
    };
    upstream.once('connect', () => {
      forward(client, upstream, 'up');
      forward(upstream, client, 'down');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    get cut() {
      return cut;
    },
    armCut(bytes, direction = cutDir) {
      cutAfter = bytes;
      cutDir = direction;
      cut = new Promise<ConnectionStats>((r) => (onCut = r));
    },
    async stop() {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
