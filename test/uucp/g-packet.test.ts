import test from 'ava';
import fc from 'fast-check';
import {
  Ctl,
  PacketDecoder,
  chooseSize,
  checksum,
  commandArea,
  dataArea,
  encodeControl,
  encodeData,
  type Decoded,
} from '../../src/uucp/g/packet.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase().replace(/(..)(?!$)/g, '$1 ');
const bytes = (s: string): Uint8Array => Buffer.from(s.replace(/ /g, ''), 'hex');
const zeros = (n: number): Uint8Array => new Uint8Array(n);
const withPrefix = (prefix: Uint8Array, size: number): Uint8Array => {
  const out = new Uint8Array(size);
  out.set(prefix);
  return out;
};

function decodeAll(input: Uint8Array): Decoded[] {
  const d = new PacketDecoder();
  d.push(input);
  const out: Decoded[] = [];
  for (let ev = d.next(); ev; ev = d.next()) out.push(ev);
  return out;
}

test('checksum f matches the protocol-facts vectors', (t) => {
  const seq = Uint8Array.from({ length: 64 }, (_, i) => i);
  t.is(checksum(zeros(32)), 0x7015);
  t.is(checksum(zeros(64)), 0x34a4);
  t.is(checksum(withPrefix(Buffer.from('H'), 32)), 0x67a0);
  t.is(checksum(withPrefix(Uint8Array.of(0x20), 32)), 0x9cc1);
  t.is(checksum(withPrefix(Buffer.from('SY'), 64)), 0x89a7);
  t.is(checksum(seq), 0x7d4a);
});

test('control packets encode to the captured headers', (t) => {
  const captured: [keyof typeof Ctl, number, string][] = [
    ['INITA', 7, '10 09 6B AA 3F F7'],
    ['INITA', 3, '10 09 6F AA 3B F7'],
    ['INITB', 1, '10 09 79 AA 31 EB'],
    ['INITB', 2, '10 09 78 AA 32 E9'],
    ['INITB', 4, '10 09 76 AA 34 E1'],
    ['INITC', 7, '10 09 7B AA 2F F7'],
    ['RR', 1, '10 09 89 AA 21 0B'],
    ['RR', 0, '10 09 8A AA 20 09'],
    ['CLOSE', 0, '10 09 A2 AA 08 09'],
  ];
  for (const [name, value, wire] of captured) {
    t.is(hex(encodeControl(Ctl[name], value)), wire, `${name} ${value}`);
    t.deepEqual(decodeAll(bytes(wire)), [{ kind: 'control', type: Ctl[name], value }], `decode ${name} ${value}`);
  }
});

test('every control type round-trips through the decoder', (t) => {
  for (const type of Object.values(Ctl)) {
    for (let value = 0; value < 8; value++) {
      t.deepEqual(decodeAll(encodeControl(type, value)), [{ kind: 'control', type, value }]);
    }
  }
});

test('command packets reproduce the captured data headers', (t) => {
  // "H" as seq 4 / ack 2 in a 32-byte packet.
  const h = encodeData(commandArea(Buffer.from('H'), 32), 4, 2);
  t.is(hex(h.subarray(0, 6)), '10 01 A8 43 A2 48');
  // The captured E command, seq 1 / ack 0, to a peer that asked for 128.
  const e = Buffer.from('E D.0001 D.gatewayN0001 root -CZ D.0001 0666 "" 0x1b rmail bob@x.org');
  t.is(chooseSize(e.length, 128, true, true), 128);
  t.is(hex(encodeData(commandArea(e, 128), 1, 0).subarray(0, 6)), '10 03 08 DF 88 5C');
  // "EY", seq 1 / ack 1, to a peer that asked for 64.
  t.is(chooseSize(2, 64, true, true), 64);
  t.is(hex(encodeData(commandArea(Buffer.from('EY'), 64), 1, 1).subarray(0, 6)), '10 02 B8 E0 89 D3');
});

test('short packets: 27 bytes in 32, 300 in 512, and end of file', (t) => {
  const a = dataArea(new Uint8Array(27).fill(0x41), 32);
  t.is(a.tt, 3);
  t.is(a.area[0], 0x05);
  const b = dataArea(new Uint8Array(300).fill(0x42), 512);
  t.deepEqual([...b.area.subarray(0, 2)], [0xd4, 0x01]);
  t.is(b.area[2], 0x42);
  const eof = dataArea(new Uint8Array(0), 32);
  t.deepEqual(eof.area, withPrefix(Uint8Array.of(0x20), 32));
  t.is(dataArea(new Uint8Array(32), 32).tt, 2, 'a full payload is a plain data packet');
  for (const f of [a, b, eof]) {
    const [ev] = decodeAll(encodeData(f, 3, 5));
    t.like(ev, { kind: 'data', seq: 3, ack: 5, short: true });
    t.is((ev as { payload: Uint8Array }).payload.length, f.length);
  }
});

test('size choice follows Taylor', (t) => {
  // Peers that asked for ≤ 64 always get their size.
  t.is(chooseSize(3, 64, true, false), 64);
  t.is(chooseSize(0, 32, true, false), 32);
  // Larger peers: smallest power of two ≥ n for data, > n for commands.
  t.is(chooseSize(86, 512, true, false), 128);
  t.is(chooseSize(0, 512, true, false), 32);
  t.is(chooseSize(64, 512, true, false), 64);
  t.is(chooseSize(64, 512, true, true), 128);
  t.is(chooseSize(31, 512, true, true), 32);
  // 'G': exact size always.
  t.is(chooseSize(86, 512, false, false), 512);
});

test('a resend with a new ack changes checksum and xor consistently', (t) => {
  const f = dataArea(Buffer.from('hello'), 64);
  const first = encodeData(f, 2, 0);
  const again = encodeData(f, 2, 6);
  t.notDeepEqual(first.subarray(2, 6), again.subarray(2, 6));
  t.like(decodeAll(again)[0], { kind: 'data', seq: 2, ack: 6 });
});

test('decoder resynchronises one byte after a bad header or checksum', (t) => {
  const good = encodeData(dataArea(Buffer.from('payload'), 32), 1, 0);
  const damaged = good.slice();
  damaged[10] ^= 0x01; // data byte: checksum must fail
  // The damaged packet claims 32 data bytes; the real packet that follows
  // starts inside that span and must still be found.
  const lost = good.subarray(0, 20); // a packet cut short by lost bytes
  const input = Buffer.concat([Buffer.from('xx'), lost, Uint8Array.of(0x10, 1, 2, 3, 4, 5), damaged, good]);
  const kinds = decodeAll(input).map((d) => d.kind);
  t.true(kinds.includes('bad-header'));
  t.true(kinds.includes('bad-checksum'));
  t.is(kinds.filter((k) => k === 'data').length, 1);
  t.is(kinds.at(-1), 'data');
});

test('decoder rejects alternate-channel, control-with-data and data-as-control headers', (t) => {
  const header = (k: number, c: number, lo = 0, hi = 0) => Uint8Array.of(0x10, k, lo, hi, c, k ^ lo ^ hi ^ c);
  t.deepEqual(decodeAll(header(9, 0x40)).map((d) => d.kind)[0], 'bad-header'); // K=9 but tt=1
  t.deepEqual(decodeAll(header(9, 0x80)).map((d) => d.kind)[0], 'bad-header'); // K=9 but tt=2
  t.deepEqual(decodeAll(Buffer.concat([header(1, 0x08), zeros(32)])).map((d) => d.kind)[0], 'bad-header'); // data K, tt=0
  t.deepEqual(decodeAll(header(10, 0x08)).map((d) => d.kind)[0], 'bad-header');
});

// Chunks are views of one buffer (adjacent: the decoder joins them without
// copying, as it does for the pty reader's slabs) or copies (joined by copying).
test('property: any split of a valid stream decodes to the same packets', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 10 }),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }),
      (payloads, cuts, copies) => {
        const wire = Buffer.concat(payloads.map((p, i) => encodeData(dataArea(p, 512), i & 7, 0)));
        const d = new PacketDecoder();
        const got: Uint8Array[] = [];
        for (let at = 0, i = 0; at < wire.length; i++) {
          const step = cuts[i % cuts.length]!;
          const view = wire.subarray(at, at + step);
          d.push(copies[i % copies.length] ? Uint8Array.from(view) : view);
          at += step;
          for (let ev = d.next(); ev; ev = d.next()) if (ev.kind === 'data') got.push(ev.payload);
        }
        t.deepEqual(got.map((p) => Buffer.from(p)), payloads.map((p) => Buffer.from(p)));
      },
    ),
  );
});
