// Carrier detect (DCD) on a modem line, as Taylor's `carrier` (port and
// dialer) and `carrier-wait` (dialer) use it: after the dial chat, wait for
// the modem to raise DCD; while the call lasts, a drop of DCD is the call
// ending, which the protocol would otherwise only notice after its timeouts.
// A line whose modem bits cannot be read (a pty: "Inappropriate ioctl") is
// left to the chat and the protocol, as a missing DTR is (modem.ts).
import type { Trace } from '../trace.js';
import type { Port } from './port.js';

/** Reads DCD; rejects where the line has no modem control bits. */
export type CarrierReader = () => Promise<boolean>;

export type CarrierWait = 'up' | 'timeout' | 'unreadable';

/** Polls DCD until it is up, for at most `seconds`. */
export async function waitForCarrier(read: CarrierReader, seconds: number, trace?: Trace, pollMs = 200): Promise<CarrierWait> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const up = await read().catch((err: Error) => {
      trace?.log('port', `carrier cannot be read (${err.message}); not waiting for it`);
      return undefined;
    });
    if (up === undefined) return 'unreadable';
    if (up) return 'up';
    if (Date.now() >= end) return 'timeout';
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * `port` with DCD read every `pollMs` while it is open: when DCD drops, the
 * line ends with an error naming the cause (the session then fails as on a
 * hang-up, the job kept for the next call); a DCD that cannot be read ends
 * the watch. Closing the port ends it too.
 */
export function guardedByCarrier(port: Port, read: CarrierReader, device: string, trace?: Trace, pollMs = 1000): Port {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const check = async (): Promise<void> => {
    const up = await read().catch(() => undefined);
    if (stopped || up === undefined) return;
    if (!up) {
      trace?.log('port', `${device}: carrier lost`);
      port.stream.destroy(new Error(`${device}: carrier lost (DCD dropped)`));
      return;
    }
    schedule();
  };
  const schedule = (): void => {
    timer = setTimeout(() => void check(), pollMs);
    timer.unref();
  };
  schedule();
  return {
    ...port,
    close: () => {
      stopped = true;
      clearTimeout(timer);
      return port.close();
    },
  };
}
