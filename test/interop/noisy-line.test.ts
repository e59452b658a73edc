// The noisy line emulator itself (test/helpers/noisy-line.ts): damage repeats
// for a seed however the bytes are chunked, rates come out as asked, bursts,
// drops and the carrier cut do what they say, the packet watch counts resends.
import test from 'ava';
import net from 'node:net';
import { once } from 'node:events';
import { seededRandom } from '../../src/util/seeded-random.js';
import { startNoisyRelay, startNoisyProxy, type NoisyLine, type NoisyLineOptions } from '../helpers/noisy-line.js';

function bytes(seed: number, n: number): Buffer {
  const r = seededRandom(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

/** Sends `data` from end 0 to end 1 in chunks of `chunk` bytes; resolves with what arrived once the sender is done and the line idle. */
async function through(o: NoisyLineOptions, data: Buffer, chunk: number): Promise<{ out: Buffer; line: NoisyLine; ms: number }> {
  const t0 = performance.now();
  const relay = await startNoisyRelay(o);
  const a = net.connect(relay.ports[0], '127.0.0.1');
  const b = net.connect(relay.ports[1], '127.0.0.1');
  const line = await relay.connected;
  const parts: Buffer[] = [];
  b.on('data', (d: Buffer) => parts.push(d));
  for (let i = 0; i < data.length; i += chunk) {
    a.write(data.subarray(i, i + chunk));
    if (i % (chunk * 16) === 0) await new Promise((r) => setImmediate(r));
  }
  // Wait until the line carried everything the sender wrote.
  for (let i = 0; i < 400 && line.counters().up.bytesIn < data.length; i++) await new Promise((r) => setTimeout(r, 10));
  // Then until it delivered everything (drops, inserts and delay aside) and went quiet.
  const end = Date.now() + 10_000;
  while (Date.now() < end && line.counters().up.bytesOut < data.length * 0.99) await new Promise((r) => setTimeout(r, 10));
  const ms = performance.now() - t0;
  let n = -1;
  while (n !== parts.length) {
    n = parts.length;
    await new Promise((r) => setTimeout(r, 100));
  }
  relay.stop();
  return { out: Buffer.concat(parts), line, ms };
}

test('bit errors, drops and bursts repeat for a seed whatever the chunking, at about the rates asked', async (t) => {
  const data = bytes(7, 200_000);
  const o: NoisyLineOptions = { seed: 5, bitErrorRate: 1e-4, dropRate: 1e-4, burst: { everyBytes: 16 * 1024, length: 64 } };
  const [x, y] = await Promise.all([through(o, data, 1000), through(o, data, 37)]);
  t.deepEqual(x.out, y.out, 'the same damage for the same seed');
  const c = x.line.counters().up;
  t.is(c.bytesIn, data.length);
  t.is(c.bytesOut, x.out.length);
  t.is(x.out.length, data.length - c.bytesDropped, 'drops shorten, overwriting bursts do not');
  t.true(c.bitsFlipped > 80 && c.bitsFlipped < 250, `${c.bitsFlipped} bits flipped of 1.6 M at 1e-4`);
  t.true(c.bytesDropped > 5 && c.bytesDropped < 40, `${c.bytesDropped} bytes dropped of 200 k at 1e-4`);
  t.is(c.bursts, Math.floor((data.length - c.bytesDropped) / (16 * 1024)));
  t.is(c.burstBytes, c.bursts * 64);
  const other = await through({ ...o, seed: 6 }, data, 1000);
  t.notDeepEqual(other.out, x.out, 'another seed, other damage');
  const clean = await through({ seed: 5 }, data, 1000);
  t.deepEqual(clean.out, data, 'no damage asked, none done');
  const spared = await through({ seed: 5, bitErrorRate: 1e-2, damageAfter: 5000 }, data, 1000);
  t.deepEqual(spared.out.subarray(0, 5000), data.subarray(0, 5000), 'damageAfter spares the start');
  t.notDeepEqual(spared.out.subarray(5000), data.subarray(5000));
});

test('inserting bursts add bytes', async (t) => {
  const data = bytes(8, 50_000);
  const { out, line } = await through({ burst: { everyBytes: 10_000, length: 64, mode: 'insert' } }, data, 999);
  t.is(line.counters().up.bursts, 5);
  t.is(out.length, data.length + 5 * 64);
  t.deepEqual(out.subarray(0, 10_000), data.subarray(0, 10_000));
  t.deepEqual(out.subarray(10_064, 20_064), data.subarray(10_000, 20_000));
});

test.serial('pacing: 20,000 bytes at 40,000 B/s take about half a second; a delay adds to it', async (t) => {
  const data = bytes(9, 20_000);
  const paced = await through({ rate: 40_000 }, data, 4096);
  t.deepEqual(paced.out, data);
  t.true(paced.ms > 450 && paced.ms < 900, `${paced.ms.toFixed(0)} ms`);
  const delayed = await through({ rate: 40_000, delayMs: 300 }, data, 4096);
  t.deepEqual(delayed.out, data);
  t.true(delayed.ms > paced.ms + 200, `${delayed.ms.toFixed(0)} ms with 300 ms delay`);
});

test('the carrier drops after N bytes; the proxy joins each connection to the target', async (t) => {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const got: Buffer[] = [];
  server.on('connection', (s) => s.on('data', (d: Buffer) => got.push(d)));
  const proxy = await startNoisyProxy({ target: { port: (server.address() as net.AddressInfo).port }, rate: 100_000, up: { cutAfter: 3000 } });
  const c = net.connect(proxy.port, '127.0.0.1');
  c.on('error', () => undefined);
  c.resume();
  const line = await proxy.nextLine();
  c.write(bytes(10, 10_000));
  await line.closed;
  const cs = line.counters();
  t.true(cs.cut);
  t.is(cs.up.bytesOut, 3000);
  await new Promise((r) => setTimeout(r, 100));
  t.is(Buffer.concat(got).length, 3000, 'exactly 3000 bytes crossed');
  if (!c.closed) await once(c, 'close');
  await proxy.stop();
  server.close();
});

/** A g data packet with a 32-byte area: DLE, K=1, checksum (not checked here), C = 10 seq ack, xor; then the area. */
function gData(seq: number): Buffer {
  const c = (2 << 6) | (seq << 3);
  return Buffer.concat([Buffer.from([0x10, 1, 0x55, 0xaa, c, 1 ^ 0x55 ^ 0xaa ^ c]), Buffer.alloc(32, 0x10)]);
}

test.serial('the packet watch counts g data packets and resends, and silences while they move', async (t) => {
  // 1..7, then 3 and 4 again (a resend), then 0, 1; a 1.5 s pause before the resend.
  const relay = await startNoisyRelay({ watch: 'g', quietMs: 1000 });
  const a = net.connect(relay.ports[0], '127.0.0.1');
  const b = net.connect(relay.ports[1], '127.0.0.1');
  b.resume();
  const line = await relay.connected;
  for (const s of [1, 2, 3, 4, 5, 6, 7]) a.write(gData(s));
  a.write(Buffer.from('\x10garbage'));
  await new Promise((r) => setTimeout(r, 1500));
  for (const s of [3, 4, 0, 1]) a.write(gData(s));
  for (let i = 0; i < 100 && line.counters().up.dataPackets < 11; i++) await new Promise((r) => setTimeout(r, 10));
  const c = line.counters();
  t.is(c.up.dataPackets, 11);
  t.is(c.up.resent, 2);
  t.is(c.silences.length, 1);
  t.true(c.silentMs >= 1300 && c.silentMs < 2000, `${c.silentMs} ms`);
  relay.stop();
});
