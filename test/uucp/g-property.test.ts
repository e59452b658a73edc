import test from 'ava';
import fc from 'fast-check';
import { ManualClock } from '../../src/uucp/protocol/clock.js';
import type { GStats } from '../../src/uucp/g/engine.js';
import { GProtocol, type GProtocolOptions } from '../../src/uucp/g/gprotocol.js';
import { SimLink, drive, seededRandom, type LinkFaults } from '../helpers/sim-link.js';
import { DAY, assertReplayable, faultsArb, itemArb, lossyTally, simulatePair, type Item, type Outcome } from '../helpers/protocol-sim.js';

/** Both sides send their script while reading the other's, then shut down. */
function simulate(seed: number, faults: LinkFaults, options: [GProtocolOptions, GProtocolOptions], scripts: [Item[], Item[]]): Promise<Outcome<GStats>> {
  const clock = new ManualClock();
  const link = new SimLink(clock, seed, faults);
  const chunk = 1 + Math.floor(seededRandom(seed)() * 700);
  return simulatePair(clock, link, (i, write) => new GProtocol(write, clock, options[i]), chunk, scripts);
}

const item = itemArb(6000);
const side: fc.Arbitrary<GProtocolOptions> = fc.record({
  window: fc.integer({ min: 1, max: 7 }),
  packetSize: fc.constantFrom(32, 64, 128, 256, 1024),
  shortPackets: fc.boolean(),
  // Either side may be Taylor-like (fixed 10 s timeout, always the peer's size).
  adaptiveTimeout: fc.boolean(),
  adaptiveSize: fc.boolean(),
  // Both ends are ours, so SRJs are understood.
  selectiveRepeat: fc.boolean(),
});

test('property: over a lossy, reordering, corrupting link every byte arrives intact, or the session fails cleanly', async (t) => {
  const tally = lossyTally(t, { resent: 0, badHeaders: 0, badChecksums: 0, badOrder: 0, rejects: 0 });
  await assertReplayable(
    t,
    fc.asyncProperty(
      fc.integer(),
      faultsArb,
      fc.tuple(side, side),
      fc.tuple(fc.array(item, { maxLength: 5 }), fc.array(item, { maxLength: 5 })),
      async (seed, f, options, scripts) => {
        const out = await simulate(seed, f, options, scripts);
        tally.record(out);
        return out.wrong.length === 0;
      },
    ),
    { numRuns: 60, endOnFailure: true },
  );
  tally.finish();
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
