/**
 * The g protocol as the session layer sees it: commands and files on top of
 * the packet engine, through the front-end shared with i (../protocol/protocol-base.ts).
 * Still free of I/O: bytes leave through `write`, arrive
 * through receive(), and time comes from the injected clock
 * (stream-adapter.ts binds it to a Node stream and real timers).
 *
 *   packet: DLE | K | sumLo | sumHi | C | xor | data     (see packet.ts)
 *
 * On the wire (docs/uucp-protocols.md "Commands and files over g", Taylor UUCP behaviour):
 * - a command is its bytes plus a NUL, in zero-padded tt=2 packets; a long
 *   command spans packets, and the receiver collects data up to the packet
 *   that holds a NUL (anything after the NUL is ignored);
 * - a file is raw data in full packets, a short last packet, then a short
 *   packet with no data as end of file. g has no file checksum, and its
 *   packet checksum misses some damage: `weakCheck` lets the session weigh
 *   the damage caught during a file (packet.ts, undetectedRisk).
 */

import { PacketProtocol, type CloseInfo } from '../protocol/protocol-base.js';
import type { Clock } from '../protocol/clock.js';
import { GEngine, TAYLOR_MAX_BYTES_IN_FLIGHT, type Direction, type GEngineOptions } from './engine.js';
import { undetectedRisk, type DataFrame } from './packet.js';

export interface GProtocolOptions extends GEngineOptions {
  /** The peer is Taylor UUCP 1.07: keep window × (packet + 6) ≤ 16 KiB. */
  peerIsTaylor?: boolean;
}

export interface GStartInfo {
  send: Direction;
  receive: Direction;
}

export type GCloseInfo = CloseInfo;

export class GProtocol extends PacketProtocol<GEngine, GStartInfo, unknown> {
  readonly name: 'g' | 'G';
  readonly weakCheck = { damaged: (): number => this.engine.stats.damagedData, risk: undetectedRisk };
  /** File packets built while the window was full, oldest first, waiting for acks. */
  private ready: DataFrame[] = [];

  /** `flush` hands what `write` was given to the line now (the stream adapter batches writes per turn). */
  constructor(
    write: (bytes: Uint8Array) => void,
    clock: Clock,
    options: GProtocolOptions = {},
    private readonly flush: () => void = () => undefined,
  ) {
    const { peerIsTaylor, ...engineOptions } = options;
    if (peerIsTaylor) engineOptions.maxSendBytesInFlight ??= TAYLOR_MAX_BYTES_IN_FLIGHT;
    super('g', (event) => new GEngine({ write, event }, clock, engineOptions));
    this.name = options.shortPackets === false ? 'G' : 'g';
  }

  sendCommand(command: string): Promise<void> {
    const bytes = this.commandBytes(command);
    return this.serialSend(async () => {
      // The peer's size, not the adaptive one (engine.ts): full-size
      const size = this.engine.peerPacketSize;
      // Full-size pieces carry no NUL; the last piece is shorter than a packet,
      // so its zero padding holds the terminating NUL.
      let offset = 0;
      for (; bytes.length - offset >= size; offset += size) {
        await this.room();
        this.engine.sendData(bytes.subarray(offset, offset + size), 'command');
      }
      await this.room();
      this.engine.sendData(bytes.subarray(offset), 'command');
    });
  }

  /**
   * While the window is full, up to a window's worth of packets is built
   * ahead (their checksums are the costly part), so that an ack that makes
   * room costs the line only headers and a write. The end of the file waits
   * until every packet built has gone.
   */
  protected fileSender(): (piece: Uint8Array) => void | Promise<void> {
    return (piece) => {
      if (!this.ended && this.ready.length === 0 && this.engine.canSend()) return this.engine.sendData(piece, 'file');
      this.ready.push(this.engine.frame(piece, 'file'));
      if (piece.length === 0) return this.untilSent(0);
      if (this.ended || this.ready.length >= this.engine.sending.window) return this.untilSent(this.ready.length - 1);
    };
  }

  /** Resolves once at most `left` built packets wait; rejects once the protocol has ended. */
  private async untilSent(left: number): Promise<void> {
    while (this.ready.length > left) await this.nextAck();
  }

  /**
   * In a microtask, ahead of the waiting sender's, and written at once:
   * the line gets the packets already built before the sender goes on to
   * build more.
   */
  protected override acked(): void {
    if (this.ready.length > 0) queueMicrotask(() => this.sendReady());
  }

  private sendReady(): void {
    if (this.ended) return;
    while (this.ready.length > 0 && this.engine.canSend()) this.engine.sendFrame(this.ready.shift()!);
    this.flush();
  }
}
