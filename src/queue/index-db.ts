// The queue index in LevelDB: per-message state and a due-time index
//   m!<id>                → MessageState (JSON)
//   t!<13-digit ms>!<id>  → ''   (next attempt)
// Writes that record delivery outcomes use sync so the index never runs behind
// the msglog for long. LevelDB admits one process: whoever opens this owns the queue.
import type { Level } from 'level';
import { GatewayError, EX } from '../util/errors.js';
import type { Provenance } from '../route/types.js';

export interface RcptState {
  addr: string;
  state: 'pending' | 'delivered' | 'failed' | 'expanded';
  attempts: number;
  lastError?: string;
  status?: string;
  /** Transport of the last attempt: its retry factor sets the schedule. */
  transport?: string;
  /** For addresses produced by alias/list expansion: the address expanded, its source, where errors go. */
  parent?: string;
  provenance?: Provenance;
  errorsTo?: string;
}

export interface MessageState {
  id: string;
  arrival: number;
  sender: string;
  size: number;
  attempts: number;
  nextAttempt: number;
  rcpts: RcptState[];
  /** Set when the bounce was already queued (a crash before clean-up must not send it twice). */
  bounced?: boolean;
}

const dueKey = (s: MessageState): string => `t!${String(s.nextAttempt).padStart(13, '0')}!${s.id}`;

export class QueueIndex {
  private constructor(private readonly db: Level<string, string>) {}

  static async open(dir: string): Promise<QueueIndex> {
    // Loaded on demand: short-lived entry points (rmail) never open the index.
    const { Level: LevelDb } = await import('level');
    const db = new LevelDb<string, string>(dir);
    try {
      await db.open();
    } catch (err) {
      const locked = /lock/i.test(String((err as { cause?: Error }).cause?.message ?? ''));
      throw new GatewayError(
        locked ? `the queue in ${dir} is owned by another process (is the daemon running?)` : `cannot open queue index ${dir}: ${(err as Error).message}`,
        { exitCode: EX.TEMPFAIL, temporary: true, cause: err },
      );
    }
    return new QueueIndex(db);
  }

  async get(id: string): Promise<MessageState | undefined> {
    const v = await this.db.get(`m!${id}`);
    return v === undefined ? undefined : (JSON.parse(v) as MessageState);
  }

  /** Stores the new state, moving its due key; `previous` is the state it replaces. */
  async put(state: MessageState, previous?: MessageState, sync = true): Promise<void> {
    const ops: Array<{ type: 'put' | 'del'; key: string; value?: string }> = [];
    if (previous && dueKey(previous) !== dueKey(state)) ops.push({ type: 'del', key: dueKey(previous) });
    ops.push({ type: 'put', key: `m!${state.id}`, value: JSON.stringify(state) });
    ops.push({ type: 'put', key: dueKey(state), value: '' });
    await this.db.batch(ops as never, { sync });
  }

  async delete(state: MessageState): Promise<void> {
    await this.db.batch([
      { type: 'del', key: `m!${state.id}` },
      { type: 'del', key: dueKey(state) },
    ], { sync: true });
  }

  /** Ids whose next attempt is at or before `now`, oldest first. */
  async due(now: number, limit = Infinity): Promise<string[]> {
    const ids: string[] = [];
    for await (const key of this.db.keys({ gte: 't!', lte: `t!${String(now).padStart(13, '0')}!~` })) {
      ids.push(key.slice(key.lastIndexOf('!') + 1));
      if (ids.length >= limit) break;
    }
    return ids;
  }

  async allIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const key of this.db.keys({ gte: 'm!', lt: 'm~' })) ids.push(key.slice(2));
    return ids;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
