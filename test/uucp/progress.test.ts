// uucico's per-file progress: plain lines when stderr is not a terminal, fed by
// the session's transfers (here two of our sessions over an in-memory pair).
import test from 'ava';
import { PassThrough } from 'node:stream';
import { lineProgress, summaryLine, type FileProgress } from '../../src/uucp/progress.js';

test('a finished file gives one plain line with bytes, time and rate; progress events give none', (t) => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  let now = 10_000;
  const sink = lineProgress(out, () => now);
  const p: FileProgress = { system: 'hub', name: 'D.leafC0001', direction: 'send', size: 4096, bytes: 2048, done: false, started: 8_000 };
  sink(p);
  t.is(text, '');
  now = 12_000;
  sink({ ...p, bytes: 4096, done: true });
  t.is(text, 'hub → D.leafC0001: 4096 bytes in 4.0 s (1.0 KiB/s)\n');
  t.is(summaryLine({ ...p, direction: 'receive', bytes: 0, started: now }, now), 'hub ← D.leafC0001: 0 bytes in 0.0 s (0.0 KiB/s)');
});
