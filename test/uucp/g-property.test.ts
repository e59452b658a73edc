import test from 'ava';
import fc from 'fast-check';
import { ManualClock } from '../../src/uucp/g/clock.js';
import type { GStats } from '../../src/uucp/g/engine.js';
import { GProtocol, type GCloseInfo, type GProtocolOptions } from '../../src/uucp/g/gprotocol.js';
import { SimLink, drive, seededRandom, type LinkFaults } from '../../src/uucp/g/sim-link.js';

type Item = { command: string } | { file: Uint8Array };

interface Outcome {
  complete: boolean;
  closed: GCloseInfo[];
  wrong: string[];
  stats: GStats[];
  errors: string[];
}

const DAY = 24 * 3600 * 1000;

/** Reads `script` from `g`, checking every byte as it arrives; true if all of it came. */
async function expectScript(g: GProtocol, script: Item[], wrong: string[]): Promise<boolean> {
  for (const [i, item] of script.entries()) {
    if ('command' in item) {
      const got = await g.readCommand();
      if (got !== item.command) wrong.push(`command ${i}: ${JSON.stringify(got)}`);
    } else {
      let offset = 0;
      await g.receiveFile((chunk) => {
        const expected = item.file.subarray(offset, offset + chunk.length);
        if (chunk.length > expected.length || Buffer.compare(chunk, expected) !== 0) wrong.push(`file ${i} at ${offset}`);
        offset += chunk.length;
      });
      if (offset !== item.file.length) wrong.push(`file ${i}: ${offset} of ${item.file.length} bytes`);
    }
  }
  return true;
}

async function sendScript(g: GProtocol, script: Item[], chunk: number): Promise<void> {
  for (const item of script) {
    if ('command' in item) await g.sendCommand(item.command);
    else {
      const { file } = item;
      await g.sendFile((function* () {
        for (let at = 0; at < file.length; at += chunk) yield file.subarray(at, at + chunk);
      })());
    }
  }
}

/** Both sides send their script while reading the other's, then shut down. */
async function simulate(
  seed: number,
  faults: LinkFaults,
  options: [GProtocolOptions, GProtocolOptions],
  scripts: [Item[], Item[]],
): Promise<Outcome> {
  const clock = new ManualClock();
  const link = new SimLink(clock, seed, faults);
  const sides = [0, 1].map((i) => new GProtocol(link.writer(i as 0 | 1), clock, options[i]));
  sides.forEach((g, i) => link.attach(i as 0 | 1, (b) => g.receive(b)));
  const wrong: string[] = [];
  const chunk = 1 + Math.floor(seededRandom(seed)() * 700);
  const run = async (g: GProtocol, role: 'master' | 'slave', mine: Item[], theirs: Item[]) => {
    await g.start(role);
    const [, received] = await Promise.all([sendScript(g, mine, chunk), expectScript(g, theirs, wrong)]);
    await g.shutdown();
    return received;
  };
  const runs = [run(sides[0]!, 'master', scripts[0], scripts[1]), run(sides[1]!, 'slave', scripts[1], scripts[0])];
  const results = Promise.allSettled(runs);
  const settled = await drive(clock, Promise.all([results, ...sides.map((g) => g.closed)]), DAY);
  if (!settled) throw new Error(`simulation stalled at ${clock.now()} ms`);
  const settledRuns = await results;
  const complete = settledRuns.every((r) => r.status === 'fulfilled');
  const errors = settledRuns.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'));
  return { complete, errors, closed: await Promise.all(sides.map((g) => g.closed)), wrong, stats: sides.map((g) => g.stats) };
}

const item: fc.Arbitrary<Item> = fc.oneof(
  fc.record({ command: fc.string({ minLength: 1, maxLength: 300, size: 'max', unit: fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c)) }) }),
  fc.record({ file: fc.uint8Array({ maxLength: 6000, size: 'max' }) }),
);
const side: fc.Arbitrary<GProtocolOptions> = fc.record({
  window: fc.integer({ min: 1, max: 7 }),
  packetSize: fc.constantFrom(32, 64, 128, 256, 1024),
  shortPackets: fc.boolean(),
});
/** 0 … max% as a probability (integers spread more evenly than fc.double). */
const rate = (maxPercent: number) => fc.integer({ min: 0, max: maxPercent * 10 }).map((n) => n / 1000);
const faults: fc.Arbitrary<LinkFaults> = fc.record({
  drop: rate(5),
  duplicate: rate(5),
  garbage: rate(3),
  headerFlip: rate(3),
  dataFlip: rate(5),
  reorder: rate(5),
});

test('property: over a lossy, reordering, corrupting link every byte arrives intact, or the session fails cleanly', async (t) => {
  let completed = 0;
  let runs = 0;
  const seen = { resent: 0, badHeaders: 0, badChecksums: 0, badOrder: 0, rejects: 0 };
  await fc.assert(
    fc.asyncProperty(
      fc.integer(),
      faults,
      fc.tuple(side, side),
      fc.tuple(fc.array(item, { maxLength: 5 }), fc.array(item, { maxLength: 5 })),
      async (seed, f, options, scripts) => {
        const out = await simulate(seed, f, options, scripts);
        runs++;
        for (const s of out.stats) for (const k of Object.keys(seen) as (keyof typeof seen)[]) seen[k] += s[k];
        t.deepEqual(out.wrong, [], 'never a wrong byte');
        if (out.complete) completed++;
        // Anything short of complete must come with a failure on some side.
        else t.true(out.closed.some((c) => c.how === 'failed'), JSON.stringify([out.closed, out.errors]));
      },
    ),
    { numRuns: 60, endOnFailure: true },
  );
  t.log(`${completed}/${runs} runs complete; recovery seen: ${JSON.stringify(seen)}`);
  for (const [k, n] of Object.entries(seen)) t.true(n > 0, `the faults exercised ${k}`);
  t.true(completed >= runs * 0.8, 'with these fault rates most sessions should succeed');
});

test('a clean link always completes, with every window/size combination', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.tuple(side, side), fc.tuple(fc.array(item, { maxLength: 3 }), fc.array(item, { maxLength: 3 })), async (options, scripts) => {
      const out = await simulate(1, {}, options, scripts);
      t.deepEqual(out.wrong, []);
      t.true(out.complete);
      t.deepEqual(out.closed.map((c) => c.how).sort(), ['local', 'local']);
    }),
    { numRuns: 25 },
  );
});

test('a link that goes dead fails both sides cleanly after their retries', async (t) => {
  const clock = new ManualClock();
  const link = new SimLink(clock, 7);
  const a = new GProtocol(link.writer(0), clock);
  const b = new GProtocol(link.writer(1), clock);
  link.attach(0, (x) => a.receive(x));
  link.attach(1, (x) => b.receive(x));
  const started = Promise.all([a.start('master'), b.start('slave')]);
  t.true(await drive(clock, started, DAY));
  link.faults = { drop: 1 };
  const sending = a.sendFile([new Uint8Array(10_000)]);
  const reading = b.readCommand();
  t.true(await drive(clock, Promise.allSettled([sending, reading]), DAY));
  await t.throwsAsync(sending, { message: /timed out/ });
  await t.throwsAsync(reading, { message: /timed out/ });
  t.like(await a.closed, { how: 'failed' });
  t.like(await b.closed, { how: 'failed' });
  // 6 retries of 10 s each, then the 7th timeout fails: about 70 s of silence.
  t.true(clock.now() < 200_000, `took ${clock.now()} ms`);
});
