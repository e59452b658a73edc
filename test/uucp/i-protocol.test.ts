// The i protocol end to end in memory: two IProtocol endpoints over the
// seeded lossy link (sim-link.ts) with a ManualClock. Property: every command
// and file arrives complete and in order, or some side fails cleanly; never a
// wrong byte, with bit flips anywhere (single flips in headers, bursts of
// flips in data and CRC). Plus unit tests of the wire behaviour Taylor relies
// on: SYNC bytes, channels, SPOS before file data, NAK, echo refusal, dead line.
import test from 'ava';
import fc from 'fast-check';
import { ManualClock } from '../../src/uucp/protocol/clock.js';
import { SimLink, drive, seededRandom, type FrameTraits, type LinkFaults } from '../helpers/sim-link.js';
import type { IStats } from '../../src/uucp/i/engine.js';
import { IProtocol, type IProtocolOptions } from '../../src/uucp/i/iprotocol.js';
import { HEADER_LEN, INTRO, PT, Scanner, parsePos, type Header } from '../../src/uucp/i/packet.js';
import { DAY, assertReplayable, faultsArb, itemArb, lossyTally, rate, simulatePair, type Item, type Outcome } from '../helpers/protocol-sim.js';

const I_FRAMES: FrameTraits = {
  intro: INTRO,
  headerLen: HEADER_LEN,
  passesChecks(packet) {
    const s = new Scanner();
    s.push(packet);
    return s.next()?.kind === 'packet';
  },
};

/** Flips 1..8 bits in the data or CRC of some packets (CRC-32 must catch them); headers are left to the link's single flips. */
function burstWriter(write: (b: Uint8Array) => void, random: () => number, rate: number): (b: Uint8Array) => void {
  return (b) => {
    if (b.length > HEADER_LEN && random() < rate) {
      const bad = b.slice();
      for (let n = 1 + Math.floor(random() * 8); n > 0; n--) bad[HEADER_LEN + Math.floor(random() * (b.length - HEADER_LEN))]! ^= 1 << Math.floor(random() * 8);
      return write(bad);
    }
    write(b);
  };
}

function simulate(seed: number, faults: LinkFaults, burst: number, options: [IProtocolOptions, IProtocolOptions], scripts: [Item[], Item[]]): Promise<Outcome<IStats>> {
  const clock = new ManualClock();
  const link = new SimLink(clock, seed, faults, 5, I_FRAMES);
  const random = seededRandom(seed ^ 0x5a5a);
  const chunk = 1 + Math.floor(random() * 3000);
  return simulatePair(clock, link, (i, write) => new IProtocol(burstWriter(write, random, burst), clock, options[i]), chunk, scripts);
}

const item = itemArb(20_000);
const side: fc.Arbitrary<IProtocolOptions> = fc.record({
  window: fc.integer({ min: 1, max: 16 }),
  packetSize: fc.constantFrom(16, 100, 512, 1024, 4095),
});

test('property: over a lossy, duplicating, reordering, corrupting link every byte arrives intact, or the session fails cleanly', async (t) => {
  const tally = lossyTally(t, { resent: 0, badHeaders: 0, badChecksums: 0, badOrder: 0, remoteRejects: 0 });
  await assertReplayable(
    t,
    fc.asyncProperty(
      fc.integer(),
      faultsArb,
      rate(5),
      fc.tuple(side, side),
      fc.tuple(fc.array(item, { maxLength: 5 }), fc.array(item, { maxLength: 5 })),
      async (seed, f, burst, options, scripts) => {
        const out = await simulate(seed, f, burst, options, scripts);
        if (!tally.record(out) && process.env.I_DEBUG) t.log(JSON.stringify({ f, burst, options, errors: out.errors, stats: out.stats }));
        return out.wrong.length === 0;
      },
    ),
    { numRuns: 60, endOnFailure: true },
  );
  tally.finish();
});

test('a clean link always completes, both directions at once, every window/size combination', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.tuple(side, side), fc.tuple(fc.array(item, { maxLength: 3 }), fc.array(item, { maxLength: 3 })), async (options, scripts) => {
      const out = await simulate(1, {}, 0, options, scripts);
      t.deepEqual(out.wrong, []);
      t.true(out.complete, JSON.stringify(out.errors));
      t.false(out.closed.some((c) => c.how === 'failed'));
      t.is(out.stats[0]!.resent + out.stats[1]!.resent, 0);
    }),
    { numRuns: 25 },
  );
});

// ------------------------------------------------------------------ wire-level units

interface Wire {
  clock: ManualClock;
  a: IProtocol;
  b: IProtocol;
  /** Packets each side wrote, decoded. */
  out: [{ header: Header; data: Uint8Array }[], { header: Header; data: Uint8Array }[]];
  link: SimLink;
}

/** Packets for which `lost` says true never reach the other side. */
function loseOn(link: SimLink, lost: (to: number, packet: Uint8Array) => boolean): void {
  const l = link as unknown as { send(to: number, p: Uint8Array): void };
  const send = l.send.bind(link);
  l.send = (to, p) => {
    if (!lost(to, p)) send(to, p);
  };
}

function wire(optA: IProtocolOptions = {}, optB: IProtocolOptions = {}): Wire {
  const clock = new ManualClock();
  const link = new SimLink(clock, 3, {}, 5, I_FRAMES);
  const out: Wire['out'] = [[], []];
  const tap = (i: 0 | 1) => {
    const w = link.writer(i);
    return (b: Uint8Array) => {
      const s = new Scanner();
      s.push(b.slice());
      const r = s.next();
      if (r?.kind === 'packet') out[i].push({ header: r.header, data: r.data });
      w(b);
    };
  };
  const a = new IProtocol(tap(0), clock, optA);
  const b = new IProtocol(tap(1), clock, optB);
  link.attach(0, (x) => a.receive(x));
  link.attach(1, (x) => b.receive(x));
  return { clock, a, b, out, link };
}

test('startup: SYNC as Taylor writes it; both sides learn what to send', async (t) => {
  const w = wire({ channels: 7 }, { packetSize: 512, window: 5 });
  const both = Promise.all([w.a.start('master'), w.b.start('slave')]);
  t.true(await drive(w.clock, both, DAY));
  const [ia, ib] = await both;
  // As captured from Taylor 1.07 (caller, 1024/16, 7 channels), but asking for a window of 15:
  // at 16 a late resend looks, mod 32, like a packet 16 ahead (engine.ts).
  const taylor = new Scanner();
  taylor.push(Buffer.from('07000030043404001007857f3046', 'hex'));
  const captured = taylor.next();
  if (captured?.kind !== 'packet') return t.fail('the capture decodes');
  t.deepEqual(w.out[0][0]!.header, captured.header);
  t.deepEqual([...w.out[0][0]!.data], [...captured.data].map((b, i) => (i === 2 ? 15 : b)));
  t.deepEqual(ia, { send: { packetSize: 512, window: 5 }, receive: { packetSize: 1024, window: 15 }, channels: 1 });
  t.deepEqual(ib, { send: { packetSize: 1024, window: 15 }, receive: { packetSize: 512, window: 5 }, channels: 1 });
  t.like(w.out[1][0]!.header, { type: PT.SYNC, caller: false });
  t.deepEqual([...w.out[1][0]!.data], [2, 0, 5, 1], 'the callee asks for 512/5 and announces one channel');
});

test('channels: our requests on channel 1, answers on the requester’s channel, H on 0/0; SPOS(0) before file data', async (t) => {
  const w = wire();
  t.true(await drive(w.clock, Promise.all([w.a.start('master'), w.b.start('slave')]), DAY));
  const file = Buffer.alloc(2500, 0x61);
  const flow = (async () => {
    await w.a.sendCommand('S a b root -C D.1 0644 "" 0x9c4');
    t.is(await w.b.readCommand(), 'S a b root -C D.1 0644 "" 0x9c4');
    await w.b.sendCommand('SY');
    t.is(await w.a.readCommand(), 'SY');
    const got: Buffer[] = [];
    await Promise.all([w.a.sendFile([file]), w.b.receiveFile((c) => void got.push(Buffer.from(c)))]);
    t.deepEqual(Buffer.concat(got), file);
    await w.b.sendCommand('CY');
    t.is(await w.a.readCommand(), 'CY');
    await w.a.sendCommand('H');
    t.is(await w.b.readCommand(), 'H');
  })();
  t.true(await drive(w.clock, flow, DAY));
  await flow;
  const data = (i: 0 | 1) => w.out[i].filter((p) => p.header.type === PT.DATA || p.header.type === PT.SPOS);
  const chans = (i: 0 | 1) => data(i).map((p) => `${p.header.type === PT.SPOS ? `SPOS${parsePos(p.data)}` : p.data.length}:${p.header.localChan}/${p.header.remoteChan}`);
  const cmdLen = 'S a b root -C D.1 0644 "" 0x9c4'.length + 1;
  t.deepEqual(chans(0), [`${cmdLen}:1/0`, 'SPOS0:0/0', '1024:1/0', '1024:1/0', '452:1/0', '0:1/0', '2:0/0']);
  t.deepEqual(chans(1), ['3:0/1', '3:0/1']);
  t.deepEqual(data(0).map((p) => p.header.seq), [1, 2, 3, 4, 5, 6, 7], 'SPOS takes a sequence number');
});

test('a read that brings packets ends acked, below half a window too (a TCP peer holds its next packets until then: Nagle)', async (t) => {
  const w = wire();
  t.true(await drive(w.clock, Promise.all([w.a.start('master'), w.b.start('slave')]), DAY));
  const file = Buffer.alloc(100, 0x62);
  const got: Buffer[] = [];
  t.true(await drive(w.clock, Promise.all([w.a.sendFile([file]), w.b.receiveFile((c) => void got.push(Buffer.from(c)))]), DAY));
  t.deepEqual(Buffer.concat(got), file);
  // The data and the empty end-of-file packet, 2 of a window of 15: each answered by an ACK.
  const sent = w.out[0].filter((p) => p.header.type === PT.DATA || p.header.type === PT.SPOS).map((p) => p.header.seq);
  const acks = w.out[1].filter((p) => p.header.type === PT.ACK).map((p) => p.header.ack);
  t.is(sent.length, 2);
  t.deepEqual(acks, sent);
});

test('a NAK gets the packet resent; a missing packet is NAKed by the receiver', async (t) => {
  const w = wire();
  t.true(await drive(w.clock, Promise.all([w.a.start('master'), w.b.start('slave')]), DAY));
  // Drop exactly the second data packet a sends.
  let n = 0;
  w.link.faults = {};
  const file = Buffer.from(Array.from({ length: 5000 }, (_, i) => i & 0xff));
  const got: Buffer[] = [];
  loseOn(w.link, (to, p) => to === 1 && p.length > HEADER_LEN && ++n === 3); // SPOS, packet, then this one is lost
  const flow = Promise.all([w.a.sendFile([file]), w.b.receiveFile((c) => void got.push(Buffer.from(c)))]);
  t.true(await drive(w.clock, flow, DAY));
  t.deepEqual(Buffer.concat(got), file);
  t.true(w.out[1].some((p) => p.header.type === PT.NAK && p.header.seq === 3), 'b asked for packet 3');
  t.is(w.a.stats.resent, 1);
  t.true(w.clock.now() < 1000, 'recovered by NAK, not by timeout');
});

test('closing at window 1: the packet that brings the last ack is taken in first, so our CLOSE acks it too', async (t) => {
  const w = wire({ window: 1 }, { window: 1 });
  t.true(await drive(w.clock, Promise.all([w.a.start('master'), w.b.start('slave')]), DAY));
  // Acks ride only on data, as Taylor saw them: the ack of b's first HY comes
  // with a's HY, and b's second HY brings the ack of a's HY.
  const typeOf = (p: Uint8Array): number => {
    const s = new Scanner();
    s.push(p.slice());
    const r = s.next();
    return r?.kind === 'packet' ? r.header.type : -1;
  };
  loseOn(w.link, (_to, p) => typeOf(p) === PT.ACK);
  const flow = (async () => {
    await w.a.sendCommand('H');
    t.is(await w.b.readCommand(), 'H');
    // An idle slave answers HY twice (as Taylor does); at window 1 the second
    // leaves only once the first is acked, carrying the ack of a's last HY.
    await w.b.sendCommand('HY');
    const second = w.b.sendCommand('HY');
    t.is(await w.a.readCommand(), 'HY');
    await w.a.sendCommand('HY');
    await w.a.shutdown();
    await second;
  })();
  t.true(await drive(w.clock, flow, DAY));
  await flow;
  const lastHY = w.out[1].filter((p) => p.header.type === PT.DATA).at(-1)!;
  const close = w.out[0].find((p) => p.header.type === PT.CLOSE);
  // Taylor waits for the ack of its second HY past our CLOSE, for ever.
  t.is(close?.header.ack, lastHY.header.seq);
});

test('the size we ask the peer to send follows the damage its packets meet, by SYNC (halved, then doubled back)', async (t) => {
  const w = wire({ adaptiveSize: false }, {});
  t.true(await drive(w.clock, Promise.all([w.a.start('master'), w.b.start('slave')]), DAY));
  // One bit of the third data packet a sends (SPOS, data, then this) is flipped.
  const l = w.link as unknown as { send(to: number, p: Uint8Array): void };
  const send = l.send.bind(w.link);
  let n = 0;
  l.send = (to, p) => {
    if (to === 1 && p.length > HEADER_LEN && ++n === 3) (p = p.slice())[HEADER_LEN + 5]! ^= 1;
    send(to, p);
  };
  const file = Buffer.from(Array.from({ length: 120_000 }, (_, i) => (i * 7) & 0xff));
  const got: Buffer[] = [];
  t.true(await drive(w.clock, Promise.all([w.a.sendFile([file]), w.b.receiveFile((c) => void got.push(Buffer.from(c)))]), DAY));
  t.deepEqual(Buffer.concat(got), file);
  const asked = w.out[1].filter((p) => p.header.type === PT.SYNC).map((p) => (p.data[0]! << 8) | p.data[1]!);
  t.deepEqual(asked, [1024, 512, 1024], 'startup, the damaged packet, then 512² / 5 good bytes');
  const sizes = w.out[0].filter((p) => p.header.type === PT.DATA).map((p) => p.data.length);
  // Besides the one resend of the damaged packet, 1024 again once asked for.
  const halved = sizes.indexOf(512);
  t.true(halved > 0 && sizes.slice(halved).filter((n) => n === 1024).length > 1, `the sender followed both: ${sizes.join(' ')}`);
});

test('a fixed-timeout (Taylor-like) sender whose resend is lost too: our receiver NAKs again after an RTO, not after 10 s', async (t) => {
  const w = wire({ adaptiveTimeout: false, adaptiveSize: false }, {});
  t.true(await drive(w.clock, Promise.all([w.a.start('master'), w.b.start('slave')]), DAY));
  // b's reply, acknowledged: b has a round-trip sample (RTO 1 s).
  const reply = Promise.all([w.b.sendCommand('SY'), w.a.readCommand()]);
  t.true(await drive(w.clock, reply, DAY));
  const t0 = w.clock.now();
  let n = 0;
  // The third data packet a sends (SPOS, data, then this) and its first resend are lost.
  loseOn(w.link, (to, p) => to === 1 && p.length > HEADER_LEN && (++n === 3 || n === 4));
  const file = Buffer.from(Array.from({ length: 5000 }, (_, i) => i & 0xff));
  const got: Buffer[] = [];
  const flow = Promise.all([w.a.sendFile([file]), w.b.receiveFile((c) => void got.push(Buffer.from(c)))]);
  t.true(await drive(w.clock, flow, DAY));
  t.deepEqual(Buffer.concat(got), file);
  t.is(w.a.stats.resent, 2);
  t.true(w.clock.now() - t0 < 3000, `recovered after ${w.clock.now() - t0} ms`);
});

test('an echo of our own packets is refused (direction bit)', async (t) => {
  const clock = new ManualClock();
  const written: Uint8Array[] = [];
  const a = new IProtocol((b) => written.push(b), clock);
  const started = a.start('master').catch(() => undefined);
  const echo = Buffer.concat(written);
  a.receive(echo);
  t.is(a.stats.badHeaders, 1);
  a.abort('done');
  await started;
});

test('a dead line fails both sides cleanly after their retries; startup without a peer fails too', async (t) => {
  const w = wire();
  t.true(await drive(w.clock, Promise.all([w.a.start('master'), w.b.start('slave')]), DAY));
  w.link.faults = { drop: 1 };
  const sending = w.a.sendFile([new Uint8Array(100_000)]);
  const reading = w.b.readCommand();
  t.true(await drive(w.clock, Promise.allSettled([sending, reading]), DAY));
  await t.throwsAsync(sending, { message: /timed out|acknowledg/ });
  await t.throwsAsync(reading, { message: /timed out/ });
  t.like(await w.a.closed, { how: 'failed' });
  t.like(await w.b.closed, { how: 'failed' });
  t.true(w.clock.now() < 200_000, `took ${w.clock.now()} ms`);

  const lone = wire();
  lone.link.faults = { drop: 1 };
  const s = lone.a.start('master');
  t.true(await drive(lone.clock, s.catch(() => undefined), DAY));
  await t.throwsAsync(s, { message: /startup failed/ });
});

test('a lost SYNC is made good: the started side answers a repeated SYNC', async (t) => {
  const w = wire();
  let dropped = false;
  loseOn(w.link, (to) => to === 1 && !dropped && (dropped = true)); // a's first SYNC never reaches b
  const both = Promise.all([w.a.start('master'), w.b.start('slave')]);
  t.true(await drive(w.clock, both, DAY));
  const flow = (async () => {
    await w.a.sendCommand('H');
    t.is(await w.b.readCommand(), 'H');
  })();
  t.true(await drive(w.clock, flow, DAY));
  await flow;
  t.true(w.clock.now() < 60_000);
});
