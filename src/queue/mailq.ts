// mailq: the queue as seen from the spool files alone (queue/, incoming/ and the
// msglogs), so it works while the daemon holds the index.
import { promises as fsp } from 'node:fs';
import { readQueueFile, type SpoolLayout } from './spool.js';
import { readMsglog, type MsglogEntry } from './msglog.js';

export interface QueueEntry {
  id: string;
  size: number;
  arrival: number;
  sender: string;
  pending: Array<{ rcpt: string; lastError?: string }>;
  log: MsglogEntry[];
  state: 'incoming' | 'queued';
}

export async function listQueue(spool: SpoolLayout): Promise<QueueEntry[]> {
  const out: QueueEntry[] = [];
  for (const [dir, state] of [[spool.queue, 'queued'], [spool.incoming, 'incoming']] as const) {
    for (const id of (await fsp.readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.'))) {
      const entry = await readEntry(spool, `${dir}/${id}`, id, state);
      if (entry) out.push(entry);
    }
  }
  return out.sort((a, b) => a.arrival - b.arrival);
}

async function readEntry(spool: SpoolLayout, file: string, id: string, state: QueueEntry['state']): Promise<QueueEntry | undefined> {
  let msg;
  try {
    msg = await readQueueFile(file);
  } catch {
    return undefined; // moved or finished while we looked
  }
  const log = await readMsglog(spool.msglogFile(id));
  const done = new Set(log.filter((e) => e.ev === 'delivered' || e.ev === 'failed' || e.ev === 'expanded').map((e) => e.rcpt));
  const children = log.filter((e) => e.ev === 'expanded').flatMap((e) => (JSON.parse(e.reason ?? '[]') as Array<{ addr: string }>).map((c) => c.addr));
  const lastError = (rcpt: string): string | undefined => log.filter((e) => e.rcpt === rcpt && e.ev === 'deferred').at(-1)?.reason;
  const pending = [...msg.envelope.recipients, ...children].filter((r) => !done.has(r)).map((rcpt) => ({ rcpt, lastError: lastError(rcpt) }));
  return { id, size: msg.data.length, arrival: msg.envelope.arrival, sender: msg.envelope.sender, pending, log, state };
}

export function formatQueue(entries: QueueEntry[], now: number, verbose: boolean): string {
  if (entries.length === 0) return 'Mail queue is empty\n';
  const lines: string[] = [];
  for (const e of entries) {
    lines.push(`${e.id}  ${String(e.size).padStart(8)}  ${age(now - e.arrival).padStart(5)}  <${e.sender}>${e.state === 'incoming' ? '  (not yet indexed)' : ''}`);
    for (const p of e.pending) lines.push(`        ${p.rcpt}${p.lastError ? `\n          (${p.lastError})` : ''}`);
    if (verbose) for (const l of e.log) lines.push(`      ${new Date(l.t).toISOString()} ${l.ev}${l.rcpt ? ` ${l.rcpt}` : ''}${l.via ? ` via ${l.via}` : ''}${l.status ? ` ${l.status}` : ''}${l.reason ? `: ${l.reason}` : ''}`);
    lines.push('');
  }
  lines.push(`${entries.length} message${entries.length === 1 ? '' : 's'} in queue`);
  return lines.join('\n') + '\n';
}

function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
