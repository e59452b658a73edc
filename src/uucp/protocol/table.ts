/**
 * The packet protocols uugate speaks, one row per letter, in our order of
 * preference: the handshake offers and picks from these letters
 * (session-handshake.ts), the session starts the one agreed (session.ts).
 *
 *   i  Taylor's windowed, full-duplex protocol with CRC-32 (i/)
 *   g  the classic windowed protocol with a 16-bit checksum (g/)
 *   G  g without short packets, as SVR4 speaks it (g/)
 */

import type { Duplex } from 'node:stream';
import type { UucpSystem } from '../../config/uucp/types.js';
import type { GProtocolOptions } from '../g/gprotocol.js';
import { gOptionsFor } from '../g/options.js';
import { runGOverStream } from '../g/stream-adapter.js';
import { iOptionsFromParams } from '../i/options.js';
import { runIOverStream } from '../i/stream-adapter.js';
import type { Agreed, RunningProtocol } from './protocol.js';

export interface ProtocolSpec<Options extends object = object> {
  /** The letter in the handshake's P and U messages. */
  letter: string;
  name: string;
  /** Its settings towards a system: `protocol-parameter <letter> …` lines, what the handshake agreed, and (g) settings forced by tests. */
  options(sys: UucpSystem, agreed: Agreed, gOverrides?: GProtocolOptions): Options;
  /** Starts it on the line; `initialBytes` arrived with the last handshake message. */
  start(stream: Duplex, options: Options, initialBytes?: Uint8Array): RunningProtocol;
}

const g: ProtocolSpec<GProtocolOptions> = {
  letter: 'g',
  name: 'g (windowed, 16-bit checksum)',
  options: gOptionsFor,
  start: (stream, options, initialBytes) => runGOverStream(stream, { ...options, initialBytes }),
};

export const PROTOCOLS: readonly ProtocolSpec[] = [
  {
    letter: 'i',
    name: 'i (windowed, full duplex, CRC-32)',
    options: (sys) => iOptionsFromParams(sys.protocolParams.raw.i),
    start: (stream, options, initialBytes) => runIOverStream(stream, { ...options, initialBytes }),
  },
  g,
  { ...g, letter: 'G', name: 'G (g without short packets)' },
];

/** The letters we can run, in our order of preference ("igG"). */
export const SUPPORTED_PROTOCOLS = PROTOCOLS.map((p) => p.letter).join('');

/** The row for a letter the handshake agreed on (always one of ours). */
export function protocolSpec(letter: string): ProtocolSpec {
  const spec = PROTOCOLS.find((p) => p.letter === letter);
  if (!spec) throw new Error(`no protocol "${letter}"`);
  return spec;
}
