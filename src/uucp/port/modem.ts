// modem port: a serial device with a Hayes-style modem on it (Taylor `port`
// file `type modem`: device, speed, dialer, carrier, hardflow).
//
// Calling: take LCK..<device> and open the line (direct.ts), run the dialer's
// chat from the `dial` file with \T = the system's phone number, and hand
// the connected line to the session. Bytes the modem sent after CONNECT
// (often the start of the remote login prompt) are pushed back for the
// session's reader. close() hangs up and then releases the device lock;
// every failure path closes too, so the lock never outlives the call.
//
// Hanging up: the proper way is to drop DTR for a second (the modem needs
// &D2). serialport's `set({dtr:false})` does that on a real tty, but on a pty
// (socat, our tests) the ioctl fails with "Inappropriate ioctl for device",
// so we then fall back to the dialer's `complete` chat (or `abort` after a
// failed dial), typically `\d+++\d\dATH`: escape to command mode, hang up.
//
// Answering (`uucico -l -p PORT`): wait for RING and answer with ATA, or for
// an auto-answering modem's CONNECT; then the login prompt runs as on any
// line.
//
// Carrier (carrier.ts): unless the port or the dialer says `carrier false`,
// a call waits for DCD after the dial chat (`carrier-wait`, 60 s) and ends
// when DCD drops, in both directions.
import type { UucpDialer, UucpPort } from '../../config/uucp/types.js';
import { dial, DialError, hangupChat, resolveDialer } from '../dial.js';
import { LineReader } from '../session-io.js';
import type { Trace } from '../trace.js';
import { runChat } from '../chat.js';
import { openDirectPort } from './direct.js';
import { type CarrierReader, guardedByCarrier, waitForCarrier } from './carrier.js';
import { type Port, portError } from './port.js';

export interface ModemOptions {
  lockDir: string;
  dialers: Map<string, UucpDialer>;
  /** The number to dial (the sys entry's `phone`). */
  phone?: string;
  /** uucp/dialcode, for \T. */
  dialcodes?: Map<string, string>;
  speed?: number;
  trace?: Trace;
  /** Wait for an incoming call instead of dialing. */
  answer?: boolean;
  /** Seconds to wait for CONNECT after ATA (Taylor's carrier-wait default: 60). */
  answerTimeoutS?: number;
  delayScale?: number;
  /** For tests (see OpenPortOptions). */
  carrier?: CarrierReader;
  carrierPollMs?: number;
}

/** Drops or raises DTR; false when the line has no modem control (a pty). */
function dtrSetter(port: Port, trace?: Trace): (on: boolean) => Promise<boolean> {
  return async (on) => {
    if (!port.setDtr) return false;
    try {
      await port.setDtr(on);
      return true;
    } catch (err) {
      trace?.log('port', `DTR ${on ? 'on' : 'off'} failed: ${(err as Error).message}`);
      return false;
    }
  };
}

export async function openModemPort(port: UucpPort, o: ModemOptions): Promise<Port> {
  const what = port.name || 'inline port';
  if (!port.device) throw portError(`${what}: a modem port needs a device`);
  const device = port.device;
  // Dialer and chat syntax first: a configuration error should not cost a call.
  const dialer = o.answer ? undefined : resolveDialer(port, o.dialers);
  const raw = await openDirectPort(device, { label: what, speed: o.speed ?? port.speed, lockDir: o.lockDir, lockName: port.lockname, hardflow: port.hardflow });
  const setDtr = dtrSetter(raw, o.trace);
  const dopts = { phone: o.phone, dialcodes: o.dialcodes, trace: o.trace, setDtr, delayScale: o.delayScale };
  const line = new LineReader(raw.stream);
  const readCarrier = o.carrier ?? raw.carrier;
  const watchesCarrier = readCarrier !== undefined && port.carrier !== false && dialer?.carrier !== false;
  let connected = false;

  const hangup = async (ok: boolean): Promise<void> => {
    if (raw.stream.destroyed) return;
    // DTR drop first; on a pty it fails ("Inappropriate ioctl"), so the dialer's chat does it.
    if (await setDtr(false)) {
      o.trace?.log('port', `${device}: DTR dropped to hang up`);
      await new Promise((r) => setTimeout(r, 1000 * (o.delayScale ?? 1)));
      await setDtr(true);
      return;
    }
    if (dialer) {
      const reader = connected ? new LineReader(raw.stream) : line;
      await hangupChat(reader, dialer, ok, dopts);
      reader.detach();
    } else {
      // Answering side without a dialer: the Hayes escape and ATH.
      await runChat(connected ? new LineReader(raw.stream) : line, ['""', '\\p+++\\p\\c', '""', 'ATH'], { timeoutS: 5, trace: o.trace, delayScale: o.delayScale }).catch(() => undefined);
    }
  };

  try {
    if (o.answer) {
      o.trace?.log('chat', `${device}: waiting for RING or CONNECT`);
      await waitForCall(line, o);
    } else {
      await dial(line, device, dialer!, dopts);
      if (watchesCarrier) await carrierAfterDial(readCarrier, device, dialer!, o.trace);
    }
  } catch (err) {
    await hangup(false).catch(() => undefined);
    line.detach();
    await raw.close();
    if (err instanceof DialError) throw err;
    throw portError(`${device}: ${(err as Error).message}`);
  }
  connected = true;
  o.trace?.log('port', `${device}: connected`);
  // What came after CONNECT belongs to the session's own reader.
  const rest = line.detach();
  if (rest.length) raw.stream.unshift(rest);
  let closed = false;
  const modem: Port = {
    name: `modem ${device}`,
    stream: raw.stream,
    setDtr: raw.setDtr,
    close: async () => {
      if (closed) return;
      closed = true;
      try {
        await hangup(true);
      } finally {
        await raw.close();
      }
    },
  };
  return watchesCarrier ? guardedByCarrier(modem, readCarrier, device, o.trace, o.carrierPollMs) : modem;
}

/** After CONNECT: DCD within the dialer's carrier-wait, or the dial failed (a line without modem bits goes on). */
async function carrierAfterDial(read: CarrierReader, device: string, dialer: UucpDialer, trace?: Trace): Promise<void> {
  const seconds = dialer.carrierWait ?? 60;
  if ((await waitForCarrier(read, seconds, trace)) === 'timeout') throw new DialError(device, 'NO CARRIER', `no carrier (DCD) ${seconds} s after the dial chat`);
}

/** Answer mode: RING → ATA → CONNECT, or CONNECT straight away (auto-answer, S0>0). */
async function waitForCall(line: LineReader, o: ModemOptions): Promise<void> {
  for (;;) {
    const seen = line.peek().toString('latin1');
    if (/CONNECT[^\r\n]*[\r\n]/.test(seen)) {
      line.consume(seen.search(/CONNECT[^\r\n]*[\r\n]/) + /CONNECT[^\r\n]*[\r\n]/.exec(seen)![0].length);
      return;
    }
    if (seen.includes('RING')) {
      line.consume(seen.indexOf('RING') + 4);
      o.trace?.log('chat', 'RING: answering with ATA');
      line.write('ATA\r');
      await runChat(line, ['CONNECT', '""'], { timeoutS: o.answerTimeoutS ?? 60, fail: ['NO\\sCARRIER', 'ERROR'], trace: o.trace });
      // The rest of the CONNECT line (speed, protocol) is not data.
      await line.take((b) => { const i = b.findIndex((c) => c === 0x0a || c === 0x0d); return i < 0 ? (b.length > 80 ? b.length : -1) : i + 1; }, 5000, 'the end of the CONNECT line').catch(() => undefined);
      return;
    }
    if (line.isClosed) throw new Error('the line closed while waiting for a call');
    await line.waitMore(3_600_000);
  }
}
