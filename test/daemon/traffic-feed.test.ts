// The daemon's log follower: lines appended later, a line still being
// written, a log rotated between two reads (its rest read from logfile.1),
// and a restart from the saved snapshot.
import test from 'ava';
import { appendFileSync, mkdtempSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TrafficFeed } from '../../src/daemon/traffic-feed.js';

const received = (id: string, size: number): string => `2026/12/06 10:00:00: [${id}] Received FROM:<a@b> TO:<c> SIZE:${size} VIA:rmail\n`;

test('follows appends, waits for a whole line, finishes a rotated log, and resumes from its snapshot', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uufeed-'));
  const log = path.join(dir, 'logfile');
  appendFileSync(log, received('m1', 100));
  const feed = new TrafficFeed(dir);
  await feed.catchUp();
  t.deepEqual(feed.traffic.state.received, { rmail: { messages: 1, bytes: 100 } });
  const half = received('m2', 200);
  appendFileSync(log, half.slice(0, 30));
  await feed.catchUp();
  t.is(feed.traffic.state.received.rmail!.messages, 1, 'half a line is left for later');
  appendFileSync(log, half.slice(30));
  renameSync(log, `${log}.1`);
  appendFileSync(log, received('m3', 300));
  await feed.catchUp();
  t.deepEqual(feed.traffic.state.received, { rmail: { messages: 3, bytes: 600 } }, 'the rest of logfile.1, then the new logfile');
  await feed.save();
  appendFileSync(log, received('m4', 400));
  const again = new TrafficFeed(dir);
  await again.load();
  await again.catchUp();
  t.deepEqual(again.traffic.state.received, { rmail: { messages: 4, bytes: 1000 } });
});
