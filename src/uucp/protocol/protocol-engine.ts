/**
 * What the g and i packet engines share: the events they report to their
 * front-end (protocol-base.ts) and the plumbing behind them. Events are
 * queued while the engine works and handed out once it is done, so a
 * handler that calls back into the engine never sees it half-way; one timer
 * at a time, each firing followed by a dispatch.
 */

import type { Clock, Timer } from './clock.js';
import type { PacketCounts, Role } from './protocol.js';

export type { Role };

/** Window and packet size used in one direction. */
export interface Direction {
  window: number;
  packetSize: number;
}

export type EngineEvent<Started, Data> =
  | ({ type: 'started' } & Started)
  /** An in-order data packet (an empty payload marks end of file). */
  | ({ type: 'data'; payload: Uint8Array } & Data)
  /** The peer acknowledged packets: there may be room in the window again. */
  | { type: 'acked' }
  | { type: 'closed'; byPeer: boolean }
  | { type: 'failed'; reason: string };

/** Counters both engines keep; each adds its own for rejects. */
export interface EngineStats {
  sent: number;
  resent: number;
  received: number;
  badHeaders: number;
  badChecksums: number;
  badOrder: number;
}

export interface EngineIO<E> {
  write(bytes: Uint8Array): void;
  event(ev: E): void;
}

/** What a protocol front-end needs of its engine. */
export interface PacketEngine {
  /** Window and packet size used towards the peer (valid once started). */
  readonly sending: Direction;
  readonly stats: PacketCounts;
  start(role: Role): void;
  receive(bytes: Uint8Array): void;
  canSend(): boolean;
  close(): void;
  abort(reason: string): void;
  leftover(): Uint8Array;
}

export abstract class EngineCore<Started, Data, Phase extends string> {
  protected phase: Phase | 'idle' | 'closed' | 'failed' = 'idle';
  private events: EngineEvent<Started, Data>[] = [];
  private dispatching = false;
  /** The clock timer running, and when it goes off. */
  private timer?: Timer;
  private timerAt = 0;
  /** What armTimer() last asked for. */
  private armed?: { at: number; fire: () => void };

  protected constructor(
    protected readonly io: EngineIO<EngineEvent<Started, Data>>,
    protected readonly clock: Clock,
  ) {}

  /** The link is gone: fail without writing anything. */
  abort(reason: string): void {
    if (this.phase === 'closed' || this.phase === 'failed') return;
    this.stop('failed');
    this.emit({ type: 'failed', reason });
    this.dispatch();
  }

  protected emit(ev: EngineEvent<Started, Data>): void {
    this.events.push(ev);
  }

  /** Delivers queued events; handlers may call back into the engine. */
  protected dispatch(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let ev = this.events.shift(); ev; ev = this.events.shift()) this.io.event(ev);
    } finally {
      this.dispatching = false;
    }
  }

  /**
   * `fire` in `ms`, replacing what was armed. The engines re-arm on nearly
   * every packet, almost always for later than before: then the running
   * clock timer is kept and, when it goes off early, set again for what is
   * left (a timer-list removal and insert per packet costs more on a fast
   * line than the packet's own protocol work).
   */
  protected armTimer(ms: number, fire: () => void): void {
    this.armed = { at: this.clock.now() + ms, fire };
    if (this.timer && this.timerAt <= this.armed.at) return;
    this.timer?.cancel();
    this.setClockTimer(ms);
  }

  /** When what armTimer() last asked for goes off; Infinity once it has, or when nothing is armed. */
  protected get armedAt(): number {
    return this.armed?.at ?? Infinity;
  }

  private setClockTimer(ms: number): void {
    this.timerAt = this.clock.now() + ms;
    this.timer = this.clock.setTimer(ms, () => {
      this.timer = undefined;
      const armed = this.armed;
      if (!armed) return;
      // Real timers may go off a fraction of a millisecond early.
      const left = armed.at - this.clock.now();
      if (left >= 1) return this.setClockTimer(left);
      this.armed = undefined;
      armed.fire();
      this.dispatch();
    });
  }

  /** Subclasses also drop what they still hold to send. */
  protected stop(phase: 'closed' | 'failed'): void {
    this.phase = phase;
    this.timer?.cancel();
    this.timer = undefined;
    this.armed = undefined;
  }
}
