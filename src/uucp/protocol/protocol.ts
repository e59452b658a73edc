/**
 * What the UUCP session layer needs from a transfer protocol (g, G, …) once
 * the `U<letter>` handshake has picked one. Reads are pulls: the session
 * asks for the next command or for a file exactly when it expects one, so a
 * file that follows a command straight away can never be mistaken for it.
 */

export type Role = 'master' | 'slave';

export interface Protocol {
  /** Protocol letter as announced in `P…` / `U…`. */
  readonly name: string;
  /** Runs the protocol's startup exchange; the caller is master. */
  start(role: Role): Promise<unknown>;
  /** Sends one command string (NUL-terminated on the wire). */
  sendCommand(command: string): Promise<void>;
  /** The next command from the peer, without its NUL. */
  readCommand(): Promise<string>;
  /** Streams a file from `data`, then end of file; resolves with the byte count. */
  sendFile(data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<number>;
  /**
   * Receives one file, handing each chunk to `sink` (awaited in order).
   * If the sink throws, the rest of the file is still read and discarded,
   * then the sink's error is thrown.
   */
  receiveFile(sink: (chunk: Uint8Array) => void | Promise<void>): Promise<number>;
  /**
   * Only for a protocol whose check can miss damage (g's 16-bit checksum; i
   * has a CRC-32): damaged packets caught so far, and how likely it is that,
   * with that many caught, one passed unseen.
   */
  readonly weakCheck?: { damaged(): number; risk(damaged: number): number };
  /** Orderly close of the protocol (not of the line). */
  shutdown(): Promise<void>;
}

/** Window and packet size of one direction, as a protocol's startup agreed them. */
export interface Sizes {
  window: number;
  packetSize: number;
}

/** What every engine counts, for the call's log line (the engines count more). */
export interface PacketCounts {
  resent: number;
  badHeaders: number;
  badChecksums: number;
}

/** A protocol running on the line, as the session starts, drives and stops it. */
export interface RunningProtocol extends Protocol {
  readonly stats: PacketCounts;
  start(role: Role): Promise<{ send: Sizes; receive: Sizes }>;
  /** The line failed or the session gave up: end now. */
  abort(reason: string): void;
  /** Settles once, when the protocol ends; never rejects. */
  readonly closed: Promise<unknown>;
  /** Bytes read past the protocol's end: the session's again. */
  leftover(): Uint8Array;
}

/** What a protocol's settings depend on besides the sys entry: what the handshake agreed. */
export interface Agreed {
  /** The letter chosen. */
  protocol: string;
  /** The peer spoke Taylor's `-N` dialect (so it may be Taylor 1.07, with its 16 KiB bug). */
  taylorPeer: boolean;
  /** The feature bits both sides use (features.ts; g asks a uugate peer for one packet again, SRJ). */
  features: number;
}
