/**
 * The 'i' protocol as the session layer sees it (the Protocol interface):
 * commands and files on top of the packet engine, through the front-end
 * shared with g (../protocol/protocol-base.ts). No I/O: bytes leave
 * through `write`, arrive through receive(), time comes from the clock
 * (stream-adapter.ts binds it to a Node stream).
 *
 *   ^G | seq<<3|lchan | ack<<3|rchan | type<<5|caller<<4|len>>8 | len | xor  [data crc32]
 *   (see packet.ts)
 *
 * On the wire (docs/uucp-protocols.md "i channels and file position"; Taylor
 * manual "i Protocol"; Taylor's trans.c/send.c read for
 * how channels are used; captured Taylor 1.07 traffic):
 * - a command is its bytes and a NUL, split at the peer's packet size;
 * - a file is DATA packets, then an empty DATA packet; an SPOS(0) goes first
 *   because the receiver writes each packet at the global position;
 * - channels: a request we make (S, R, E, X) goes out on our channel 1 with
 *   remote channel 0, and everything we send for it (file data, the CY after
 *   an R) keeps those numbers; what we send for a request of the peer (SY,
 *   RY, its file, CY) carries local 0 and the peer's channel as remote; H,
 *   HY and HN use 0/0. Taylor routes incoming data by these numbers.
 * We announce one channel in SYNC, so a Taylor peer runs one transfer at a
 * time and waits for SY before sending a file, which is what our pull-style
 * session expects. Files still move both ways in one session (H/HN role
 * changes), one at a time.
 */

import type { Clock } from '../protocol/clock.js';
import { PacketProtocol, type CloseInfo, type Received } from '../protocol/protocol-base.js';
import { IEngine, type Direction, type IEngineOptions, type IEvent } from './engine.js';

export type IProtocolOptions = IEngineOptions;

export interface IStartInfo {
  send: Direction;
  receive: Direction;
  channels: number;
}

export type ICloseInfo = CloseInfo;

type Data = Omit<Extract<IEvent, { type: 'data' }>, 'type' | 'payload'>;

/** The channel we make our requests on. */
const OUR_CHANNEL = 1;

/** "S from to …", "R …", "E …", "X …": a new request (replies are "SY", "RN2", "CY" …). */
const isRequest = (c: string): boolean => c.length > 1 && c[1] === ' ' && 'SREX'.includes(c[0]!);

export class IProtocol extends PacketProtocol<IEngine, IStartInfo, Data> {
  readonly name = 'i';
  /** The transfer our replies and file data belong to: ours (channel 1) or the peer's (its channel). */
  private current = { ours: true, channel: OUR_CHANNEL };

  constructor(write: (bytes: Uint8Array) => void, clock: Clock, options: IProtocolOptions = {}) {
    super('i', (event) => new IEngine({ write, event }, clock, options));
  }

  sendCommand(command: string): Promise<void> {
    const bytes = this.commandBytes(command, '\0');
    return this.serialSend(async () => {
      let chans: [number, number];
      if (command[0] === 'H') chans = [0, 0];
      else {
        if (isRequest(command)) this.current = { ours: true, channel: OUR_CHANNEL };
        chans = this.channels();
      }
      for (let at = 0; at < bytes.length; ) {
        await this.room();
        const piece = bytes.subarray(at, at + this.engine.sending.packetSize);
        this.engine.sendData(piece, chans[0], chans[1]);
        at += piece.length;
      }
    });
  }

  /** A request from the peer: our answers go to its channel. */
  protected override commandRead(command: string, first: Received<Data>): void {
    if (isRequest(command) && first.remoteChan === 0) this.current = { ours: false, channel: first.localChan };
  }

  /** Data must arrive at consecutive file positions from 0: we never ask for a restart, so a jump is an error. */
  protected override checkFileData(r: Received<Data>, total: number): void {
    if (r.pos === total) return;
    const error = this.error(`file data at position ${r.pos}, expected ${total}`);
    this.engine.abort(error.message);
    throw error;
  }

  protected fileSender(): (piece: Uint8Array, at: number) => Promise<void> {
    const [local, remote] = this.channels();
    return async (piece, at) => {
      do {
        if (this.ended || !this.engine.canSend()) await this.room();
        // The peer may ask for smaller packets (SYNC) at any time.
        const part = piece.subarray(0, this.engine.sending.packetSize);
        this.engine.sendData(part, local, remote, at);
        at += part.length;
        piece = piece.subarray(part.length);
      } while (piece.length > 0);
    };
  }

  private channels(): [number, number] {
    return this.current.ours ? [this.current.channel, 0] : [0, this.current.channel];
  }
}
