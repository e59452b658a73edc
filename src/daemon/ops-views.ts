// What the status page and the metrics show besides the log's figures: the
// queue (from the daemon's index) grouped by destination, and the UUCP
// neighbours (status files, work waiting in the UUCP spool). Destinations are
// domains or first UUCP hops, never whole addresses.
import { promises as fsp } from 'node:fs';
import type { QueueIndex } from '../queue/index-db.js';
import { domainOf, type CallFigures } from '../log/traffic.js';
import type { UucpConfigSource } from '../config/uucp/load.js';
import { spoolFilePath } from '../uucp/spool/names.js';
import { listPendingWork } from '../uucp/spool/work-file.js';
import { listStatus } from '../uucp/status.js';

export interface QueueRow {
  dest: string;
  messages: number;
  bytes: number;
  oldest: number;
  nextAttempt: number;
  lastError?: string;
}

export interface QueueView {
  messages: number;
  bytes: number;
  /** Arrival of the oldest message (epoch ms), 0 when empty. */
  oldest: number;
  rows: QueueRow[];
}

export async function queueView(index: QueueIndex | undefined): Promise<QueueView> {
  const view: QueueView = { messages: 0, bytes: 0, oldest: 0, rows: [] };
  if (!index) return view;
  const byDest = new Map<string, QueueRow>();
  for (const id of await index.allIds()) {
    const m = await index.get(id);
    const pending = m?.rcpts.filter((r) => r.state === 'pending') ?? [];
    if (!m || pending.length === 0) continue;
    view.messages++;
    view.bytes += m.size;
    view.oldest = view.oldest ? Math.min(view.oldest, m.arrival) : m.arrival;
    for (const dest of new Set(pending.map((r) => domainOf(r.addr)))) {
      const row = byDest.get(dest) ?? { dest, messages: 0, bytes: 0, oldest: m.arrival, nextAttempt: m.nextAttempt };
      row.messages++;
      row.bytes += m.size;
      row.oldest = Math.min(row.oldest, m.arrival);
      row.nextAttempt = Math.min(row.nextAttempt, m.nextAttempt);
      row.lastError = pending.find((r) => domainOf(r.addr) === dest && r.lastError)?.lastError ?? row.lastError;
      byDest.set(dest, row);
    }
  }
  view.rows = [...byDest.values()].sort((a, b) => a.oldest - b.oldest);
  return view;
}

export interface NeighbourRow {
  system: string;
  lastCall?: number;
  lastResult?: string;
  lastSuccess?: number;
  nextCall?: number;
  jobs: number;
  bytesWaiting: number;
  /** Bytes a second over the last call that moved data. */
  lineRate?: number;
}

/** Every system in uucp/sys, with its status and the work waiting for it. */
export async function neighbourView(uucpConfig: UucpConfigSource, spoolDir: string, calls: Record<string, CallFigures>): Promise<NeighbourRow[]> {
  const uucp = await uucpConfig();
  const status = new Map((await listStatus(spoolDir).catch(() => [])).map((s) => [s.system, s]));
  const rows: NeighbourRow[] = [];
  for (const system of uucp.systems.keys()) {
    const s = status.get(system);
    const work = await listPendingWork(spoolDir, system);
    let bytesWaiting = 0;
    for (const wf of work)
      for (const c of wf.commands)
        if (c.type === 'S' && c.temp !== 'D.0') bytesWaiting += (await fsp.stat(spoolFilePath(spoolDir, system, c.temp)).catch(() => undefined))?.size ?? 0;
    const last = calls[system]?.last;
    const next = [s?.extra.nextCallTime, s?.extra.nextPollTime].filter((t): t is number => !!t && t > 0);
    rows.push({
      system,
      lastCall: s?.extra.lastCallTime ?? (s ? s.time * 1000 : undefined),
      lastResult: s?.text,
      lastSuccess: s?.extra.lastSuccessTime ?? calls[system]?.lastSuccess,
      nextCall: next.length ? Math.min(...next) : undefined,
      jobs: work.length,
      bytesWaiting,
      lineRate: last && last.ms > 0 && last.bytes > 0 ? Math.round((last.bytes * 1000) / last.ms) : undefined,
    });
  }
  return rows;
}
