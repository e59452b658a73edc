// Carrier lost in the middle of a 1 MiB file, resumed on the next call, with
// Debian's Taylor UUCP 1.07 on the other side, both directions. The line is a
// TCP relay (test/helpers/line-cutter.ts) that drops after a set number of
// bytes; the job stays queued on the sender; the next call restarts the file
// at the offset the receiver kept (`SY 0x<offset>`), and only the remainder
// crosses the line.
//
// Taylor's conditions for a restart (its manual and rec.c/send.c, and what
// its log shows): both sides announce restart (`-R`, ROKN mask bit 02); the
// receiver keeps the partial file as `.Temp/<sys>/<temp>` only when the
// temp name of the S command starts with `D` and is not `D.0` (files sent
// without a spool copy are never restarted), and only for a week; the sender
// honours any `SY 0x<offset>` by seeking and logs "resume at <offset>".
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { callSystem, listenTcp } from '../../src/uucp/uucico.js';
import { listPendingWork } from '../../src/uucp/spool/work-file.js';
import { queueSend } from '../helpers/uucp-work.js';
import type { SessionResult } from '../../src/uucp/session.js';
import { freePort } from '../helpers/site.js';
import { startLineCutter } from '../helpers/line-cutter.js';
import { UUCICO, UUCP, giveToUucp, ourUucico, requireTaylor, runTaylor, spawnTaylor, taylorListens, taylorLog, taylorSite, tempRoot } from '../helpers/taylor.js';

test.before(() => requireTaylor());

const SIZE = 1024 * 1024;
const CUT = 400_000;

test.serial('restart, ours → Taylor: the line drops at 400 kB of 1 MiB; the next call sends only the rest from Taylor\'s offset', async (t) => {
  const root = await tempRoot('uurst1-');
  const taylorPort = await freePort();
  const hub = await taylorSite(root, 'hub', { sys: 'system leaf\ncalled-login Uleaf\nprotocol g\n', passwd: 'Uleaf pwr\n' });
  const line = await startLineCutter({ target: { port: taylorPort }, cutAfter: CUT, direction: 'up' });
  const { site, ctx, logs } = await ourUucico(
    `system hub\ntime any\naddress 127.0.0.1\nport type tcp\nport service ${line.port}\ncall-login Uleaf\ncall-password pwr\nchat ogin: \\L word: \\P\nprotocol g\nprotocol-parameter g packet-size 1024\n`,
  );
  const spool = path.join(site.spool, 'uucp');
  const big = randomBytes(SIZE);
  await queueSend(spool, 'hub', 'D.0007', big, '~/big.bin');
  giveToUucp(root);
  try {
    let taylor = await taylorListens(hub, taylorPort);
    const first = await callSystem(ctx, 'hub');
    t.true((await line.cut).cut, 'the line was cut');
    await taylor.done;
    t.false(first.ok, 'the first call fails');
    t.is((await listPendingWork(spool, 'hub')).length, 1, 'the job stays queued');
    const partial = (await fsp.stat(path.join(hub.spool, '.Temp/leaf/D.0007'))).size;
    t.true(partial > 100_000 && partial < CUT, `Taylor kept ${partial} bytes in .Temp/leaf/D.0007`);

    taylor = await taylorListens(hub, taylorPort);
    const second = await callSystem(ctx, 'hub', { force: true });
    await taylor.done;
    const tlog = await taylorLog(hub);
    t.true(second.ok, `${second.error?.message}\n${tlog}`);
    t.regex(tlog, new RegExp(`Receiving \\S*/big\\.bin \\(${SIZE} bytes resume at ${partial}\\)`), 'Taylor resumed at the offset it kept');
    t.regex(logs.join('\n'), new RegExp(`sending D.0007 \\(${SIZE} bytes, from byte ${partial}\\)`));
    t.is(second.stats.bytesSent, SIZE - partial, 'only the remainder was sent');
    // g framing adds 6 bytes a packet (about 10% at 64-byte packets), the handshake a few hundred.
    t.true(line.connections[1]!.up < (SIZE - partial) * 1.12 + 10_000, `bytes on the line: ${line.connections[1]!.up}`);
    t.deepEqual(await fsp.readFile(path.join(hub.pub, 'big.bin')), big, 'byte-identical');
    t.deepEqual(await listPendingWork(spool, 'hub'), []);
  } finally {
    await line.stop();
  }
});

test.serial('restart, Taylor → ours: the line drops at 400 kB of 1 MiB; Taylor\'s next call resumes at our offset', async (t) => {
  const root = await tempRoot('uurst2-');
  const ourPort = await freePort();
  const line = await startLineCutter({ target: { port: ourPort }, cutAfter: CUT, direction: 'up' });
  const hub = await taylorSite(root, 'hub', {
    sys: `system leaf\ntime any\nport TCPLEAF\naddress 127.0.0.1\ncall-login Uhub\ncall-password pwr2\nchat ogin: \\L word: \\P\nprotocol g\nprotocol-parameter g packet-size 1024\n`,
    port: `port TCPLEAF\ntype tcp\nservice ${line.port}\n`,
  });
  const { site, ctx, logs } = await ourUucico('system hub\ncalled-login Uhub\nprotocol g\n', { passwd: 'Uhub pwr2\n' });
  const big = randomBytes(SIZE);
  await fsp.writeFile(path.join(root, 'big.bin'), big);
  giveToUucp(root);
  const q = runTaylor(UUCP, ['-I', hub.conf, '-r', '-C', path.join(root, 'big.bin'), 'leaf!~/big.bin']);
  t.is(q.status, 0, q.stderr);
  const sessions: SessionResult[] = [];
  const server = await listenTcp(ctx, { port: ourPort, onSession: (r) => sessions.push(r) });
  const session = async (n: number): Promise<SessionResult> => {
    for (let i = 0; i < 200 && sessions.length < n; i++) await new Promise((r) => setTimeout(r, 50));
    return sessions[n - 1]!;
  };
  try {
    const code1 = await spawnTaylor(UUCICO, ['-I', hub.conf, '-D', '-q', '-S', 'leaf']).done;
    t.true((await line.cut).cut);
    const first = await session(1);
    t.false(first?.ok, 'our side saw the call fail');
    t.not(code1, 0, 'Taylor saw the call fail');
    t.regex(runTaylor('/usr/bin/uustat', ['-I', hub.conf, '-a']).stdout, /big\.bin/, 'Taylor keeps the job');
    const temps = await fsp.readdir(path.join(site.spool, 'uucp/.Temp/hub'));
    t.is(temps.length, 1, `one partial file: ${temps.join(' ')}`);
    const partial = (await fsp.stat(path.join(site.spool, 'uucp/.Temp/hub', temps[0]!))).size;
    t.true(partial > 100_000 && partial < CUT, `we kept ${partial} bytes`);

    const code2 = await spawnTaylor(UUCICO, ['-I', hub.conf, '-D', '-q', '-S', 'leaf']).done;
    const second = await session(2);
    const tlog = await taylorLog(hub);
    t.true(second?.ok, `${second?.error?.message}\n${tlog}`);
    t.is(code2, 0);
    t.regex(tlog, new RegExp(`Sending .*big\\.bin \\(${SIZE} bytes resume at ${partial}\\)`), 'Taylor resumed at our offset');
    t.regex(logs.join('\n'), new RegExp(`receiving ~/big.bin from byte ${partial}`));
    t.is(second.stats.bytesReceived, SIZE - partial, 'only the remainder crossed the line');
    // g framing adds 6 bytes a packet (about 10% at 64-byte packets), the handshake a few hundred.
    t.true(line.connections[1]!.up < (SIZE - partial) * 1.12 + 10_000, `bytes on the line: ${line.connections[1]!.up}`);
    t.deepEqual(await fsp.readFile(path.join(site.spool, 'uucppublic', 'big.bin')), big, 'byte-identical');
    t.deepEqual(await fsp.readdir(path.join(site.spool, 'uucp/.Temp/hub')), [], 'no partial file left');
  } finally {
    server.close();
    await line.stop();
  }
});
