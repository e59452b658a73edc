// Interop with Debian's Taylor UUCP 1.07 over the 'i' protocol: our uucico
// calls Taylor (pipe port, and a socat pty pair with Taylor answering on the
// tty) and Taylor calls ours (TCP on loopback: Taylor's i is slow there, so
// small files). Files both ways are compared byte for byte; mail jobs are
// delivered both ways.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { answerCall, callSystem } from '../../src/uucp/uucico.js';
import { openPortEntry } from '../../src/uucp/port/open.js';
import { listPendingWork } from '../../src/uucp/spool/work-file.js';
import { queueSend } from '../helpers/uucp-work.js';
import { queueExecution } from '../../src/uucp/uux.js';
import { maildirMessages, freePort } from '../helpers/site.js';
import {
  UUCICO, UUCP, UUX, UUXQT, giveToUucp, ourUucico as ours, ptyPair, requireTaylor, rmailRuns, runTaylor, spawnTaylor, taylorCallsUs, taylorLog, taylorSite,
  tempRoot, uucpSpool,
} from '../helpers/taylor.js';

test.before(() => requireTaylor());

const FROM = (who: string, host: string): string => `From ${who} Fri Nov 27 10:00:00 2026 remote from ${host}\n`;

test.serial('our uucico calls Taylor over i (pipe port): 1 MB to Taylor, 300 kB back, mail both ways', async (t) => {
  const root = await tempRoot('uuinti1-');
  const hub = await taylorSite(root, 'hub', {
    sys: `system leaf\ncalled-login Uleaf\ncommands rmail\ncommand-path ${path.join(root, 'hub/bin')}\nprotocol i\n`,
    passwd: 'Uleaf pwi\n',
  });
  const { site, ctx, logs } = await ours(`system hub\ntime any\nport type pipe\nport command ${UUCICO} -I ${hub.conf} -l\ncall-login Uleaf\ncall-password pwi\nchat ogin: \\L word: \\P\nprotocol ig\ncommands rmail\n`);
  const mine = randomBytes(1024 * 1024 + 17);
  await queueSend(uucpSpool(site), 'hub', 'D.0001', mine, '~/mine.bin');
  const toTaylor = Buffer.concat([Buffer.from(`${FROM('alice', 'leaf')}Subject: over i\n\n`), randomBytes(3000), Buffer.from('\nend\n')]);
  await queueExecution({ spoolDir: uucpSpool(site), system: 'hub', localName: 'leaf', command: 'rmail', args: ['bob@example.org'], stdin: toTaylor, requester: 'alice' });
  const theirs = randomBytes(300_000);
  await fsp.writeFile(path.join(root, 'theirs.bin'), theirs);
  giveToUucp(root);
  t.is(runTaylor(UUCP, ['-I', hub.conf, '-r', '-C', path.join(root, 'theirs.bin'), 'leaf!~/theirs.bin']).status, 0);
  const mail = `${FROM('carol', 'hub')}Subject: back over i\n\nhello bob\n`;
  t.is(runTaylor(UUX, ['-I', hub.conf, '-r', '-', 'leaf!rmail', 'bob'], mail).status, 0);
  const r = await callSystem(ctx, 'hub');
  const tlog = await taylorLog(hub);
  t.true(r.ok, `${r.error?.message}\n${tlog}`);
  t.is(r.protocol, 'i');
  t.regex(tlog, /protocol 'i'/);
  t.regex(tlog, /Call complete/);
  t.deepEqual(await fsp.readFile(path.join(hub.pub, 'mine.bin')), mine);
  t.deepEqual(await fsp.readFile(path.join(site.spool, 'uucppublic', 'theirs.bin')), theirs);
  t.deepEqual(await listPendingWork(uucpSpool(site), 'hub'), []);
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 1, logs.join('\n'));
  t.regex(maildirMessages(path.join(site.spool, 'mail/bob'))[0]!, /hello bob/);
  t.is(runTaylor(UUXQT, ['-I', hub.conf]).status, 0);
  const runs = await rmailRuns(hub);
  t.is(runs.length, 1);
  t.deepEqual(runs[0], Buffer.concat([Buffer.from('ARGS: [bob@example.org]\n'), toTaylor]));
});

test.serial('Taylor calls our TCP listener over i: small files both ways, a request, mail from Taylor', async (t) => {
  const root = await tempRoot('uuinti2-');
  const port = await freePort();
  const hub = await taylorSite(root, 'hub', {
    sys: `system leaf\ntime any\nport TCPLEAF\naddress 127.0.0.1\ncall-login Uhub\ncall-password pwi2\nchat ogin: \\L word: \\P\nprotocol i\n`,
    port: `port TCPLEAF\ntype tcp\nservice ${port}\n`,
  });
  const { site, ctx } = await ours(`system hub\ncalled-login Uhub\ncommands rmail\nprotocol ig\n`, { passwd: 'Uhub pwi2\n' });
  const toUs = randomBytes(20_000);
  await fsp.writeFile(path.join(root, 'to-leaf.bin'), toUs);
  const mine = randomBytes(25_000);
    const wanted = randomBytes(15_000);
  await fsp.writeFile(path.join(hub.pub, 'wanted.bin'), wanted);
  const ourPub = path.join(site.spool, 'uucppublic');
  await queueSend(uucpSpool(site), 'hub', 'D.0002', mine, '~/mine.bin', [{ type: 'R', from: '~/wanted.bin', to: path.join(ourPub, 'wanted.bin'), user: 'alice', options: 'd' }]);
  giveToUucp(root);
  t.is(runTaylor(UUCP, ['-I', hub.conf, '-r', '-C', path.join(root, 'to-leaf.bin'), 'leaf!~/from-hub.bin']).status, 0);
  t.is(runTaylor(UUX, ['-I', hub.conf, '-r', '-', 'leaf!rmail', 'alice'], `${FROM('carol', 'hub')}Subject: tcp i\n\nhi alice\n`).status, 0);
  const { code, session: r } = await taylorCallsUs(ctx, hub, port);
  t.true(r?.ok, `${r?.error?.message}\n${await taylorLog(hub)}`);
  t.is(code, 0);
  t.is(r?.protocol, 'i');
  t.deepEqual(await fsp.readFile(path.join(ourPub, 'from-hub.bin')), toUs);
  t.deepEqual(await fsp.readFile(path.join(hub.pub, 'mine.bin')), mine);
  t.deepEqual(await fsp.readFile(path.join(ourPub, 'wanted.bin')), wanted);
  t.deepEqual(await listPendingWork(uucpSpool(site), 'hub'), []);
  t.regex(maildirMessages(path.join(site.spool, 'mail/alice'))[0] ?? '', /hi alice/);
  t.regex(await taylorLog(hub), /Call complete/);
});

test.serial('our uucico calls Taylor answering on a socat pty over i: 1 MB from Taylor, 200 kB to it', async (t) => {
  const root = await tempRoot('uuinti3-');
  const pty = await ptyPair(root);
  try {
    const hub = await taylorSite(root, 'hub', {
      sys: `system leaf\ncalled-login Uleaf\nprotocol i\n`,
      passwd: 'Uleaf pwi3\n',
      port: `port PTY\ntype direct\ndevice ${pty.a}\nspeed 115200\n`,
    });
    const { site, ctx } = await ours(`system hub\ntime any\nport PTYB\ncall-login Uleaf\ncall-password pwi3\nchat "" \\r\\c ogin:-\\r\\c-ogin: \\L word: \\P\nprotocol i\n`, {
      port: `port PTYB\ntype direct\ndevice ${pty.b}\nspeed 115200\n`,
    });
    const big = randomBytes(1024 * 1024);
    await fsp.writeFile(path.join(root, 'big.bin'), big);
    const mine = randomBytes(200_000);
    await queueSend(uucpSpool(site), 'hub', 'D.0003', mine, '~/mine.bin');
    giveToUucp(root);
    t.is(runTaylor(UUCP, ['-I', hub.conf, '-r', '-C', path.join(root, 'big.bin'), 'leaf!~/big.bin']).status, 0);
    const slave = spawnTaylor(UUCICO, ['-I', hub.conf, '-D', '-q', '-p', 'PTY', '-l']);
    const r = await callSystem(ctx, 'hub');
    await slave.done;
    t.true(r.ok, `${r.error?.message}\n${await taylorLog(hub)}`);
    t.is(r.protocol, 'i');
    t.deepEqual(await fsp.readFile(path.join(site.spool, 'uucppublic', 'big.bin')), big);
    t.deepEqual(await fsp.readFile(path.join(hub.pub, 'mine.bin')), mine);
    t.regex(await taylorLog(hub), /Call complete/);
  } finally {
    await pty.stop();
  }
});

test.serial('i at window 1 over a pty: Taylor calls, we take over with a file for it; each of 4 calls ends on both sides', async (t) => {
  const root = await tempRoot('uuinti4-');
  const pty = await ptyPair(root);
  const i1 = 'protocol i\nprotocol-parameter i packet-size 64\nprotocol-parameter i window 1\n';
  try {
    const hub = await taylorSite(root, 'hub', {
      sys: `system leaf\ntime any\nport PTY\nchat "" \\r\\c ogin:-\\r\\c-ogin: \\L word: \\P\ncall-login Uhub\ncall-password pwi4\n${i1}`,
      port: `port PTY\ntype direct\ndevice ${pty.a}\nspeed 115200\n`,
    });
    const { site, ctx } = await ours(`system hub\ncalled-login Uhub\n${i1}`, { passwd: 'Uhub pwi4\n', port: `port PTYB\ntype direct\ndevice ${pty.b}\nspeed 115200\n` });
    // Taylor answers our H with two HYs; at window 1 the second waits for an
    // ack, and a CLOSE that does not carry it left Taylor busy for ever (in
    // about 2 calls of 5 before the fix).
    for (let call = 1; call <= 4; call++) {
      const mine = randomBytes(1000 + call * 997);
      await queueSend(uucpSpool(site), 'hub', `D.000${call}`, mine, `~/mine${call}.bin`);
      giveToUucp(root);
      const answering = answerCall(ctx, await openPortEntry(ctx.uucp.ports.get('PTYB')!, { lockDir: ctx.lockDir }), { prompt: true });
      const taylor = spawnTaylor(UUCICO, ['-I', hub.conf, '-D', '-q', '-S', 'leaf']);
      const stuck = setTimeout(() => taylor.child.kill('SIGKILL'), 20_000);
      const [r, code] = await Promise.all([answering, taylor.done]);
      clearTimeout(stuck);
      t.true(r.ok, `call ${call}: ${r.error?.message}\n${await taylorLog(hub)}`);
      t.is(code, 0, `call ${call}: Taylor's uucico did not end by itself`);
      t.deepEqual(await fsp.readFile(path.join(hub.pub, `mine${call}.bin`)), mine);
    }
  } finally {
    await pty.stop();
  }
});
