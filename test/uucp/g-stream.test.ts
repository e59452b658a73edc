import test, { type ExecutionContext } from 'ava';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { once } from 'node:events';
import { Duplex } from 'node:stream';
import { ManualClock } from '../../src/uucp/protocol/clock.js';
import { Ctl, PacketDecoder, encodeControl } from '../../src/uucp/g/packet.js';
import { runGOverStream } from '../../src/uucp/g/stream-adapter.js';
import { openDirectPort } from '../../src/uucp/port/direct.js';
import type { Tappable } from '../../src/uucp/port/port.js';
import { ptyPair, tempRoot } from '../helpers/taylor.js';

async function socketPair(): Promise<[net.Socket, net.Socket, () => void]> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect(port, '127.0.0.1');
  const [[serverSide]] = (await Promise.all([once(server, 'connection'), once(client, 'connect')])) as [[net.Socket], unknown];
  return [client, serverSide, () => server.close()];
}

/** 1 MiB each way through g over the two ends of a line, then the line handed back to the session layer. */
async function transferAndHandBack(t: ExecutionContext, a: Duplex, b: Duplex, packetSize: number, window: number): Promise<void> {
  const file = randomBytes(1 << 20);
  const master = runGOverStream(a, { packetSize, window });
  const slave = runGOverStream(b, { packetSize, window });
  const [info] = await Promise.all([master.start('master'), slave.start('slave')]);
  t.deepEqual(info.send, { window, packetSize });

  const chunks = function* () {
    for (let at = 0; at < file.length; at += 10_000) yield file.subarray(at, at + 10_000);
  };
  await master.sendCommand('S D.x D.y user -C D.0 0666 "" 0x100000');
  t.is(await slave.readCommand(), 'S D.x D.y user -C D.0 0666 "" 0x100000');
  for (const [from, to] of [
    [master, slave],
    [slave, master],
  ] as const) {
    const received: Buffer[] = [];
    const [sent, got] = await Promise.all([from.sendFile(chunks()), to.receiveFile((c) => void received.push(Buffer.from(c)))]);
    t.is(sent, file.length);
    t.is(got, file.length);
    t.true(Buffer.concat(received).equals(file));
  }
  await slave.sendCommand('CY');
  t.is(await master.readCommand(), 'CY');

  await Promise.all([master.shutdown(), slave.shutdown()]);
  t.like(await master.closed, { how: 'local' });
  // After g the line belongs to the session layer again.
  // The adapter paused the stream when it let go; the session resumes it.
  const seen: Buffer[] = [Buffer.from(slave.leftover())];
  const arrived = new Promise<void>((resolve) =>
    b.on('data', (chunk: Buffer) => {
      seen.push(chunk);
      if (Buffer.concat(seen).includes('\x10OOOOOO\0')) resolve();
    }),
  );
  b.resume();
  a.write('\x10OOOOOO\0');
  await arrived;
  // Any late CLOSE from the peer comes first (in g's leftover or on the
  // line); the session's DLE scan skips it.
  let rest = Buffer.concat(seen);
  const closePacket = encodeControl(Ctl.CLOSE, 0);
  while (rest.subarray(0, closePacket.length).equals(closePacket)) rest = rest.subarray(closePacket.length);
  t.is(rest.toString('latin1'), '\x10OOOOOO\0');
}

for (const [packetSize, window] of [
  [64, 7],
  [1024, 7],
  [4096, 7], // our receiver has no 16 KiB ring limit
] as const) {
  test(`1 MiB each way over a loopback socket pair with g ${packetSize}/${window}, byte-compared`, async (t) => {
    const [a, b, close] = await socketPair();
    t.teardown(() => {
      a.destroy();
      b.destroy();
      close();
    });
    await transferAndHandBack(t, a, b, packetSize, window);
  });
}

/** Both ends of a socat pty pair, each opened as a direct port (closed after the test). */
async function directPortPair(t: ExecutionContext): Promise<[Duplex, Duplex]> {
  const root = await tempRoot('g-pty-');
  const pty = await ptyPair(root);
  const a = await openDirectPort(pty.a, { lockDir: path.join(root, 'lock'), speed: 115200 });
  const b = await openDirectPort(pty.b, { lockDir: path.join(root, 'lock'), speed: 115200 });
  t.teardown(async () => {
    await Promise.all([a.close(), b.close()]);
    await pty.stop();
    await rm(root, { recursive: true, force: true });
  });
  return [a.stream, b.stream];
}

// The direct port on a pty reads into slabs, joins adjacent reads, and lets
// g bypass the stream layers (direct.ts): the same transfer over socat's ptys.
for (const [packetSize, window] of [
  [64, 7],
  [4096, 7],
] as const) {
  test(`1 MiB each way over a socat pty pair through direct ports with g ${packetSize}/${window}, byte-compared`, async (t) => {
    const [a, b] = await directPortPair(t);
    await transferAndHandBack(t, a, b, packetSize, window);
  });
}

test('the line dropping mid-transfer fails the protocol cleanly', async (t) => {
  const [a, b, close] = await socketPair();
  const master = runGOverStream(a);
  const slave = runGOverStream(b);
  await Promise.all([master.start('master'), slave.start('slave')]);
  const sending = master.sendFile((function* () {
    for (;;) yield new Uint8Array(4096);
  })());
  setTimeout(() => b.destroy(), 50);
  await t.throwsAsync(sending, { message: /line|closed by the peer/ });
  t.not((await master.closed).how, 'local');
  a.destroy();
  close();
});

test('initialBytes given to the adapter before start() reach the engine (no 10 s INIT timeout)', async (t) => {
  const written: Buffer[] = [];
  const line = new Duplex({
    read() {},
    write(chunk: Buffer, _e, cb) {
      written.push(chunk);
      cb();
    },
  });
  // A manual clock never fires: startup can only finish from the bytes given.
  const g = runGOverStream(line, { clock: new ManualClock(), initialBytes: encodeControl(Ctl.INITA, 7) });
  const starting = g.start('slave');
  line.push(Buffer.concat([encodeControl(Ctl.INITB, 1), encodeControl(Ctl.INITC, 7)]));
  const info = await starting;
  t.deepEqual(info.send, { window: 7, packetSize: 64 });
  await new Promise((r) => setImmediate(r));
  const d = new PacketDecoder();
  d.push(Buffer.concat(written));
  const sent: number[] = [];
  for (let p = d.next(); p; p = d.next()) if (p.kind === 'control') sent.push(p.type);
  t.deepEqual(sent, [Ctl.INITA, Ctl.INITB, Ctl.INITC]);
  line.destroy();
});

test('pty fast lane: writes beyond what the line takes at once follow in order; reads go to the tap, then back to the stream', async (t) => {
  const [a, b] = await directPortPair(t);
  const tapped: Uint8Array[] = [];
  const tap = (a as Duplex & Tappable).tap((bytes) => tapped.push(Uint8Array.from(bytes)));
  // Far more than a pty buffers while nobody reads: most of it waits in the stream.
  const data = randomBytes(1 << 20);
  // Small writes, so the direct write(2) meets the full pty and hands over the rest.
  for (let at = 0; at < data.length; at += 500) tap.write(data.subarray(at, at + 500));
  b.write('to the tap');
  const got: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve) =>
    b.on('data', (chunk: Buffer) => {
      got.push(chunk);
      if ((size += chunk.length) >= data.length) resolve();
    }),
  );
  t.true(Buffer.concat(got).equals(data));
  t.is(Buffer.concat(tapped).toString(), 'to the tap');
  tap.release();
  b.write('to the stream');
  const [chunk] = (await once(a, 'data')) as [Buffer];
  t.is(chunk.toString(), 'to the stream');
});

/** One end of a socat pty pair opened as a direct port, paused (as the session leaves it before g starts); `hangUp` stops socat. */
async function pausedPtyPort(t: ExecutionContext): Promise<{ port: Duplex; hangUp: () => Promise<void> }> {
  const root = await tempRoot('g-pty-');
  const pty = await ptyPair(root);
  const a = await openDirectPort(pty.a, { lockDir: path.join(root, 'lock'), speed: 115200 });
  t.teardown(async () => {
    await a.close();
    await rm(root, { recursive: true, force: true });
  });
  a.stream.pause();
  return { port: a.stream, hangUp: () => pty.stop() };
}

test('a pty hung up while g runs on the fast lane: g sees the line close (not a later write error after its timeouts)', async (t) => {
  const { port, hangUp } = await pausedPtyPort(t);
  const g = runGOverStream(port, { packetSize: 64, window: 7 });
  const starting = g.start('master');
  await hangUp();
  const err = await t.throwsAsync(starting);
  t.regex(err!.message, /the line closed/);
});

test('a write that meets a hung-up pty (EIO) closes the port as a hang-up, not as an error', async (t) => {
  const { port, hangUp } = await pausedPtyPort(t);
  // Paused and untapped, the port does not read, so the write is what meets the hang-up.
  await hangUp();
  const errors: Error[] = [];
  port.on('error', (err) => errors.push(err));
  const closed = once(port, 'close');
  port.write(Buffer.alloc(64));
  await closed;
  t.deepEqual(errors, []);
});
