// A slow serial line for benchmarks: two TCP ends joined by a relay that
// paces each direction at `rate` bytes/s (115200 bit/s 8N1 = 11,520 B/s) and
// delays every byte by `delayMs` one way, as a modem link would. With
// ptyLine() each end is a socat pty (`pty,raw,echo=0 TCP:relay`), so uucico
// on either side sees an ordinary tty.
//
//   uucico ── pty X ══ socat ── TCP ─┐        ┌─ TCP ── socat ══ pty Y ── uucico
//                                    relay (rate, delay)
//
// Pacing: a byte leaves the relay no earlier than 1/rate s after the one
// before it in the same direction; an idle line banks no credit beyond one
// tick. Timer granularity is a few ms, far below a packet's time on the line.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';

export interface LineOptions {
  /** Bytes per second each way. */
  rate: number;
  /** One-way delay in ms. */
  delayMs?: number;
}

const TICK_MS = 2;

/** Forwards `from` to `to` at `rate` bytes/s, each byte `delayMs` late. */
function pace(from: net.Socket, to: net.Socket, o: LineOptions): () => void {
  const queue: Buffer[] = [];
  let queued = 0;
  let credit = 0;
  let last = performance.now();
  const inFlight: { at: number; bytes: Buffer }[] = [];
  from.on('data', (chunk: Buffer) => {
    queue.push(chunk);
    queued += chunk.length;
    // Backpressure keeps the sender's buffers, not ours, full.
    if (queued > 64 * 1024) from.pause();
  });
  const timer = setInterval(() => {
    const now = performance.now();
    credit += ((now - last) / 1000) * o.rate;
    last = now;
    if (queued === 0) credit = Math.min(credit, (o.rate * TICK_MS) / 1000);
    let n = Math.min(Math.floor(credit), queued);
    credit -= n;
    queued -= n;
    const parts: Buffer[] = [];
    while (n > 0) {
      const head = queue[0]!;
      if (head.length <= n) {
        parts.push(head);
        queue.shift();
        n -= head.length;
      } else {
        parts.push(head.subarray(0, n));
        queue[0] = head.subarray(n);
        n = 0;
      }
    }
    if (parts.length) inFlight.push({ at: now + (o.delayMs ?? 0), bytes: Buffer.concat(parts) });
    if (queued < 16 * 1024 && from.isPaused()) from.resume();
    while (inFlight.length && inFlight[0]!.at <= now) {
      const { bytes } = inFlight.shift()!;
      if (!to.destroyed) to.write(bytes);
    }
  }, TICK_MS);
  return () => clearInterval(timer);
}

export interface Relay {
  ports: [number, number];
  /** Resolves once both ends are connected. */
  connected: Promise<void>;
  stop(): void;
}

/** Listens on two loopback ports and joins the first connection on each through the paced line. */
export async function startRelay(o: LineOptions): Promise<Relay> {
  const servers = [net.createServer(), net.createServer()];
  for (const s of servers) s.listen(0, '127.0.0.1');
  await Promise.all(servers.map((s) => once(s, 'listening')));
  const socks: net.Socket[] = [];
  const stops: (() => void)[] = [];
  const connected = Promise.all(servers.map((s) => once(s, 'connection').then(([c]) => c as net.Socket))).then(([a, b]) => {
    socks.push(a, b);
    for (const c of socks) {
      c.setNoDelay(true);
      c.on('error', () => undefined);
    }
    stops.push(pace(a, b, o), pace(b, a, o));
  });
  return {
    ports: servers.map((s) => (s.address() as net.AddressInfo).port) as [number, number],
    connected,
    stop: () => {
      for (const f of stops) f();
      for (const c of socks) c.destroy();
      for (const s of servers) s.close();
    },
  };
}

/** A paced line between two ptys, root/lineX and root/lineY (mode 0666). */
export async function ptyLine(root: string, o: LineOptions, socat = '/usr/bin/socat'): Promise<{ x: string; y: string; stop: () => Promise<void> }> {
  const relay = await startRelay(o);
  const ends = ['lineX', 'lineY'].map((n) => path.join(root, n));
  const children = ends.map((link, i) =>
    spawn(socat, [`pty,raw,echo=0,link=${link},perm=0666`, `TCP:127.0.0.1:${relay.ports[i]},nodelay`], { stdio: 'ignore' }),
  );
  for (let i = 0; i < 100 && !ends.every((e) => existsSync(e)); i++) await new Promise((r) => setTimeout(r, 50));
  await relay.connected;
  return {
    x: ends[0]!,
    y: ends[1]!,
    stop: async () => {
      relay.stop();
      await Promise.all(
        children.map((c) => {
          if (c.exitCode !== null || c.signalCode !== null) return undefined;
          const gone = once(c, 'close');
          c.kill('SIGTERM');
          return gone;
        }),
      );
    },
  };
}
