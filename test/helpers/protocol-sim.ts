// Property-test harness shared by the g and i protocols: two endpoints over a
// seeded SimLink with a ManualClock, each sending its script of commands and
// files while checking every byte of the other's, then shutting down; and
// the fault arbitraries and tally of the "lossy link" property.
import type { ExecutionContext } from 'ava';
import fc from 'fast-check';
import type { ManualClock } from '../../src/uucp/protocol/clock.js';
import { drive, type LinkFaults, type SimLink } from './sim-link.js';
import type { CloseInfo } from '../../src/uucp/protocol/protocol-base.js';
import type { Protocol } from '../../src/uucp/protocol/protocol.js';

export type Item = { command: string } | { file: Uint8Array };

export const DAY = 24 * 3600 * 1000;

export interface SimProtocol<Stats> extends Protocol {
  receive(bytes: Uint8Array): void;
  readonly closed: Promise<CloseInfo>;
  readonly stats: Stats;
}

export interface Outcome<Stats> {
  complete: boolean;
  closed: CloseInfo[];
  wrong: string[];
  stats: Stats[];
  errors: string[];
}

/** Reads `script` from `p`, checking every byte as it arrives; mismatches go to `wrong`. */
async function expectScript(p: Protocol, script: Item[], wrong: string[]): Promise<void> {
  for (const [i, item] of script.entries()) {
    if ('command' in item) {
      const got = await p.readCommand();
      if (got !== item.command) wrong.push(`command ${i}: ${JSON.stringify(got)}`);
    } else {
      let offset = 0;
      await p.receiveFile((chunk) => {
        const expected = item.file.subarray(offset, offset + chunk.length);
        if (chunk.length > expected.length || Buffer.compare(chunk, expected) !== 0) wrong.push(`file ${i} at ${offset}`);
        offset += chunk.length;
      });
      if (offset !== item.file.length) wrong.push(`file ${i}: ${offset} of ${item.file.length} bytes`);
    }
  }
}

/** Sends `script`, files in source chunks of `chunk` bytes. */
async function sendScript(p: Protocol, script: Item[], chunk: number): Promise<void> {
  for (const item of script) {
    if ('command' in item) await p.sendCommand(item.command);
    else {
      const { file } = item;
      await p.sendFile((function* () {
        for (let at = 0; at < file.length; at += chunk) yield file.subarray(at, at + chunk);
      })());
    }
  }
}

/**
 * Both sides (made by `make` around the link's writer for that side) send
 * their script while reading the other's, then shut down; side 0 is master.
 */
export async function simulatePair<Stats>(
  clock: ManualClock,
  link: SimLink,
  make: (side: 0 | 1, write: (bytes: Uint8Array) => void) => SimProtocol<Stats>,
  chunk: number,
  scripts: [Item[], Item[]],
): Promise<Outcome<Stats>> {
  const sides = ([0, 1] as const).map((i) => make(i, link.writer(i)));
  sides.forEach((p, i) => link.attach(i as 0 | 1, (b) => p.receive(b)));
  const wrong: string[] = [];
  const run = async (p: SimProtocol<Stats>, role: 'master' | 'slave', mine: Item[], theirs: Item[]) => {
    await p.start(role);
    await Promise.all([sendScript(p, mine, chunk), expectScript(p, theirs, wrong)]);
    await p.shutdown();
  };
  const results = Promise.allSettled([run(sides[0]!, 'master', scripts[0], scripts[1]), run(sides[1]!, 'slave', scripts[1], scripts[0])]);
  const settled = await drive(clock, Promise.all([results, ...sides.map((p) => p.closed)]), DAY);
  if (!settled) throw new Error(`simulation stalled at ${clock.now()} ms`);
  const r = await results;
  return {
    complete: r.every((x) => x.status === 'fulfilled'),
    errors: r.map((x) => (x.status === 'rejected' ? String(x.reason) : 'ok')),
    closed: await Promise.all(sides.map((p) => p.closed)),
    wrong,
    stats: sides.map((p) => p.stats),
  };
}

/** A command of 1..300 non-NUL 8-bit characters, or a file of up to `maxFile` bytes. */
export const itemArb = (maxFile: number): fc.Arbitrary<Item> =>
  fc.oneof(
    fc.record({ command: fc.string({ minLength: 1, maxLength: 300, size: 'max', unit: fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c)) }) }),
    fc.record({ file: fc.uint8Array({ maxLength: maxFile, size: 'max' }) }),
  );

/** 0 … max% as a probability (integers spread more evenly than fc.double). */
export const rate = (maxPercent: number): fc.Arbitrary<number> => fc.integer({ min: 0, max: maxPercent * 10 }).map((n) => n / 1000);

export const faultsArb: fc.Arbitrary<LinkFaults> = fc.record({
  drop: rate(5),
  duplicate: rate(5),
  garbage: rate(3),
  headerFlip: rate(3),
  dataFlip: rate(5),
  reorder: rate(5),
});

/**
 * fc.assert for the lossy-link properties, whose runs are drawn afresh each
 * time: a failure names the seed and path that replay it (fc.check with
 * them), not the counterexample, whose files would fill the log.
 */
export async function assertReplayable(t: ExecutionContext, property: fc.IAsyncPropertyWithHooks<unknown[]>, params: fc.Parameters<unknown[]>): Promise<void> {
  const r = await fc.check(property, params);
  if (r.failed) t.fail(`property failed; replay with { seed: ${r.seed}, path: "${r.counterexamplePath}" }: ${r.errorInstance ?? 'a run returned false'}`);
}

/**
 * The verdict of the lossy-link property: never a wrong byte, anything short
 * of complete comes with a failure on some side, most runs complete, and the
 * faults exercised every recovery counter in `seen`.
 */
export function lossyTally<K extends string>(t: ExecutionContext, seen: Record<K, number>) {
  let completed = 0;
  let runs = 0;
  return {
    /** Checks one run; false when it did not complete. */
    record(out: Outcome<Record<K, number>>): boolean {
      runs++;
      for (const s of out.stats) for (const k of Object.keys(seen) as K[]) seen[k] += s[k];
      t.deepEqual(out.wrong, [], 'never a wrong byte');
      if (out.complete) completed++;
      else t.true(out.closed.some((c) => c.how === 'failed'), JSON.stringify([out.closed, out.errors]));
      return out.complete;
    },
    finish(): void {
      t.log(`${completed}/${runs} runs complete; recovery seen: ${JSON.stringify(seen)}`);
      for (const [k, n] of Object.entries(seen)) t.true((n as number) > 0, `the faults exercised ${k}`);
      t.true(completed >= runs * 0.8, 'with these fault rates most sessions should succeed');
    },
  };
}
