// TCP ports: calls we place and calls our listener takes run without Nagle.
// Over TCP a UUCP packet waits for the peer's answer; with Nagle on, a packet
// written behind an unacked one waits for the peer's delayed ACK (40 ms), and
// calls taken by `uucico --listen` paid that per file before this was set.
import test from 'ava';
import net from 'node:net';
import { openTcpPort } from '../../src/uucp/port/tcp.js';
import { listenTcp } from '../../src/uucp/uucico.js';
import { freePort } from '../helpers/site.js';
import { ourUucico } from '../helpers/taylor.js';

test('both ends of a uucico TCP call turn Nagle off: the caller and the listener’s accepted socket', async (t) => {
  const noDelay = new Set<string>();
  const original = net.Socket.prototype.setNoDelay;
  net.Socket.prototype.setNoDelay = function (this: net.Socket, on?: boolean) {
    if (on !== false) noDelay.add(`${this.localPort}>${this.remotePort}`);
    return original.call(this, on);
  };
  t.teardown(() => void (net.Socket.prototype.setNoDelay = original));
  const { ctx } = await ourUucico('system hub\ncalled-login Uhub\n', { passwd: 'Uhub pw\n' });
  const port = await freePort();
  const server = await listenTcp(ctx, { port });
  t.teardown(() => void server.close());
  const caller = await openTcpPort('127.0.0.1', String(port));
  const sock = caller.stream as net.Socket;
  // The listener greets with its login prompt once it has wrapped the socket.
  await new Promise((resolve) => sock.once('data', resolve));
  t.true(noDelay.has(`${sock.localPort}>${port}`), 'our calling socket');
  t.true(noDelay.has(`${port}>${sock.localPort}`), 'the socket our listener accepted');
  await caller.close();
});
