// Opening a port: picks the port type from the sys entry and the port file.
// (The serial-port binding itself is loaded only when a device is opened:
// see direct.ts.)
import type { UucpDialer, UucpPort, UucpSystemSettings } from '../../config/uucp/types.js';
import type { Trace } from '../trace.js';
import { type CarrierReader, guardedByCarrier } from './carrier.js';
import { openDirectPort } from './direct.js';
import { openModemPort } from './modem.js';
import { openPipePort } from './pipe.js';
import { type Port, portError } from './port.js';
import { openStdioPort } from './stdio.js';
import { openTcpPort } from './tcp.js';

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
    return openTcpPort(sys.address, sys.service ?? 'uucp', opts.timeoutMs);
  }
  return openPortEntry(port, opts, sys);
}

/** Opens a port file entry; `sys` supplies the address, service and speed when calling. */
export async function openPortEntry(port: UucpPort, opts: OpenPortOptions, sys?: UucpSystemSettings): Promise<Port> {
  const what = port.name || 'inline port';
  switch (port.type) {
    case 'tcp': {
      const host = sys?.address ?? sys?.phone ?? port.address;
      if (!host) throw portError(`${what}: a TCP port needs an address`);
      return openTcpPort(host, sys?.service ?? port.service ?? 'uucp', opts.timeoutMs);
    }
    case 'pipe': {
      if (!port.command?.length) throw portError(`${what}: a pipe port needs a command`);
      return openPipePort(port.command);
    }
    case 'direct': {
      if (!port.device) throw portError(`${what}: a direct port needs a device`);
      const p = await openDirectPort(port.device, { label: what, speed: sys?.speed ?? port.speed, lockDir: opts.lockDir, lockName: port.lockname, hardflow: port.hardflow });
      // A direct line passes DCD only when the port says `carrier true` (Taylor's default is false).
      const read = opts.carrier ?? p.carrier;
      if (!port.carrier || !read) return p;
      return guardedByCarrier(p, read, port.device, opts.trace, opts.carrierPollMs);
    }
    case 'stdin':
      return openStdioPort();
    case 'modem':
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
