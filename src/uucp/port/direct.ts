// direct port: a serial device (or a pty, as socat makes them) opened with
// the serialport package. serialport only flocks the device, so we also take
// the HDB lock file LCK..<device> that other UUCPs and cu honour.
import type { Duplex } from 'node:stream';
import { mkdirp } from '../../util/durable.js';
import { acquireLock, lockDevice } from '../lock.js';
import { type Port, portError } from './port.js';

export interface DirectOptions {
  speed?: number;
  lockDir: string;
  lockName?: string;
  hardflow?: boolean;
}

export async function openDirectPort(device: string, o: DirectOptions): Promise<Port> {
  await mkdirp(o.lockDir, 0o755);
  const locked = o.lockName ? await acquireLock(o.lockDir, o.lockName) : await lockDevice(o.lockDir, device);
  if (!locked.ok) throw portError(`${device} is locked by process ${locked.busyPid}`);
  let sp: import('serialport').SerialPort;
  try {
    const { SerialPort } = await import('serialport');
    sp = await new Promise((resolve, reject) => {
      const p = new SerialPort({ path: device, baudRate: o.speed ?? 9600, rtscts: o.hardflow ?? false, hupcl: true, autoOpen: false });
      p.open((err) => (err ? reject(err) : resolve(p)));
    });
  } catch (err) {
    await locked.lock.release();
    throw portError(`opening ${device}: ${(err as Error).message}`);
  }
  sp.on('error', () => undefined);
  const stream: Duplex = sp;
  let closed = false;
  return {
    name: device,
    stream,
    close: async () => {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => sp.drain(() => resolve()));
      await new Promise<void>((resolve) => (sp.isOpen ? sp.close(() => resolve()) : resolve()));
      await locked.lock.release();
    },
  };
}
