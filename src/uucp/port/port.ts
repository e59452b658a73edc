// A Port is a byte stream to the other system plus a way to hang it up: the
// UUCP session neither knows nor cares whether bytes travel over a serial
// line, a TCP socket, a child process or our own stdin/stdout. This file is
// the contract every port type implements; one file per port type (Taylor's
// `port` file `type` keyword), and open.ts picks one.
import type { Duplex } from 'node:stream';
import { GatewayError, EX } from '../../util/errors.js';

export interface Port {
  /** For logs: "tcp 127.0.0.1:540", "pipe ssh hub ...", "/dev/ttyS0". */
  readonly name: string;
  readonly stream: Duplex;
  /** Raises or drops DTR (serial devices); rejects where the line has no modem control (a pty). */
  setDtr?(on: boolean): Promise<void>;
  /** Reads carrier detect (DCD); rejects where the line has no modem control (a pty). */
  carrier?(): Promise<boolean>;
  /** Hangs up and releases the port (device lock, child process). Idempotent. */
  close(): Promise<void>;
}

/**
 * What a stream may offer a packet protocol that owns the line for a while
 * (the pty port does): reads handed to `onBytes` as they arrive and writes
 * going straight to the device, one stream layer less each way, which is
 * what a fast line's packets pay for. Ends and errors still come as stream
 * events; release() gives the bytes back to the stream.
 */
export interface Tappable {
  tap(onBytes: (bytes: Uint8Array) => void): LineTap;
}

export interface LineTap {
  write(bytes: Uint8Array): void;
  release(): void;
}

export const portError = (message: string): GatewayError =>
  new GatewayError(message, { exitCode: EX.UNAVAILABLE, temporary: true });
