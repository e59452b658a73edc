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
