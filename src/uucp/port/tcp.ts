// TCP port: connect to address:service (service "uucp" is port 540).
import net from 'node:net';
import { type Port, portError } from './port.js';

const SERVICES: Record<string, number> = { uucp: 540 };

export function openTcpPort(host: string, service: string, timeoutMs = 60_000): Promise<Port> {
  const portNum = /^\d+$/.test(service) ? Number(service) : SERVICES[service];
  if (!portNum) return Promise.reject(portError(`unknown TCP service "${service}"`));
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port: portNum });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(portError(`connecting to ${host}:${portNum}: timed out`));
    }, timeoutMs);
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(portError(`connecting to ${host}:${portNum}: ${err.message}`));
    });
    sock.once('connect', () => {
      clearTimeout(timer);
      resolve(socketPort(sock, `tcp ${host}:${portNum}`));
    });
  });
}

/** Wraps an established socket (also used for calls accepted by the listener). */
export function socketPort(sock: net.Socket, name: string): Port {
  sock.on('error', () => undefined); // reported through 'close' to the session
  // Packets are small and each waits for an answer: Nagle would hold one
  // behind another until the peer's delayed ACK, 40 ms later.
  sock.setNoDelay(true);
  return {
    name,
    stream: sock,
    close: () =>
      new Promise<void>((resolve) => {
        if (sock.destroyed) return resolve();
        sock.once('close', () => resolve());
        sock.end();
        setTimeout(() => sock.destroy(), 2000).unref();
      }),
  };
}
