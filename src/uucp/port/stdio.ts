// stdin port: the session runs on our own stdin/stdout, as when uucico is the
// login shell of a UUCP account, or is started by inetd, sshd or a `pipe` port
// on the other side. A tty stdin is read through tty.ReadStream, which (unlike
// fs streams) lets the process exit once the session is over.
import net from 'node:net';
import { Duplex } from 'node:stream';
import tty from 'node:tty';
import type { Port } from './port.js';

export function openStdioPort(): Port {
  const input = process.stdin.isTTY ? new tty.ReadStream(0) : process.stdin;
  if (input instanceof tty.ReadStream) input.setRawMode(true);
  process.stdout.on('error', () => undefined); // EPIPE once the caller hung up
  // From inetd stdout is a TCP socket: no Nagle, as on our other TCP ports (a no-op on a pipe).
  if (process.stdout instanceof net.Socket) process.stdout.setNoDelay(true);
  const stream = Duplex.from({ readable: input, writable: process.stdout });
  return {
    name: 'stdin',
    stream,
    close: async () => {
      await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
      input.pause();
      if (input instanceof tty.ReadStream) input.destroy();
    },
  };
}
