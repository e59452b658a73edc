/**
 * Runs a GProtocol over a Node Duplex (serial port, socket, pty, pipe) with
 * real timers, through the stream binding shared with i
 * (../protocol/stream-driver.ts). The engine stays pure.
 *
 *   packet: DLE | K | sumLo | sumHi | C | xor | data     (see packet.ts)
 *
 * The session layer owns the line: it ran the `Shere`/`ROK`/`Pg` exchange
 * before and runs the `OOOOOO` exchange after, so we attach only while g
 * runs and detach (and pause the stream) as soon as g has closed or failed.
 * Writes are not throttled: the g window already bounds what is in flight.
 * initialBytes may be given before start(): the engine keeps them until then.
 */

import type { Duplex } from 'node:stream';
import { realClock, type Clock } from '../protocol/clock.js';
import { driveOverStream } from '../protocol/stream-driver.js';
import { GProtocol, type GProtocolOptions } from './gprotocol.js';

export interface StreamGOptions extends GProtocolOptions {
  clock?: Clock;
  /** Bytes the session layer already read past its last handshake string. */
  initialBytes?: Uint8Array;
}

/** On a real line, RRs for packets arriving close together are shared (engine.ts, `ackDelayMs`). */
export function runGOverStream(stream: Duplex, options: StreamGOptions = {}): GProtocol {
  const { clock = realClock, initialBytes, ...gOptions } = options;
  gOptions.ackDelayMs ??= 1;
  return driveOverStream(stream, (write, flush) => new GProtocol(write, clock, gOptions, flush), initialBytes);
}
