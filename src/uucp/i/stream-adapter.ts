/**
 * Runs an IProtocol over a Node Duplex (serial port, socket, pty, pipe) with
 * real timers, through the stream binding shared with g
 * (../protocol/stream-driver.ts: batched writes, detach once the protocol ends).
 *
 *   ^G | seq<<3|lchan | ack<<3|rchan | type<<5|caller<<4|len>>8 | len | xor  [data crc32]
 *   (see packet.ts; facts from the Taylor UUCP manual "i Protocol" and proti.c)
 */

import type { Duplex } from 'node:stream';
import { realClock, type Clock } from '../protocol/clock.js';
import { driveOverStream } from '../protocol/stream-driver.js';
import { IProtocol, type IProtocolOptions } from './iprotocol.js';

export interface StreamIOptions extends IProtocolOptions {
  clock?: Clock;
  /** Bytes the session layer already read past its last handshake string. */
  initialBytes?: Uint8Array;
}

export function runIOverStream(stream: Duplex, options: StreamIOptions = {}): IProtocol {
  const { clock = realClock, initialBytes, ...iOptions } = options;
  return driveOverStream(stream, (write) => new IProtocol(write, clock, iOptions), initialBytes);
}
