// One queue run: take the queue, deliver what is due (or the given ids), then keep
// delivering whatever arrives meanwhile (bounces this run produced, hand-overs from
// rmail processes whose own runner could not take the lock) until incoming/ is quiet.
import type { Gateway } from './gateway.js';
import { openQueue, type QueueOptions } from './queue-owner.js';
import { emptySummary, tally, type QueueRunner, type RunSummary } from '../queue/runner.js';

export interface RunqOptions extends QueueOptions {
  force?: boolean;
  ids?: string[];
}

export async function runQueue(gw: Gateway, opts: RunqOptions = {}): Promise<RunSummary> {
  const q = await openQueue(gw, opts);
  try {
    const total = opts.ids ? await runIds(q.runner, opts.ids) : await q.runner.runDue(opts.force);
    for (let fresh = await q.runner.ingest(); fresh.length; fresh = await q.runner.ingest()) {
      const s = await runIds(q.runner, fresh);
      for (const k of Object.keys(total) as Array<keyof RunSummary>) total[k] += s[k];
    }
    await q.runner.flushTransports();
    return total;
  } finally {
    await q.close();
  }
}

async function runIds(runner: QueueRunner, ids: string[]): Promise<RunSummary> {
  await runner.ingest();
  const s = emptySummary();
  for (const id of ids) tally(s, await runner.runMessage(id));
  return s;
}
