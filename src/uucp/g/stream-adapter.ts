/**
 * Runs a GProtocol over a Node Duplex (serial port, socket, pty, pipe) with
 * real timers. The engine stays pure; this file is the only one that touches
 * streams or setTimeout.
 *
 *   packet: DLE | K | sumLo | sumHi | C | xor | data     (see packet.ts)
 *
 * The session layer owns the line: it ran the `Shere`/`ROK`/`Pg` exchange
 * before and runs the `OOOOOO` exchange after, so we attach only while g
 * runs and detach (and pause the stream) as soon as g has closed or failed.
 * Writes are not throttled: the g window already bounds what is in flight.
 */

import type { Duplex } from 'node:stream';
import { realClock, type Clock } from './clock.js';
import { GProtocol, type GProtocolOptions } from './gprotocol.js';

export interface StreamGOptions extends GProtocolOptions {
  clock?: Clock;
  /** Bytes the session layer already read past its last handshake string. */
  initialBytes?: Uint8Array;
}

export function runGOverStream(stream: Duplex, options: StreamGOptions = {}): GProtocol {
  const { clock = realClock, initialBytes, ...gOptions } = options;
  const g = new GProtocol(
    (bytes) => {
      if (stream.writable) stream.write(bytes);
    },
    clock,
    gOptions,
  );
  const onData = (chunk: Buffer): void => g.receive(chunk);
  const onEnd = (): void => g.abort('the line closed');
  const onError = (err: Error): void => g.abort(`line error: ${err.message}`);
  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('close', onEnd);
  stream.on('error', onError);
  void g.closed.then(() => {
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('close', onEnd);
    stream.off('error', onError);
    stream.pause();
  });
  if (initialBytes?.length) g.receive(initialBytes);
  return g;
}
