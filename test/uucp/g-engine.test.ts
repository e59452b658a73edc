import test from 'ava';
import { ManualClock } from '../../src/uucp/protocol/clock.js';
import { GEngine, type GEngineOptions, type GEvent } from '../../src/uucp/g/engine.js';
import { CHECKSUM_MISS_RATE, Ctl, PacketDecoder, checksum, commandArea, dataArea, encodeControl, encodeData, kOfSize, undetectedRisk, type Decoded } from '../../src/uucp/g/packet.js';
import { MAX_UNDETECTED_RISK } from '../../src/uucp/session-receive.js';
import { seededRandom } from '../../src/util/seeded-random.js';

/** One engine, with everything it writes decoded and every event recorded. */
class Harness {
  readonly clock = new ManualClock();
  readonly engine: GEngine;
  readonly events: GEvent[] = [];
  out: Decoded[] = [];
  private readonly decoder = new PacketDecoder();

  constructor(options: GEngineOptions = {}) {
    this.engine = new GEngine(
      {
        write: (bytes) => {
          this.decoder.push(bytes);
          for (let d = this.decoder.next(); d; d = this.decoder.next()) this.out.push(d);
        },
        event: (ev) => this.events.push(ev),
      },
      this.clock,
      options,
    );
  }

  feed(...packets: Uint8Array[]): void {
    for (const p of packets) this.engine.receive(p);
  }

  /** Output since the last call, as short strings: "INITA 7", "RR 3", "D 1/0 H". */
  take(): string[] {
    const names = Object.fromEntries(Object.entries(Ctl).map(([k, v]) => [v, k]));
    const shown = this.out.map((d) => {
      if (d.kind === 'control') return `${names[d.type]} ${d.value}`;
      if (d.kind === 'data') return `D ${d.seq}/${d.ack} ${Buffer.from(d.payload).toString('latin1').replace(/\0+$/, '')}`;
      return d.kind;
    });
    this.out = [];
    return shown;
  }

  /** Runs startup as slave against a scripted peer that asks for `window`/`packetSize`. */
  startAsSlave(window = 7, packetSize = 64): this {
    this.engine.start('slave');
    this.feed(encodeControl(Ctl.INITA, window), encodeControl(Ctl.INITB, kOfSize(packetSize) - 1), encodeControl(Ctl.INITC, window));
    this.take();
    return this;
  }
}

const ctl = (type: number, value: number) => encodeControl(type as Parameters<typeof encodeControl>[0], value);
const text = (s: string) => Buffer.from(s, 'latin1');
const peerData = (seq: number, ack: number, s: string, size = 64) => encodeData(commandArea(text(s), size), seq, ack);

/** Two engines wired back to back through the clock (5 ms each way). */
function pair(a: GEngineOptions, b: GEngineOptions) {
  const clock = new ManualClock();
  const wire: string[] = [];
  const events: [GEvent[], GEvent[]] = [[], []];
  const engines: GEngine[] = [];
  const link = (from: 0 | 1) => (bytes: Uint8Array) => {
    const d = new PacketDecoder();
    d.push(bytes);
    const p = d.next();
    if (p?.kind === 'control') wire.push(`${from === 0 ? 'A' : 'B'}:${Object.entries(Ctl).find(([, v]) => v === p.type)![0]} ${p.value}`);
    clock.setTimer(5, () => engines[1 - from]!.receive(bytes));
  };
  engines.push(new GEngine({ write: link(0), event: (e) => events[0].push(e) }, clock, a));
  engines.push(new GEngine({ write: link(1), event: (e) => events[1].push(e) }, clock, b));
  return { clock, wire, events, a: engines[0]!, b: engines[1]! };
}

test('INIT: caller first, callee answers each step; asymmetric 128/3 vs 64/7', (t) => {
  const p = pair({ window: 7, packetSize: 64 }, { window: 3, packetSize: 128 });
  p.b.start('slave');
  p.clock.advance(1000);
  t.deepEqual(p.wire, [], 'the callee waits for the caller');
  p.a.start('master');
  p.clock.advance(1000);
  t.deepEqual(p.wire, ['A:INITA 7', 'B:INITA 3', 'A:INITB 1', 'B:INITB 2', 'A:INITC 7', 'B:INITC 3']);
  t.deepEqual(p.events[0], [{ type: 'started', send: { window: 3, packetSize: 128 }, receive: { window: 7, packetSize: 64 } }]);
  t.deepEqual(p.events[1], [{ type: 'started', send: { window: 7, packetSize: 64 }, receive: { window: 3, packetSize: 128 } }]);
});

test('INIT: a lost callee INITC is recovered from the caller side by the peer running', (t) => {
  const h = new Harness();
  h.engine.start('master');
  h.feed(ctl(Ctl.INITA, 7), ctl(Ctl.INITB, 1));
  t.deepEqual(h.take(), ['INITA 7', 'INITB 1', 'INITC 7']);
  // The callee's INITC never arrives, but its first data packet does.
  h.feed(peerData(1, 0, 'SY'));
  t.like(h.events[0], { type: 'started' });
  t.deepEqual(h.take(), ['RR 1']);
});

test('INIT: retries each step 4 times, 8 attempts, then fails and sends CLOSE', (t) => {
  const h = new Harness();
  h.engine.start('master');
  h.clock.advance(8 * 4 * 10_000);
  const sent = h.take();
  t.is(sent.filter((s) => s === 'INITA 7').length, 32);
  t.deepEqual(sent.slice(-2), ['CLOSE 0', 'CLOSE 0']);
  t.deepEqual(h.events, [{ type: 'failed', reason: 'g startup failed' }]);
});

test('INIT: go back to INITA on INITC while sending INITB; re-send what was already answered', (t) => {
  const h = new Harness({ window: 5, packetSize: 256 });
  h.engine.start('master');
  h.feed(ctl(Ctl.INITA, 3));
  t.deepEqual(h.take(), ['INITA 5', 'INITB 3']);
  h.feed(ctl(Ctl.INITC, 3)); // peer is ahead: we lost its INITB
  t.deepEqual(h.take(), ['INITA 5', 'INITB 3'], 'INITA already answered: re-sent at once, then INITB again');
  h.feed(ctl(Ctl.INITB, 0), ctl(Ctl.INITC, 3));
  t.deepEqual(h.take(), ['INITC 5']);
  t.like(h.events[0], { type: 'started', send: { window: 3, packetSize: 32 } });
});

test('INIT: INITA while sending INITC restarts; INIT packets after startup are ignored', (t) => {
  const h = new Harness();
  h.engine.start('master');
  h.feed(ctl(Ctl.INITA, 7), ctl(Ctl.INITB, 1));
  h.take();
  h.feed(ctl(Ctl.INITA, 7));
  t.deepEqual(h.take(), ['INITA 7', 'INITB 1', 'INITC 7']);
  h.feed(ctl(Ctl.INITC, 7));
  t.is(h.events.length, 1);
  h.feed(ctl(Ctl.INITA, 7), ctl(Ctl.INITB, 1), ctl(Ctl.INITC, 7));
  t.deepEqual(h.take(), []);
  t.is(h.events.length, 1);
});

test('window 1: one packet in flight at a time', (t) => {
  const h = new Harness().startAsSlave(1, 64);
  h.engine.sendData(text('one'), 'command');
  t.false(h.engine.canSend());
  t.throws(() => h.engine.sendData(text('two'), 'command'));
  h.feed(ctl(Ctl.RR, 1));
  t.true(h.engine.canSend());
  h.engine.sendData(text('two'), 'command');
  t.deepEqual(h.take(), ['D 1/0 one', 'D 2/0 two']);
});

test('window 7 and sequence wrap 7 → 0', (t) => {
  const h = new Harness().startAsSlave(7, 64);
  for (let i = 0; i < 7; i++) h.engine.sendData(text(`p${i}`), 'file');
  t.false(h.engine.canSend(), 'seven outstanding fill the window');
  t.deepEqual(h.take().map((s) => s.split(' ')[1]), ['1/0', '2/0', '3/0', '4/0', '5/0', '6/0', '7/0']);
  h.feed(ctl(Ctl.RR, 7));
  for (let i = 0; i < 3; i++) h.engine.sendData(text(`q${i}`), 'file');
  t.deepEqual(h.take().map((s) => s.split(' ')[1]), ['0/0', '1/0', '2/0']);
  h.feed(ctl(Ctl.RR, 2));
  t.true(h.engine.canSend());
});

test('receiving: in-order packets are RR\'d at once; duplicates and gaps are dropped without an RR; a gap draws one RJ', (t) => {
  const h = new Harness().startAsSlave();
  h.feed(peerData(1, 0, 'a'), peerData(1, 0, 'a'), peerData(3, 0, 'c'), peerData(2, 0, 'b'));
  // The duplicate right after its original is dropped silently; the gap (3
  // before 2) asks at once for what is missing instead of waiting a timeout.
  t.deepEqual(h.take(), ['RR 1', 'RJ 1', 'RR 2']);
  const data = h.events.filter((e) => e.type === 'data').map((e) => Buffer.from((e as { payload: Uint8Array }).payload).toString().replace(/\0+$/, ''));
  t.deepEqual(data, ['a', 'b']);
  t.is(h.engine.stats.badOrder, 2);
  // Sequence numbers wrap: 3..7, 0 are all accepted in order.
  for (const seq of [3, 4, 5, 6, 7, 0]) h.feed(peerData(seq, 0, `s${seq}`));
  t.deepEqual(h.take(), ['RR 3', 'RR 4', 'RR 5', 'RR 6', 'RR 7', 'RR 0']);
});

test('a damaged copy of the expected packet draws RJ(last good)', (t) => {
  const h = new Harness().startAsSlave();
  h.feed(peerData(1, 0, 'a'));
  const bad = peerData(2, 0, 'b');
  bad[20]! ^= 0x40;
  h.feed(bad);
  t.deepEqual(h.take(), ['RR 1', 'RJ 1']);
  t.is(h.engine.stats.badChecksums, 1);
});

test('RJ: resend from the packet after yyy, with the current ack and a valid checksum', (t) => {
  const h = new Harness().startAsSlave();
  for (const s of ['a', 'b', 'c', 'd', 'e']) h.engine.sendData(text(s), 'command');
  h.feed(peerData(1, 0, 'x'), peerData(2, 0, 'y')); // we have now received up to 2
  h.take();
  h.feed(ctl(Ctl.RJ, 1));
  t.deepEqual(h.take(), ['D 2/2 b', 'D 3/2 c', 'D 4/2 d', 'D 5/2 e'], 'the rest of the window at once (go-back-N), ack field updated');
  h.feed(ctl(Ctl.RJ, 1));
  t.deepEqual(h.take(), ['D 2/2 b', 'D 3/2 c', 'D 4/2 d', 'D 5/2 e'], 'the same RJ again: the resend was damaged too');
  h.feed(ctl(Ctl.RR, 3));
  h.engine.sendData(text('f'), 'command');
  t.deepEqual(h.take(), ['D 6/2 f'], 'new packets go at once');
});

test('timeout: resend the oldest unacked packet with the current ack; RJ when nothing is outstanding', (t) => {
  const h = new Harness().startAsSlave();
  h.clock.advance(10_000);
  t.deepEqual(h.take(), ['RJ 0']);
  h.engine.sendData(text('a'), 'command');
  h.engine.sendData(text('b'), 'command');
  h.feed(peerData(1, 0, 'x'));
  h.take();
  h.clock.advance(10_000);
  t.deepEqual(h.take(), ['D 1/1 a']);
  t.is(h.engine.stats.resent, 1);
});

test('duplicate RR counts as RJ while recovering, until the peer has sent a real RJ', (t) => {
  const h = new Harness().startAsSlave();
  for (const s of ['a', 'b', 'c']) h.engine.sendData(text(s), 'command');
  h.take();
  h.feed(ctl(Ctl.RR, 0));
  t.deepEqual(h.take(), [], 'not recovering: a repeated RR is just ignored');
  h.clock.advance(10_000);
  t.deepEqual(h.take(), ['D 1/0 a']);
  h.feed(ctl(Ctl.RR, 0));
  t.deepEqual(h.take(), ['D 1/0 a', 'D 2/0 b', 'D 3/0 c'], 'duplicate RR treated as RJ');
  h.feed(ctl(Ctl.RJ, 0));
  t.deepEqual(h.take(), ['D 1/0 a', 'D 2/0 b', 'D 3/0 c']);
  h.feed(ctl(Ctl.RR, 0));
  t.deepEqual(h.take(), [], 'after a real RJ, duplicate RRs are only RRs');
});

test('SRJ resends exactly the named packet; we never send SRJ', (t) => {
  const h = new Harness().startAsSlave();
  for (const s of ['a', 'b', 'c']) h.engine.sendData(text(s), 'command');
  h.take();
  h.feed(ctl(Ctl.SRJ, 2));
  t.deepEqual(h.take(), ['D 2/0 b']);
});

test('stale or impossible acks are ignored', (t) => {
  const h = new Harness().startAsSlave();
  h.engine.sendData(text('a'), 'command');
  h.take();
  h.feed(ctl(Ctl.RR, 5), ctl(Ctl.RJ, 4));
  t.deepEqual(h.take(), []);
  t.false(h.events.some((e) => e.type === 'acked'));
});

test('Taylor bound: window × (packet + 6) ≤ 16384 when asked', (t) => {
  const cases: [number, number, number][] = [
    [4096, 7, 3],
    [4096, 3, 3],
    [2048, 7, 7],
    [1024, 7, 7],
  ];
  for (const [size, window, expected] of cases) {
    const h = new Harness({ maxSendBytesInFlight: 16384 }).startAsSlave(window, size);
    t.is(h.engine.sending.window, expected, `${size}/${window}`);
  }
  t.is(new Harness().startAsSlave(7, 4096).engine.sending.window, 7, 'no bound unless asked');
});

test('retries exhausted: failure event, CLOSE sent, engine stops', (t) => {
  const h = new Harness({ retries: 2 }).startAsSlave();
  h.engine.sendData(text('a'), 'command');
  h.take();
  h.clock.advance(30_000);
  t.deepEqual(h.take(), ['D 1/0 a', 'D 1/0 a', 'CLOSE 0', 'CLOSE 0']);
  t.deepEqual(h.events.at(-1), { type: 'failed', reason: 'timed out waiting for the peer' });
  t.false(h.engine.canSend());
  h.feed(ctl(Ctl.RR, 1));
  t.deepEqual(h.take(), []);
});

const badHeader = Uint8Array.of(0x10, 1, 2, 3, 4, 5);
/** A valid packet between damaged ones: the line is in sync again. */
const resync = () => ctl(Ctl.RR, 0);

test('error budget and garbage limit end the session', (t) => {
  const noisy = new Harness({ maxErrors: 5 }).startAsSlave();
  for (let i = 0; i < 6; i++) noisy.feed(badHeader, resync());
  t.like(noisy.events.at(-1), { type: 'failed' });
  const garbage = new Harness({ garbageLimit: 100 }).startAsSlave();
  garbage.feed(new Uint8Array(101).fill(0x55));
  t.deepEqual(garbage.events.at(-1), { type: 'failed', reason: 'more than 100 bytes of garbage' });
});

test('error level is paid back by good bytes: one per 512 (7 packets of 64+6, or one of 1024)', (t) => {
  const h = new Harness({ maxErrors: 2 }).startAsSlave();
  h.feed(badHeader, resync(), badHeader, resync());
  t.is(h.engine.errors, 2);
  for (let seq = 1; seq <= 7; seq++) h.feed(peerData(seq & 7, 0, 'x'));
  t.true(Math.abs(h.engine.errors - (2 - 490 / 512)) < 1e-9, '7 × 70 bytes pay back 490/512');
  for (let seq = 8; seq <= 15; seq++) h.feed(peerData(seq & 7, 0, 'x'));
  t.is(h.engine.errors, 0, 'never below 0');
  h.feed(badHeader, resync(), badHeader, resync());
  t.false(h.events.some((e) => e.type === 'failed'), 'level 2 = the budget');
  h.feed(badHeader, resync());
  t.like(h.events.at(-1), { type: 'failed' });

  // The same budget with big packets: one 1024-byte packet pays back two errors.
  const big = new Harness({ maxErrors: 2, packetSize: 1024 }).startAsSlave();
  big.feed(badHeader, resync(), badHeader, resync());
  big.feed(peerData(1, 0, 'x', 1024));
  t.is(big.engine.errors, 0);
});

test('one damaged packet is one error: the resync hits inside it (DLEs in its data) are not counted again', (t) => {
  const h = new Harness({ packetSize: 1024 }).startAsSlave(7, 64);
  // A 1024-byte packet full of DLEs, damaged in its data: Taylor would count
  // the bad checksum and then ~1000 bad headers found while rescanning it.
  const body = Buffer.alloc(1000, 0x10);
  const damaged = encodeData(dataArea(body, 1024), 1, 0);
  damaged[500]! ^= 0x01;
  h.feed(damaged);
  t.is(h.engine.stats.badChecksums, 1);
  t.true(h.engine.stats.badHeaders > 900, `${h.engine.stats.badHeaders} resync hits`);
  t.is(h.engine.errors, 1, 'counted once');
  t.deepEqual(h.take(), ['RJ 0']);
  // Damage to the rest of the window after our RJ is not counted.
  const late = encodeData(dataArea(body, 1024), 2, 0);
  late[600]! ^= 0x01;
  h.feed(late);
  t.is(h.engine.errors, 1);
  // The good resend pays back 1030/512 of it.
  h.feed(encodeData(dataArea(body, 1024), 1, 0));
  t.true(h.engine.errors < 0.0001);
  // A damaged header: its packet's bytes do not count again either.
  h.feed(resync());
  const badHead = encodeData(dataArea(body, 1024), 2, 0);
  badHead[4]! ^= 0x08;
  h.feed(badHead);
  t.is(h.engine.errors, 1);
  t.false(h.events.some((e) => e.type === 'failed'));
});

test('with Taylor-style counting a noisy 1024-byte stream would die; ours survives while good packets arrive', (t) => {
  const h = new Harness({ packetSize: 1024 }).startAsSlave(7, 64);
  const body = Buffer.alloc(1024);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff; // 4 DLEs per packet
  let seq = 0;
  // 400 packets, every other one damaged once before its good resend.
  for (let i = 0; i < 400; i++) {
    const next = (seq + 1) & 7;
    const bad = encodeData(dataArea(body, 1024), next, 0);
    bad[6 + (i % 1000)]! ^= 0x20;
    if (i % 2 === 0) h.feed(bad);
    h.feed(encodeData(dataArea(body, 1024), next, 0));
    seq = next;
  }
  t.false(h.events.some((e) => e.type === 'failed'));
  t.is(h.engine.stats.received, 400);
  t.true(h.engine.stats.errors <= 200, `${h.engine.stats.errors} errors for 200 damaged packets`);
});

test('CLOSE: unexpected CLOSE is answered with one CLOSE; orderly close waits for acks, then two', (t) => {
  const h = new Harness().startAsSlave();
  h.feed(ctl(Ctl.CLOSE, 0));
  t.deepEqual(h.take(), ['CLOSE 0']);
  t.deepEqual(h.events.at(-1), { type: 'closed', byPeer: true });

  const o = new Harness().startAsSlave();
  o.engine.sendData(text('HY'), 'command');
  o.engine.close();
  t.deepEqual(o.take(), ['D 1/0 HY']);
  t.false(o.engine.canSend());
  o.feed(ctl(Ctl.RR, 1));
  t.deepEqual(o.take(), ['CLOSE 0', 'CLOSE 0']);
  t.deepEqual(o.events.at(-1), { type: 'closed', byPeer: false });
});

test('bytes after the peer CLOSE are kept for the session layer', (t) => {
  const h = new Harness().startAsSlave();
  h.feed(Buffer.concat([ctl(Ctl.CLOSE, 0), text('\x10OOOOOO\0')]));
  t.is(Buffer.from(h.engine.leftover()).toString('latin1'), '\x10OOOOOO\0');
});

test('two engines: file data in full packets, a short last packet, then an empty EOF packet', (t) => {
  const p = pair({ packetSize: 64 }, { packetSize: 512 });
  p.b.start('slave');
  p.a.start('master');
  p.clock.advance(100);
  // A sends to B, which asked for 512: the 1110-byte example from the captures.
  const file = Uint8Array.from({ length: 1110 }, (_, i) => i & 0xff);
  const sizes: number[] = [];
  const send = (chunk: Uint8Array) => {
    sizes.push(dataArea(chunk, 512).area.length);
    p.a.sendData(chunk, 'file');
  };
  send(file.subarray(0, 512));
  send(file.subarray(512, 1024));
  send(file.subarray(1024));
  send(new Uint8Array(0));
  p.clock.advance(100);
  const got = p.events[1].filter((e) => e.type === 'data').map((e) => (e as { payload: Uint8Array }).payload);
  t.deepEqual(got.map((g) => g.length), [512, 512, 86, 0]);
  t.deepEqual(Buffer.concat(got), Buffer.from(file));
  t.deepEqual([...p.wire.filter((w) => w.startsWith('B:RR'))], ['B:RR 1', 'B:RR 2', 'B:RR 3', 'B:RR 4']);
});

test('G variant: every packet is exactly the peer size', (t) => {
  const h = new Harness({ shortPackets: false }).startAsSlave(7, 512);
  h.engine.sendData(text('S x y'), 'command');
  h.engine.sendData(new Uint8Array(86), 'file');
  h.engine.sendData(new Uint8Array(0), 'file');
  t.deepEqual(h.out.map((d) => (d.kind === 'data' ? d.size : 0)), [512, 512, 512]);
});

test('INIT: bytes received before start() are kept and answered once started (the peer INITA read with the handshake)', (t) => {
  const h = new Harness();
  h.feed(ctl(Ctl.INITA, 7));
  t.deepEqual(h.take(), [], 'nothing is answered before start()');
  h.engine.start('slave');
  t.deepEqual(h.take(), ['INITA 7'], 'answered at once, without waiting out the INIT timeout');
  h.feed(ctl(Ctl.INITB, 1), ctl(Ctl.INITC, 7));
  t.deepEqual(h.take(), ['INITB 1', 'INITC 7']);
  t.like(h.events[0], { type: 'started' });
});

// ------------------------------------------------------- adaptive sending

const fileBytes = (n: number) => new Uint8Array(n).fill(0x41);

test('adaptive size: RJs halve the file packet size (once per window), long clean runs double it back', (t) => {
  const h = new Harness().startAsSlave(7, 1024);
  t.is(h.engine.sending.packetSize, 1024);
  h.engine.sendData(fileBytes(1024), 'file');
  h.feed(ctl(Ctl.RJ, 0));
  t.is(h.engine.sending.packetSize, 512, 'an RJ that forces a resend halves it');
  h.feed(ctl(Ctl.RJ, 0));
  t.is(h.engine.sending.packetSize, 512, 'the same burst does not shrink it again before a window went out');
  h.feed(ctl(Ctl.RR, 1));
  let seq = 1;
  const sendAcked = (n: number, size: number) => {
    for (let i = 0; i < n; i++) {
      h.engine.sendData(fileBytes(size), 'file');
      seq = (seq + 1) & 7;
      h.feed(ctl(Ctl.RR, seq));
    }
  };
  sendAcked(7, 512);
  h.engine.sendData(fileBytes(512), 'file');
  h.clock.advance(10_000); // a timeout with data outstanding shrinks too
  t.is(h.engine.sending.packetSize, 256);
  t.is(h.engine.stats.shrinks, 2);
  seq = (seq + 1) & 7;
  h.feed(ctl(Ctl.RR, seq));
  h.take();
  // Doubling pays once window × size² / 3 bytes (packets with their headers) went through clean.
  const need = (size: number) => Math.ceil((7 * size * size) / 3 / (size + 6));
  sendAcked(need(256) - 1, 256);
  t.is(h.engine.sending.packetSize, 256);
  sendAcked(1, 256);
  t.is(h.engine.sending.packetSize, 512, 'a long clean run doubles it');
  sendAcked(need(512), 512);
  t.is(h.engine.sending.packetSize, 1024);
  sendAcked(40, 1024);
  t.is(h.engine.sending.packetSize, 1024, 'never above what the peer asked for');
  t.is(h.engine.stats.grows, 2);
  // The packets really are smaller on the wire, and Taylor-valid short/full packets.
  h.engine.sendData(fileBytes(1024), 'file');
  h.feed(ctl(Ctl.RJ, seq));
  h.take();
  h.engine.sendData(fileBytes(512), 'file');
  const out = h.out.filter((d) => d.kind === 'data');
  t.deepEqual(out.map((d) => (d as { size: number }).size), [512]);
});

test('adaptive size: never for peers that asked ≤ 64, for G, or when turned off; commands keep the peer size', (t) => {
  for (const [opts, size] of [
    [{}, 64],
    [{ shortPackets: false }, 1024],
    [{ adaptiveSize: false }, 1024],
  ] as [GEngineOptions, number][]) {
    const h = new Harness(opts).startAsSlave(7, size);
    h.engine.sendData(fileBytes(size), 'file');
    h.feed(ctl(Ctl.RJ, 0));
    t.is(h.engine.sending.packetSize, size);
  }
  const h = new Harness().startAsSlave(7, 1024);
  h.engine.sendData(fileBytes(1024), 'file');
  h.feed(ctl(Ctl.RJ, 0));
  t.is(h.engine.sending.packetSize, 512);
  t.is(h.engine.peerPacketSize, 1024, 'commands are split at the peer size');
});

// ------------------------------------------------------- adaptive timeouts

test('RTO: from the measured round trip, floor 1 s, doubling on each timeout, capped at 10 s', (t) => {
  const h = new Harness().startAsSlave();
  t.is(h.engine.rto, 10_000, 'no sample yet: Taylor\'s 10 s');
  h.engine.sendData(text('a'), 'command');
  h.clock.advance(200);
  h.feed(ctl(Ctl.RR, 1));
  t.is(h.engine.rto, 1000, 'srtt 200 + 4 × 100 = 600, floored at 1 s');
  h.engine.sendData(text('b'), 'command');
  h.take();
  h.clock.advance(999);
  t.deepEqual(h.take(), []);
  h.clock.advance(1);
  t.deepEqual(h.take(), ['D 2/0 b'], 'resent after one RTO, not 10 s');
  h.clock.advance(2000);
  t.deepEqual(h.take(), ['D 2/0 b'], 'backed off to 2 s');
  h.clock.advance(4000);
  h.clock.advance(8000);
  h.clock.advance(10_000);
  t.deepEqual(h.take(), ['D 2/0 b', 'D 2/0 b', 'D 2/0 b'], '4 s, 8 s, then capped at 10 s');
  h.feed(ctl(Ctl.RR, 2));
  t.is(h.engine.rto, 10_000, 'an ack of a resent packet is no sample (Karn): still backed off');
  h.engine.sendData(text('c'), 'command');
  h.clock.advance(3000);
  h.feed(ctl(Ctl.RR, 3));
  t.true(h.engine.rto > 1000 && h.engine.rto < 10_000, `a slow ack raises it (${h.engine.rto})`);
  // Idle (nothing outstanding): the receive timeout stays 10 s.
  h.take();
  h.clock.advance(9_999);
  t.deepEqual(h.take(), []);
  h.clock.advance(1);
  t.deepEqual(h.take(), ['RJ 0']);
});

test('RTO: a packet larger than any sampled waits longer by the size ratio (a slow line sends it for longer)', (t) => {
  const h = new Harness({ adaptiveSize: false }).startAsSlave(3, 1024);
  h.engine.sendData(text('SY'), 'file');
  h.clock.advance(100);
  h.feed(ctl(Ctl.RR, 1));
  t.is(h.engine.rto, 1000, 'learnt on a short packet');
  h.engine.sendData(new Uint8Array(1024), 'file');
  t.is(h.engine.rto, 10_000, 'a 1 KiB packet after it: 1 s × 1030/38, capped');
  h.take();
  h.clock.advance(1500);
  h.feed(ctl(Ctl.RR, 2));
  h.engine.sendData(new Uint8Array(1024), 'file');
  t.true(h.engine.rto < 10_000, `sampled at 1 KiB: back to the round trip (${h.engine.rto})`);
});

test('RTO off: the fixed 10 s timeout (Taylor)', (t) => {
  const h = new Harness({ adaptiveTimeout: false }).startAsSlave();
  h.engine.sendData(text('a'), 'command');
  h.clock.advance(200);
  h.feed(ctl(Ctl.RR, 1));
  t.is(h.engine.rto, 10_000);
});

/** Two engines back to back, 20 ms each way, with a filter on what the link carries. */
function lossyPair(drop: (from: 0 | 1, d: Decoded) => boolean, options: GEngineOptions = {}) {
  const clock = new ManualClock();
  const events: [GEvent[], GEvent[]] = [[], []];
  const engines: GEngine[] = [];
  const link = (from: 0 | 1) => (bytes: Uint8Array) => {
    const d = new PacketDecoder();
    d.push(bytes);
    if (drop(from, d.next()!)) return;
    const copy = bytes.slice();
    clock.setTimer(20, () => engines[1 - from]!.receive(copy));
  };
  engines.push(new GEngine({ write: link(0), event: (e) => events[0].push(e) }, clock, options));
  engines.push(new GEngine({ write: link(1), event: (e) => events[1].push(e) }, clock, options));
  engines[1]!.start('slave');
  engines[0]!.start('master');
  clock.advance(500);
  return { clock, events, a: engines[0]!, b: engines[1]! };
}

test('a lost RR costs about one RTO (not 10 s): the resend draws RJ(last good), which acknowledges it', (t) => {
  let dropRR = false;
  const p = lossyPair((from, d) => {
    if (from === 1 && d.kind === 'control' && d.type === Ctl.RR && dropRR) {
      dropRR = false;
      return true;
    }
    return false;
  });
  // A first exchange gives a round-trip sample (40 ms): RTO = 1 s floor.
  p.a.sendData(text('S x'), 'command');
  p.clock.advance(100);
  t.is(p.a.rto, 1000);
  // The RR for the next packet is lost.
  dropRR = true;
  const t0 = p.clock.now();
  p.a.sendData(text('S y'), 'command');
  const ackEvents = () => p.events[0].filter((e) => e.type === 'acked').length;
  const before = ackEvents();
  let acked = 0;
  while (p.clock.now() - t0 < 30_000 && acked === 0) {
    p.clock.advance(10);
    if (ackEvents() > before) acked = p.clock.now() - t0;
  }
  t.true(acked > 0);
  t.true(acked < 1200, `acknowledged after ${acked} ms`);
  t.is(p.a.stats.resent, 1);
  t.is(p.b.stats.rejectsSent, 1);
  t.is(p.b.stats.errors, 0, 'the duplicate is not an error');
  t.false(p.events.some((e) => e.some((x) => x.type === 'failed')));
  // With Taylor's fixed timeout the same loss costs 10 s at the sender,
  // and (Taylor drops the duplicate silently) another 10 s at the receiver.
  let again = true;
  const q = lossyPair((from, d) => from === 1 && d.kind === 'control' && d.type === Ctl.RR && again && !(again = false), { adaptiveTimeout: false });
  q.a.sendData(text('S y'), 'command');
  q.clock.advance(9_000);
  t.is(q.a.stats.resent, 0, 'fixed: nothing before 10 s');
});

test('a lost RJ or data packet is also recovered within about one RTO', (t) => {
  let n = 0;
  // Drop A's 3rd data packet once: B sees a gap and asks at once.
  const p = lossyPair((from, d) => from === 0 && d.kind === 'data' && ++n === 3);
  p.a.sendData(text('warm'), 'command');
  p.clock.advance(100);
  for (let i = 0; i < 4; i++) p.a.sendData(text(`m${i}`), 'command');
  p.clock.advance(200);
  t.is(p.b.stats.rejectsSent, 1);
  const got = p.events[1].filter((e) => e.type === 'data').length;
  t.is(got, 5, 'all five arrived within 200 ms');
  t.is(p.a.stats.timeouts, 0);
});

test('a resend after an RJ lost as well: the packets behind it draw the next RJ at once, not after an RTO', (t) => {
  const h = new Harness().startAsSlave();
  // 2 is lost whole; the rest of the window (3..7, 0) draws one RJ and is its fallout.
  h.feed(peerData(1, 0, 'a'), ...[3, 4, 5, 6, 7, 0].map((s) => peerData(s, 0, `o${s}`)));
  t.deepEqual(h.take(), ['RR 1', 'RJ 1']);
  // The go-back resend of 2 is lost too: 3 behind it is no packet we have taken.
  h.feed(peerData(3, 0, 'o3'));
  t.deepEqual(h.take(), ['RJ 1']);
  // The rest of that resend is the new RJ's fallout; the next resend comes through.
  h.feed(...[4, 5, 6, 7, 0].map((s) => peerData(s, 0, `o${s}`)));
  t.deepEqual(h.take(), []);
  h.engine.receive(Buffer.concat([peerData(2, 0, 'b'), peerData(3, 0, 'o3')]));
  t.deepEqual(h.take(), ['RR 3']);
  t.is(h.engine.stats.errors, 0, 'a packet lost whole and its fallout are no damage we saw');

  // Between two engines: A's fourth packet is dropped, and so is its first resend.
  let copies = 0;
  const p = lossyPair((from, d) => from === 0 && d.kind === 'data' && d.payload[1] === 0x33 && ++copies <= 2);
  p.a.sendData(text('warm'), 'command');
  p.clock.advance(100);
  for (let i = 0; i < 6; i++) p.a.sendData(text(`m${i}`), 'command');
  p.clock.advance(300);
  t.is(p.events[1].filter((e) => e.type === 'data').length, 7, 'all delivered within 300 ms');
  t.is(p.b.stats.rejectsSent, 2);
  t.is(p.a.stats.timeouts, 0, 'no RTO waited out');
});

test('repeats of packets already taken (a go-back resend) draw no RJ and are no errors, unless the line went quiet', (t) => {
  const h = new Harness().startAsSlave();
  h.engine.receive(Buffer.concat([1, 2, 3, 4].map((s) => peerData(s, 0, `p${s}`))));
  t.deepEqual(h.take(), ['RR 4']);
  // Mod 8, 2 and 3 could be 10 and 11 past a gap; their data says they are repeats.
  h.feed(peerData(2, 0, 'p2'), peerData(3, 0, 'p3'));
  t.deepEqual(h.take(), []);
  t.is(h.engine.stats.errors, 0);
  // A go-back resend of repeats, one every 300 ms, is no silence however long it lasts.
  for (const seq of [2, 3, 4]) {
    h.clock.advance(300);
    h.feed(peerData(seq, 0, `p${seq}`));
  }
  t.deepEqual(h.take(), []);
  // No packet for a while: the sender timed out (our RR was lost). Every repeat is answered.
  h.clock.advance(600);
  h.feed(peerData(4, 0, 'p4'));
  t.deepEqual(h.take(), ['RJ 4']);
  h.clock.advance(1000);
  h.feed(peerData(4, 0, 'p4'));
  t.deepEqual(h.take(), ['RJ 4'], 'our answer may have been lost too');
  // The same number with other data is a packet past a gap (5..1 lost).
  h.feed(peerData(2, 0, 'new'));
  t.deepEqual(h.take(), ['RJ 4']);
});

test('noise after our RJ (false headers) is no error and does not make the window\'s rest look like a lost resend', (t) => {
  const h = new Harness().startAsSlave();
  h.feed(peerData(1, 0, 'a'), peerData(3, 0, 'c'));
  t.deepEqual(h.take(), ['RR 1', 'RJ 1']);
  // Noise with false headers in it (DLE, then bytes failing the header check), then the window's rest.
  h.feed(Uint8Array.from([0x10, 1, 2, 3, 4, 5, 0x10, 9, 9, 9, 9, 9]));
  h.feed(...[4, 5, 6, 7, 0].map((s) => peerData(s, 0, `o${s}`)));
  t.deepEqual(h.take(), [], 'no second RJ: first sightings are the first one\'s fallout');
  t.is(h.engine.stats.errors, 0);
});

test('selective repeat (a uugate peer): packets past a gap are kept, each missing one asked for once with SRJ', (t) => {
  const h = new Harness({ selectiveRepeat: true }).startAsSlave();
  h.feed(peerData(1, 0, 'a'), peerData(3, 0, 'c'), peerData(4, 0, 'd'));
  t.deepEqual(h.take(), ['RR 1', 'SRJ 2']);
  h.feed(peerData(2, 0, 'b'));
  t.deepEqual(h.take(), ['RR 4'], 'the gap filled, the kept packets follow it');
  const data = () => h.events.filter((e) => e.type === 'data').map((e) => Buffer.from((e as { payload: Uint8Array }).payload).toString().replace(/\0+$/, ''));
  t.deepEqual(data(), ['a', 'b', 'c', 'd']);
  // A damaged packet is asked for by its number, whichever it is.
  const bad = peerData(6, 0, 'f');
  bad[20]! ^= 0x40;
  h.feed(peerData(5, 0, 'e'), bad, peerData(7, 0, 'g'));
  t.deepEqual(h.take(), ['RR 5', 'SRJ 6']);
  // Two lost: the resend of the later one arriving first means the earlier one's was lost too.
  h.feed(peerData(6, 0, 'f'), peerData(7, 0, 'g'));
  h.take();
  h.feed(peerData(2, 0, 'j'));
  t.deepEqual(h.take(), ['SRJ 0', 'SRJ 1']);
  h.feed(peerData(1, 0, 'i'));
  t.deepEqual(h.take(), ['SRJ 0']);
  t.false(h.take().some((x) => x.startsWith('RJ')));
  h.feed(peerData(0, 0, 'h'));
  t.deepEqual(h.take(), ['RR 0', 'RR 2'], 'errors being paid back: its own RR, then one for those it released');
  t.deepEqual(data().slice(4), ['e', 'f', 'g', 'h', 'i', 'j']);
});

test('selective repeat: the resend of a packet asked for by SRJ, arriving just when the next packet of its number is due, is not taken for it', (t) => {
  const h = new Harness({ selectiveRepeat: true }).startAsSlave();
  const data = () => h.events.filter((e) => e.type === 'data').map((e) => Buffer.from((e as { payload: Uint8Array }).payload).toString().replace(/\0+$/, ''));
  // 2 only late (the link swapped it with 3): asked for, then taken as it comes.
  h.feed(peerData(1, 0, 'a'), peerData(3, 0, 'c'));
  t.deepEqual(h.take(), ['RR 1', 'SRJ 2']);
  h.feed(peerData(2, 0, 'b'));
  h.feed(...['d', 'e', 'f', 'g', 'h'].map((s, i) => peerData(4 + i, 0, s)));
  // The SRJ's resend of the old 2 swapped with the new 1: it comes when the new 2 is due.
  h.feed(peerData(1, 0, 'i'), peerData(2, 0, 'b'), peerData(2, 0, 'j'));
  t.deepEqual(data(), ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']);
  // Once past, the watch is over: identical data under that number later is taken.
  h.feed(...['k', 'l', 'm', 'n', 'o', 'p', 'q'].map((s, i) => peerData((3 + i) & 7, 0, s)), peerData(2, 0, 'j'));
  t.deepEqual(data().slice(10), ['k', 'l', 'm', 'n', 'o', 'p', 'q', 'j']);
});

test('selective repeat: a stall with packets kept asks again for the missing ones, not for the window', (t) => {
  const h = new Harness({ selectiveRepeat: true });
  h.startAsSlave(7, 32);
  h.engine.sendData(text('SY'), 'command');
  h.clock.advance(50);
  h.feed(ctl(Ctl.RR, 1));
  h.take();
  const full = (seq: number) => encodeData(dataArea(new Uint8Array(32).fill(seq), 32), seq, 1);
  h.feed(full(1), full(3));
  t.deepEqual(h.take(), ['RR 1', 'SRJ 2']);
  h.clock.advance(1100);
  t.deepEqual(h.take(), ['SRJ 2']);
});

test('selective repeat between two engines: a lost packet is resent alone, without an RTO', (t) => {
  let n = 0;
  const p = lossyPair((from, d) => from === 0 && d.kind === 'data' && ++n === 4, { selectiveRepeat: true });
  p.a.sendData(text('warm'), 'command');
  p.clock.advance(100);
  for (let i = 0; i < 6; i++) p.a.sendData(text(`m${i}`), 'command');
  p.clock.advance(200);
  t.is(p.events[1].filter((e) => e.type === 'data').length, 7);
  t.is(p.a.stats.resent, 1);
  t.is(p.a.stats.timeouts, 0);
});

test('a false header on the ack path (damage claiming 4096 bytes of data) is given up after one RTO, not the session', (t) => {
  const p = lossyPair(() => false);
  p.a.sendData(text('warm'), 'command');
  p.clock.advance(100);
  // DLE, K=8, a header that checks: it would swallow every RR to come.
  p.a.receive(Uint8Array.from([0x10, 8, 0, 0, 0x80, 0x88]));
  for (let i = 0; i < 7; i++) p.a.sendData(text(`m${i}`), 'command');
  const acked = () => p.events[0].filter((e) => e.type === 'acked').length;
  p.clock.advance(900);
  t.is(acked(), 1, 'the RRs wait behind the false header');
  p.clock.advance(1_500);
  t.is(acked(), 8, 'skipping its DLE lets the RRs through');
  t.is(p.a.stats.timeouts, 0, 'not counted as a timeout');
  t.false(p.events.some((e) => e.some((x) => x.type === 'failed')));
});

test('answers destroyed by a burst (garbage arriving) neither back the RTO off nor use up the retries', (t) => {
  const h = new Harness();
  h.startAsSlave();
  h.engine.sendData(text('x'), 'command');
  // Without an RTT sample the RTO is the fixed 10 s; garbage comes in before each timeout.
  for (let i = 0; i < 10; i++) {
    h.clock.advance(9_000);
    h.feed(Uint8Array.from([1, 2, 3, 4, 5, 6]));
    h.clock.advance(1_000);
  }
  t.is(h.engine.stats.timeouts, 10);
  t.false(h.events.some((e) => e.type === 'failed'), 'ten timeouts, each after garbage: the peer is there');
  h.clock.advance(70_000);
  t.true(h.events.some((e) => e.type === 'failed'), 'silence fails it after its retries');
});

test('full packets then silence (the end of the peer window lost): one RJ after an RTO, not after a 10 s timeout', (t) => {
  const h = new Harness();
  h.startAsSlave();
  // Our reply, acknowledged after 50 ms: an RTT sample, RTO 1 s.
  h.engine.sendData(text('SY'), 'command');
  h.clock.advance(50);
  h.feed(ctl(Ctl.RR, 1));
  h.take();
  h.feed(peerData(1, 1, 'a'), peerData(2, 1, 'b'));
  t.deepEqual(h.take(), ['RR 1', 'RR 2']);
  h.clock.advance(900);
  t.deepEqual(h.take(), []);
  h.clock.advance(200);
  t.deepEqual(h.take(), ['RJ 2'], 'the peer resends what it has outstanding at once');
  t.is(h.engine.stats.timeouts, 0, 'not a timeout');
  h.clock.advance(5_000);
  t.deepEqual(h.take(), [], 'once per stall');
});

test('RRs: one for all the packets of one receive(); with ackDelayMs a lone packet waits for a second (window 6–7 only)', (t) => {
  const h = new Harness().startAsSlave();
  h.engine.receive(Buffer.concat([peerData(1, 0, 'a'), peerData(2, 0, 'b'), peerData(3, 0, 'c')]));
  t.deepEqual(h.take(), ['RR 3'], 'RR is cumulative: one for the batch');

  const d = new Harness({ ackDelayMs: 1 }).startAsSlave();
  d.feed(peerData(1, 0, 'a'));
  t.deepEqual(d.take(), [], 'a lone packet waits');
  d.clock.advance(0.5);
  d.feed(peerData(2, 0, 'b'));
  t.deepEqual(d.take(), ['RR 2'], 'the second shares the RR at once');
  d.feed(peerData(3, 0, 'c'));
  d.clock.advance(1);
  t.deepEqual(d.take(), ['RR 3'], 'or the delay runs out');
  d.feed(peerData(4, 0, 'd'), peerData(4, 0, 'd'), peerData(6, 0, 'f'));
  t.deepEqual(d.take(), ['RJ 4'], 'an RJ acknowledges too: no RR after it');
  d.clock.advance(1);
  t.deepEqual(d.take(), []);

  const w3 = new Harness({ ackDelayMs: 1, window: 3 }).startAsSlave(3);
  w3.feed(peerData(1, 0, 'a'));
  t.deepEqual(w3.take(), ['RR 1'], 'a window of 3 leaves no room to wait');
});

test('RRs: a lone packet waiting for its RR, our answer carrying its ack, then the peer\'s whole next window in one read: RR for all eight', (t) => {
  const h = new Harness({ ackDelayMs: 1 }).startAsSlave();
  h.feed(peerData(1, 0, 'S D.1 ~/x'));
  t.deepEqual(h.take(), [], 'the lone command waits for a second packet');
  h.engine.sendData(text('SY'), 'command');
  t.deepEqual(h.take(), ['D 1/1 SY'], 'our answer acks it piggy-backed: the peer may send 7 more');
  // Eight packets unacked by an RR: mod 8 that looked like none, and the peer waited for its RTO.
  h.engine.receive(Buffer.concat([2, 3, 4, 5, 6, 7, 0].map((seq) => peerData(seq, 1, `p${seq}`))));
  t.deepEqual(h.take(), ['RR 0']);
});

test('RRs: while errors are being paid back, every in-order packet gets its own RR again', (t) => {
  const h = new Harness({ ackDelayMs: 1 }).startAsSlave();
  const bad = Buffer.from(peerData(1, 0, 'x'));
  bad[10] ^= 0xff;
  h.feed(bad);
  t.deepEqual(h.take(), ['RJ 0']);
  h.engine.receive(Buffer.concat([peerData(1, 0, 'a'), peerData(2, 0, 'b')]));
  t.deepEqual(h.take(), ['RR 1', 'RR 2']);
});

test('damaged data packets are counted once each: rescan hits no, those after our RJ and under a bad header\'s reach yes', (t) => {
  const h = new Harness({ packetSize: 1024 }).startAsSlave(7, 64);
  // A 1024-byte area full of DLEs: rescanning it finds hundreds of false headers.
  const dles = encodeData(dataArea(Buffer.alloc(1000, 0x10), 1024), 1, 0);
  dles[500]! ^= 0x01;
  h.feed(dles);
  t.is(h.engine.stats.damagedData, 1);
  // The rest of the window after our RJ: no error against the budget, but damage all the same.
  const late = peerData(2, 0, 'late');
  late[30]! ^= 0x04;
  h.feed(late);
  t.is(h.engine.errors, 1);
  t.is(h.engine.stats.damagedData, 2);
  // A damaged header reaches over 1030 bytes (our size); the 64-byte packets there still count.
  h.feed(resync());
  const head = peerData(1, 0, 'a');
  head[4]! ^= 0x08;
  const next = peerData(2, 0, 'b');
  next[40]! ^= 0x20;
  h.feed(head, next);
  t.is(h.engine.stats.damagedData, 3);
  // Damaged control packets carry no data.
  const rr = ctl(Ctl.RR, 0);
  rr[2]! ^= 0x01;
  h.feed(rr);
  t.is(h.engine.stats.damagedData, 3);
});

test('g\'s checksum misses about 1 % of one-bit errors in a 64-byte area, not 2^-16: one damaged packet makes a missed one too likely', (t) => {
  const rnd = seededRandom(7);
  let missed = 0;
  let flips = 0;
  for (let n = 0; n < 200; n++) {
    const area = Uint8Array.from({ length: 64 }, () => Math.floor(rnd() * 256));
    const sum = checksum(area);
    for (let bit = 0; bit < 512; bit++, flips++) {
      area[bit >> 3]! ^= 1 << (bit & 7);
      if (checksum(area) === sum) missed++;
      area[bit >> 3]! ^= 1 << (bit & 7);
    }
  }
  const rate = missed / flips;
  t.log(`missed ${missed} of ${flips} one-bit errors (${(rate * 100).toFixed(2)} %)`);
  t.true(rate > 100 / 65536 && rate <= CHECKSUM_MISS_RATE);
  t.is(undetectedRisk(0), 0);
  t.true(undetectedRisk(1) > MAX_UNDETECTED_RISK);
  t.true(undetectedRisk(100) > 0.9 && undetectedRisk(100) < 1);
});
