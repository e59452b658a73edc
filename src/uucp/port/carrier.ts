// Carrier detect (DCD) on a modem line, as Taylor's `carrier` (port and
// dialer) and `carrier-wait` (dialer) use it: after the dial chat, wait for
// the modem to raise DCD; while the call lasts, a drop of DCD is the call
// ending, which the protocol would otherwise only notice after its timeouts.
// A line whose modem bits cannot be read (a pty: "Inappropriate ioctl") is
// left to the chat and the protocol, as a missing DTR is (modem.ts).
import type { Duplex } from 'node:stream';
import type { Trace } from '../trace.js';

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
 * Polls DCD every `pollMs` while the call lasts and calls `lost` once when
 * it drops; stops by itself when DCD cannot be read. Returns the stop.
 */
function watchCarrier(read: CarrierReader, lost: () => void, pollMs: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const check = async (): Promise<void> => {
    const up = await read().catch(() => undefined);
    if (stopped || up === undefined) return;
    if (!up) return lost();
    timer = setTimeout(() => void check(), pollMs);
    timer.unref();
  };
  timer = setTimeout(() => void check(), pollMs);
  timer.unref();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/**
 * Ends the line with an error naming the cause when DCD drops (the session
 * then fails as on a hang-up, with the job kept for the next call). Returns
 * the stop, for when the call ends.
 */
export function guardCarrier(stream: Duplex, read: CarrierReader, device: string, trace?: Trace, pollMs = 1000): () => void {
  return watchCarrier(
    read,
    () => {
      trace?.log('port', `${device}: carrier lost`);
      stream.destroy(new Error(`${device}: carrier lost (DCD dropped)`));
    },
    pollMs,
  );
}
