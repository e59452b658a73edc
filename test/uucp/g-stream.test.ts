import test from 'ava';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { once } from 'node:events';
import { runGOverStream } from '../../src/uucp/g/stream-adapter.js';

async function socketPair(): Promise<[net.Socket, net.Socket, () => void]> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect(port, '127.0.0.1');
  const [[serverSide]] = (await Promise.all([once(server, 'connection'), once(client, 'connect')])) as [[net.Socket], unknown];
  return [client, serverSide, () => server.close()];
}

for (const [packetSize, window] of [
  [64, 7],
  [1024, 7],
  [4096, 7], // our receiver has no 16 KiB ring limit
] as const) {
  test(`1 MiB over a loopback socket pair with g ${packetSize}/${window}, byte-compared`, async (t) => {
    const [a, b, close] = await socketPair();
    t.teardown(() => {
      a.destroy();
      b.destroy();
      close();
    });
    const file = randomBytes(1 << 20);
    const master = runGOverStream(a, { packetSize, window });
    const slave = runGOverStream(b, { packetSize, window });
    const [info] = await Promise.all([master.start('master'), slave.start('slave')]);
    t.deepEqual(info.send, { window, packetSize });

    const received: Buffer[] = [];
    const chunks = function* () {
      for (let at = 0; at < file.length; at += 10_000) yield file.subarray(at, at + 10_000);
    };
    await master.sendCommand('S D.x D.y user -C D.0 0666 "" 0x100000');
    t.is(await slave.readCommand(), 'S D.x D.y user -C D.0 0666 "" 0x100000');
    const [sent, got] = await Promise.all([master.sendFile(chunks()), slave.receiveFile((c) => void received.push(Buffer.from(c)))]);
    t.is(sent, file.length);
    t.is(got, file.length);
    t.true(Buffer.concat(received).equals(file));
    await slave.sendCommand('CY');
    t.is(await master.readCommand(), 'CY');

    await Promise.all([master.shutdown(), slave.shutdown()]);
    t.like(await master.closed, { how: 'local' });
    // After g the line belongs to the session layer again.
    // The adapter paused the stream when it let go; the session resumes it.
    const next = once(b, 'data');
    b.resume();
    a.write('\x10OOOOOO\0');
    const [tail] = (await next) as [Buffer];
    // Any late CLOSE from the peer comes first; the session's DLE scan skips it.
    t.true(Buffer.concat([slave.leftover(), tail]).toString('latin1').endsWith('\x10OOOOOO\0'));
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
