import test from 'ava';
import { ManualClock } from '../../src/uucp/protocol/clock.js';
import { GProtocol, type GProtocolOptions } from '../../src/uucp/g/gprotocol.js';
import { PacketDecoder } from '../../src/uucp/g/packet.js';
import { SimLink, drive } from '../helpers/sim-link.js';

async function connected(a: GProtocolOptions = {}, b: GProtocolOptions = {}) {
  const clock = new ManualClock();
  const link = new SimLink(clock, 1);
  const sizes: number[] = [];
  const tap = new PacketDecoder();
  const write = link.writer(0);
  const master = new GProtocol((bytes) => {
    tap.push(bytes);
    for (let d = tap.next(); d; d = tap.next()) if (d.kind === 'data') sizes.push(d.size);
    write(bytes);
  }, clock, a);
  const slave = new GProtocol(link.writer(1), clock, b);
  link.attach(0, (x) => master.receive(x));
  link.attach(1, (x) => slave.receive(x));
  const run = <T>(p: Promise<T>) => drive(clock, p, 3_600_000).then(() => p);
  const [info] = await run(Promise.all([master.start('master'), slave.start('slave')]));
  return { master, slave, run, sizes, info };
}

test('a long command spans packets and is reassembled up to its NUL', async (t) => {
  const { master, slave, run, sizes } = await connected({}, { packetSize: 64 });
  const long = 'E ' + 'x'.repeat(200);
  const exact = 'y'.repeat(128); // a multiple of the packet size: the NUL needs a packet of its own
  const [got] = await run(Promise.all([slave.readCommand(), master.sendCommand(long)]));
  t.is(got, long);
  t.deepEqual(sizes, [64, 64, 64, 64]);
  const [again] = await run(Promise.all([slave.readCommand(), master.sendCommand(exact)]));
  t.is(again, exact);
  t.is(sizes.length, 7);
});

test('commands to a peer that asked for more than 64 go in the smallest power of two that holds them', async (t) => {
  const { master, slave, run, sizes } = await connected({}, { packetSize: 1024 });
  await run(Promise.all([slave.readCommand(), master.sendCommand('H')]));
  await run(Promise.all([slave.readCommand(), master.sendCommand('z'.repeat(40))]));
  t.deepEqual(sizes, [32, 64]);
});

test('peerIsTaylor limits 4096-byte packets to a window of 3', async (t) => {
  t.deepEqual((await connected({ peerIsTaylor: true }, { packetSize: 4096 })).info.send, { window: 3, packetSize: 4096 });
  t.deepEqual((await connected({ peerIsTaylor: true }, { packetSize: 2048 })).info.send, { window: 7, packetSize: 2048 });
  t.deepEqual((await connected({}, { packetSize: 4096 })).info.send, { window: 7, packetSize: 4096 });
});

test('a failing sink still drains the file, then reports its error; the next command is intact', async (t) => {
  const { master, slave, run } = await connected();
  const receiving = slave.receiveFile(() => {
    throw new Error('disk full');
  });
  receiving.catch(() => undefined);
  await run(master.sendFile([new Uint8Array(1000).fill(7)]));
  await run(receiving.catch(() => undefined));
  await t.throwsAsync(receiving, { message: 'disk full' });
  const [cmd] = await run(Promise.all([slave.readCommand(), master.sendCommand('CN5')]));
  t.is(cmd, 'CN5');
});

test('a failing file source aborts the protocol rather than sending a short file', async (t) => {
  const { master, slave, run } = await connected();
  const received: number[] = [];
  const receiving = slave.receiveFile((c) => void received.push(c.length));
  receiving.catch(() => undefined);
  const sending = master.sendFile(
    (async function* () {
      yield new Uint8Array(100);
      throw new Error('EIO');
    })(),
  );
  sending.catch(() => undefined);
  await run(Promise.allSettled([sending, receiving, slave.closed]));
  await t.throwsAsync(sending, { message: 'EIO' });
  await t.throwsAsync(receiving);
  t.like(await master.closed, { how: 'failed' });
});
