// A Port is a byte stream to the other system plus a way to hang it up: the
// UUCP session neither knows nor cares whether bytes travel over a serial
// line, a TCP socket, a child process or our own stdin/stdout. One file per
// port type (Taylor's `port` file `type` keyword); openPort() picks one.
import type { Duplex } from 'node:stream';
import { GatewayError, EX } from '../../util/errors.js';
import type { UucpDialer, UucpPort, UucpSystemSettings } from '../config.js';
import type { Trace } from '../trace.js';
import type { CarrierReader } from './carrier.js';

export interface Port {
  /** For logs: "tcp 127.0.0.1:540", "pipe ssh hub ...", "/dev/ttyS0". */
  readonly name: string;
  readonly stream: Duplex;
  /** Raises or drops DTR (serial devices); rejects where the line has no modem control (a pty). */
  setDtr?(on: boolean): Promise<void>;
  /** Reads carrier detect (DCD); rejects where the line has no modem control (a pty). */
  carrier?(): Promise<boolean>;
  /** Hangs up and releases the port (device lock, child process). Idempotent. */
  close(): Promise<void>;
}

/**
 * What a stream may offer a packet protocol that owns the line for a while
 * (the pty port does): reads handed to `onBytes` as they arrive and writes
 * going straight to the device, one stream layer less each way, which is
 * what a fast line's packets pay for. Ends and errors still come as stream
 * events; release() gives the bytes back to the stream.
 */
export interface Tappable {
  tap(onBytes: (bytes: Uint8Array) => void): LineTap;
}

export interface LineTap {
  write(bytes: Uint8Array): void;
  release(): void;
}

export interface OpenPortOptions {
  /** Lock directory for LCK..<device> files (direct ports). */
  lockDir: string;
  /** Connect timeout for TCP (ms). */
  timeoutMs?: number;
  /** The `dial` file's dialers (modem ports). */
  dialers?: Map<string, UucpDialer>;
  /** The `dialcode` file (modem ports' \T). */
  dialcodes?: Map<string, string>;
  /** Modem ports: wait for a call (RING / CONNECT) instead of dialing. */
  answer?: boolean;
  trace?: Trace;
  /** For tests: scales chat delays (\d, \p) and DTR pauses. */
  delayScale?: number;
  /** For tests: DCD as the line would report it (a pty has none), read every `carrierPollMs` during a call. */
  carrier?: CarrierReader;
  carrierPollMs?: number;
}

export const portError = (message: string): GatewayError =>
  new GatewayError(message, { exitCode: EX.UNAVAILABLE, temporary: true });

/**
 * Opens the port a system is called through: the named port from the port
 * file, the inline `port type ...` of the sys entry, or TCP when the system
 * only gives an address.
 */
export async function openPort(
  sys: UucpSystemSettings & { name: string },
  ports: Map<string, UucpPort>,
  opts: OpenPortOptions,
): Promise<Port> {
  const port = sys.inlinePort ?? (sys.port ? ports.get(sys.port) : undefined);
  if (sys.port && !sys.inlinePort && !port) throw portError(`${sys.name}: port "${sys.port}" is not defined`);
  if (!port) {
    if (!sys.address) throw portError(`${sys.name}: no port, address or device to call through`);
    const { openTcpPort } = await import('./tcp.js');
    return openTcpPort(sys.address, sys.service ?? 'uucp', opts.timeoutMs);
  }
  return openPortEntry(port, opts, sys);
}

/** Opens a port file entry; `sys` supplies the address, service and speed when calling. */
export async function openPortEntry(port: UucpPort, opts: OpenPortOptions, sys?: UucpSystemSettings): Promise<Port> {
  const what = port.name || 'inline port';
  switch (port.type) {
    case 'tcp': {
      const { openTcpPort } = await import('./tcp.js');
      const host = sys?.address ?? sys?.phone ?? port.address;
      if (!host) throw portError(`${what}: a TCP port needs an address`);
      return openTcpPort(host, sys?.service ?? port.service ?? 'uucp', opts.timeoutMs);
    }
    case 'pipe': {
      const { openPipePort } = await import('./pipe.js');
      if (!port.command?.length) throw portError(`${what}: a pipe port needs a command`);
      return openPipePort(port.command);
    }
    case 'direct': {
      const { openDirectPort } = await import('./direct.js');
      if (!port.device) throw portError(`${what}: a direct port needs a device`);
      const p = await openDirectPort(port.device, { label: what, speed: sys?.speed ?? port.speed, lockDir: opts.lockDir, lockName: port.lockname, hardflow: port.hardflow });
      // A direct line passes DCD only when the port says `carrier true` (Taylor's default is false).
      const read = opts.carrier ?? p.carrier;
      if (!port.carrier || !read) return p;
      const { guardedByCarrier } = await import('./carrier.js');
      return guardedByCarrier(p, read, port.device, opts.trace, opts.carrierPollMs);
    }
    case 'stdin': {
      const { openStdioPort } = await import('./stdio.js');
      return openStdioPort();
    }
    case 'modem': {
      const { openModemPort } = await import('./modem.js');
      return openModemPort(port, {
        lockDir: opts.lockDir,
        dialers: opts.dialers ?? new Map(),
        dialcodes: opts.dialcodes,
        phone: sys?.phone,
        speed: sys?.speed ?? port.speed,
        trace: opts.trace,
        answer: opts.answer,
        delayScale: opts.delayScale,
        carrier: opts.carrier,
        carrierPollMs: opts.carrierPollMs,
      });
    }
  }
}
