// One queue run: take the queue, deliver what is due (or the given ids), and go on
// while new hand-overs keep arriving, so a burst of rmail processes whose own
// runner could not take the lock is still delivered promptly.
import { openQueue, type Gateway, type QueueOptions } from './gateway.js';
import { emptySummary, tally, type QueueRunner, type RunSummary } from '../queue/runner.js';

export interface RunqOptions extends QueueOptions {
  force?: boolean;
  ids?: string[];
}

export async function runQueue(gw: Gateway, opts: RunqOptions = {}): Promise<RunSummary> {
  const q = await openQueue(gw, opts);
  const total = emptySummary();
  try {
    let first = true;
    for (;;) {
      const s = opts.ids && first ? await runIds(q.runner, opts.ids) : await q.runner.runDue(first && opts.force);
      for (const k of Object.keys(total) as Array<keyof RunSummary>) total[k] += s[k];
      first = false;
      if (s.messages === 0) break;
    }
  } finally {
    await q.close();
  }
  return total;
}

async function runIds(runner: QueueRunner, ids: string[]): Promise<RunSummary> {
  await runner.ingest();
  const s = emptySummary();
  for (const id of ids) tally(s, await runner.runMessage(id));
  return s;
}
