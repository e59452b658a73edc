// Per-message transaction log (smail's msglog): one JSON line per event. Final
// outcomes (delivered, failed, bounced) are fsync'd before the queue moves on,
// so the index can be rebuilt from queue/ and msglog/ alone.
import { promises as fsp } from 'node:fs';
import { appendLine } from '../util/durable.js';

export type MsglogEvent = 'received' | 'delivered' | 'deferred' | 'failed' | 'bounced' | 'expanded';

export interface MsglogEntry {
  t: number;
  ev: MsglogEvent;
  rcpt?: string;
  via?: string; // router/transport
  status?: string;
  reason?: string;
}

const FINAL: ReadonlySet<MsglogEvent> = new Set(['delivered', 'failed', 'bounced']);

export async function appendMsglog(file: string, entry: MsglogEntry): Promise<void> {
  await appendLine(file, JSON.stringify(entry), FINAL.has(entry.ev));
}

export async function readMsglog(file: string): Promise<MsglogEntry[]> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    return [];
  }
  const out: MsglogEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as MsglogEntry);
    } catch {
      // a torn last line from a crash: the event was not final, skip it
    }
  }
  return out;
}
