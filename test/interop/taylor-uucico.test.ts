// Interop with Debian's Taylor UUCP 1.07: our uucico and Taylor's talk over
// TCP on loopback, a socat pty pair and a pipe port. Each test builds two
// private sites (ours: config/uucp/spool via makeSite; Taylor's: its own -I
// config, spool, pubdir, lockdir, logs) and checks what arrives byte for byte.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { openPortEntry } from '../../src/uucp/port/open.js';
import { answerCall, callSystem, listenTcp } from '../../src/uucp/uucico.js';
import { listPendingWork } from '../../src/uucp/spool/work-file.js';
import { queueSend } from '../helpers/uucp-work.js';
import { readStatus } from '../../src/uucp/status.js';
import { queueExecution } from '../../src/uucp/uux.js';
import { maildirMessages, freePort } from '../helpers/site.js';
import {
  UUCICO, UUCP, UUX, UUXQT, giveToUucp, ourUucico as ours, ptyPair, requireTaylor, rmailRuns, runTaylor, spawnTaylor, taylorCallsUs, taylorListens, taylorLog, taylorSite,
  tempRoot, uucpSpool,
} from '../helpers/taylor.js';

test.before(() => requireTaylor());

const FROM_LINE = 'From alice Fri Nov 27 10:00:00 2026 remote from leaf\n';

test.serial('our uucico calls Taylor over TCP: a mail job reaches Taylor uuxqt and rmail byte for byte', async (t) => {
  const root = await tempRoot('uuint1-');
  const port = await freePort();
  const hub = await taylorSite(root, 'hub', {
    sys: `system leaf\ncalled-login Uleaf\ncommands rmail\ncommand-path ${path.join(root, 'hub/bin')}\nprotocol g\n`,
    passwd: 'Uleaf secret\n',
  });
  const { site, ctx } = await ours(`system hub\ntime any\naddress 127.0.0.1\nport type tcp\nport service ${port}\ncall-login Uleaf\ncall-password secret\nchat ogin: \\L word: \\P\nprotocol g\n`);
  const body = Buffer.concat([Buffer.from(`${FROM_LINE}Subject: to Taylor\n\nline 1\n`), randomBytes(2000), Buffer.from('\nend\n')]);
  await queueExecution({ spoolDir: uucpSpool(site), system: 'hub', localName: 'leaf', command: 'rmail', args: ['bob@example.org', '(carol)'], stdin: body, requester: 'alice' });
  giveToUucp(root);
  const taylor = await taylorListens(hub, port);
  const r = await callSystem(ctx, 'hub');
  await taylor.done;
  t.true(r.ok, `${r.error?.message}\n${await taylorLog(hub)}`);
  t.deepEqual(await listPendingWork(uucpSpool(site), 'hub'), []);
  t.like(await readStatus(uucpSpool(site), 'hub'), { code: 0, text: 'Conversation complete' });
  t.regex(await taylorLog(hub), /Call complete/);
  t.is(runTaylor(UUXQT, ['-I', hub.conf]).status, 0);
  const runs = await rmailRuns(hub);
  t.is(runs.length, 1);
  t.deepEqual(runs[0], Buffer.concat([Buffer.from('ARGS: [bob@example.org] [(carol)]\n'), body]));
});

test.serial('Taylor calls our uucico -l over a socat pty pair: mail queued with Taylor uux lands in our maildir', async (t) => {
  const root = await tempRoot('uuint2-');
  const pty = await ptyPair(root);
  try {
    const hub = await taylorSite(root, 'hub', {
      sys: 'system leaf\ntime any\nport PTY\nchat "" \\r\\c ogin:-\\r\\c-ogin: \\L word: \\P\ncall-login Uhub\ncall-password pw2\nprotocol g\n',
      port: `port PTY\ntype direct\ndevice ${pty.a}\nspeed 115200\n`,
    });
    const { site, ctx } = await ours('system hub\ncalled-login Uhub\ncommands rmail\nprotocol g\n', {
      passwd: 'Uhub pw2\n',
      port: `port PTYB\ntype direct\ndevice ${pty.b}\nspeed 115200\n`,
    });
    giveToUucp(root);
    const msg = `From carol Fri Nov 27 11:00:00 2026 remote from hub\nSubject: from Taylor\nMessage-ID: <t2@hub>\n\nHello alice,\nover a pty.\n`;
    const q = runTaylor(UUX, ['-I', hub.conf, '-r', '-', 'leaf!rmail', 'alice'], msg);
    t.is(q.status, 0, q.stderr);
    const ourPort = await openPortEntry(ctx.uucp.ports.get('PTYB')!, { lockDir: ctx.lockDir });
    const answering = answerCall(ctx, ourPort, { prompt: true });
    const taylor = spawnTaylor(UUCICO, ['-I', hub.conf, '-D', '-q', '-S', 'leaf']);
    const [r] = await Promise.all([answering, taylor.done]);
    t.true(r.ok, `${r.error?.message}\n${await taylorLog(hub)}`);
    t.is(r.system, 'hub');
    t.is(r.stats.execReceived, 1);
    t.regex(await taylorLog(hub), /Call complete/);
    const mail = maildirMessages(path.join(site.spool, 'mail/alice'));
    t.is(mail.length, 1, 'delivered through uuxqt and rmail in-process');
    t.true(mail[0]!.endsWith('Subject: from Taylor\nMessage-ID: <t2@hub>\n\nHello alice,\nover a pty.\n'), mail[0]);
    t.regex(mail[0]!, /hub!carol/);
  } finally {
    await pty.stop();
  }
});

test.serial('Taylor calls our TCP listener; both have work: role reversal, files both ways (5 MB), 4096-byte packets within the 16 KiB bound', async (t) => {
  const root = await tempRoot('uuint3-');
  const port = await freePort();
  const hub = await taylorSite(root, 'hub', {
    sys: `system leaf\ntime any\nport TCPLEAF\naddress 127.0.0.1\ncall-login Uhub\ncall-password pw3\nchat ogin: \\L word: \\P\nprotocol g\nprotocol-parameter g packet-size 4096\nprotocol-parameter g window 7\n`,
    port: `port TCPLEAF\ntype tcp\nservice ${port}\n`,
  });
  const { site, ctx } = await ours(`system hub\ncalled-login Uhub\ncommands rmail\nprotocol g\nprotocol-parameter g packet-size 4096\nprotocol-parameter g window 7\n`, {
    passwd: 'Uhub pw3\n',
  });
  // Taylor's work: a file for our public directory (uucp command).
  const toUs = randomBytes(700_000);
  await fsp.writeFile(path.join(root, 'to-leaf.bin'), toUs);
  // Our work: 5 MB for Taylor's public directory, and a request for a file there.
  const big = randomBytes(5 * 1024 * 1024);
    const wanted = randomBytes(300_000);
  await fsp.writeFile(path.join(hub.pub, 'wanted.bin'), wanted);
  const ourPub = path.join(site.spool, 'uucppublic');
  await queueSend(uucpSpool(site), 'hub', 'D.0005', big, '~/big.bin', [{ type: 'R', from: '~/wanted.bin', to: path.join(ourPub, 'wanted.bin'), user: 'alice', options: 'd' }]);
  giveToUucp(root);
  const q = runTaylor(UUCP, ['-I', hub.conf, '-r', '-C', path.join(root, 'to-leaf.bin'), 'leaf!~/from-hub.bin']);
  t.is(q.status, 0, q.stderr);
  const { code, session: r } = await taylorCallsUs(ctx, hub, port);
  t.true(r?.ok, `${r?.error?.message}\n${await taylorLog(hub)}`);
  t.is(code, 0);
  // Taylor asked for 4096/7; 7 × (4096 + 6) overruns its 16 KiB ring, so we send with window 3.
  t.deepEqual(r!.gSend, { packetSize: 4096, window: 3 });
  t.deepEqual(r!.gReceive, { packetSize: 4096, window: 7 });
  t.deepEqual(await fsp.readFile(path.join(ourPub, 'from-hub.bin')), toUs);
  t.deepEqual(await fsp.readFile(path.join(hub.pub, 'big.bin')), big);
  t.deepEqual(await fsp.readFile(path.join(ourPub, 'wanted.bin')), wanted);
  t.deepEqual(await listPendingWork(uucpSpool(site), 'hub'), []);
  t.regex(await taylorLog(hub), /Call complete/);
});

test.serial('window 1, 32-byte packets over a pty: Taylor sends us a file, then we are idle when it hangs up; the call ends cleanly on both sides', async (t) => {
  const root = await tempRoot('uuintw1-');
  const pty = await ptyPair(root);
  try {
    const g1 = 'protocol g\nprotocol-parameter g packet-size 32\nprotocol-parameter g window 1\n';
    const hub = await taylorSite(root, 'hub', {
      sys: `system leaf\ntime any\nport PTY\nchat "" \\r\\c ogin:-\\r\\c-ogin: \\L word: \\P\ncall-login Uhub\ncall-password pw5\n${g1}`,
      port: `port PTY\ntype direct\ndevice ${pty.a}\nspeed 115200\n`,
    });
    const { site, ctx } = await ours(`system hub\ncalled-login Uhub\n${g1}`, { passwd: 'Uhub pw5\n', port: `port PTYB\ntype direct\ndevice ${pty.b}\nspeed 115200\n` });
    const toUs = randomBytes(3000);
    await fsp.writeFile(path.join(root, 'w1.bin'), toUs);
    giveToUucp(root);
    t.is(runTaylor(UUCP, ['-I', hub.conf, '-r', '-C', path.join(root, 'w1.bin'), 'leaf!~/w1.bin']).status, 0);
    const answering = answerCall(ctx, await openPortEntry(ctx.uucp.ports.get('PTYB')!, { lockDir: ctx.lockDir }), { prompt: true });
    const taylor = spawnTaylor(UUCICO, ['-I', hub.conf, '-D', '-q', '-S', 'leaf']);
    const [r, code] = await Promise.all([answering, taylor.done]);
    // Taylor closes right after the first of our two HYs, its RR, HY and
    // CLOSE arriving in one read: at window 1 our second HY waited for an ack
    // that never came, and the call was recorded as failed.
    t.true(r.ok, `${r.error?.message}\n${await taylorLog(hub)}`);
    t.is(code, 0);
    t.deepEqual(r.gReceive, { packetSize: 32, window: 1 });
    t.deepEqual(await fsp.readFile(path.join(site.spool, 'uucppublic', 'w1.bin')), toUs);
    t.like(await readStatus(uucpSpool(site), 'hub'), { code: 0 });
    t.regex(await taylorLog(hub), /Call complete/);
  } finally {
    await pty.stop();
  }
});

test.serial('our uucico calls Taylor through a pipe port at 64/7: Taylor has work too; its request for /etc/passwd is refused', async (t) => {
  const root = await tempRoot('uuint4-');
  const hub = await taylorSite(root, 'hub', {
    sys: `system leaf\ncalled-login Uleaf\ncommands rmail\ncommand-path ${path.join(root, 'hub/bin')}\nprotocol g\n`,
    passwd: 'Uleaf pw4\n',
  });
  const { site, ctx, logs } = await ours(`system hub\ntime any\nport type pipe\nport command ${UUCICO} -I ${hub.conf} -l\ncall-login Uleaf\ncall-password pw4\nchat ogin: \\L word: \\P\nprotocol g\ncommands rmail\n`);
  const mine = randomBytes(150_000);
  await queueSend(uucpSpool(site), 'hub', 'D.0001', mine, '~/mine.bin');
  const theirs = randomBytes(120_000);
  await fsp.writeFile(path.join(root, 'theirs.bin'), theirs);
  giveToUucp(root);
  t.is(runTaylor(UUCP, ['-I', hub.conf, '-r', '-C', path.join(root, 'theirs.bin'), 'leaf!~/theirs.bin']).status, 0);
  t.is(runTaylor(UUCP, ['-I', hub.conf, '-r', 'leaf!/etc/passwd', path.join(hub.pub, 'stolen')]).status, 0);
  const mail = `${FROM_LINE.replace('leaf', 'hub')}Subject: hi\n\nvia pipe\n`;
  t.is(runTaylor(UUX, ['-I', hub.conf, '-r', '-', 'leaf!rmail', 'bob'], mail).status, 0);
  const r = await callSystem(ctx, 'hub');
  t.true(r.ok, `${r.error?.message}\n${await taylorLog(hub)}`);
  t.deepEqual(r.gSend, { packetSize: 64, window: 7 });
  t.deepEqual(await fsp.readFile(path.join(hub.pub, 'mine.bin')), mine);
  t.deepEqual(await fsp.readFile(path.join(site.spool, 'uucppublic', 'theirs.bin')), theirs);
  await t.throwsAsync(fsp.stat(path.join(hub.pub, 'stolen')));
  t.regex(logs.join('\n'), /refused to send \/etc\/passwd/);
  t.regex(await taylorLog(hub), /\/etc\/passwd.*(no such file|permission|denied)|Call complete/);
  t.is(maildirMessages(path.join(site.spool, 'mail/bob')).length, 1);
});

test.serial('refusals seen by Taylor: a wrong password and an unknown system', async (t) => {
  const root = await tempRoot('uuint5-');
  const port = await freePort();
  const sysFor = (pw: string): string =>
    `system leaf\ntime any\nport TCPLEAF\naddress 127.0.0.1\ncall-login Uhub\ncall-password ${pw}\nchat ogin: \\L word: \\P\nprotocol g\n`;
  const hub = await taylorSite(root, 'hub', { sys: sysFor('wrong'), port: `port TCPLEAF\ntype tcp\nservice ${port}\n` });
  const stranger = await taylorSite(root, 'stranger', { sys: sysFor('pw5'), port: `port TCPLEAF\ntype tcp\nservice ${port}\n` });
  const { ctx, logs } = await ours('system hub\ncalled-login Uhub\nprotocol g\n', { passwd: 'Uhub pw5\n' });
  giveToUucp(root);
  const sessions: import('../../src/uucp/session.js').SessionResult[] = [];
  const server = await listenTcp(ctx, { port, onSession: (r) => sessions.push(r) });
  try {
    await spawnTaylor(UUCICO, ['-I', hub.conf, '-D', '-q', '-S', 'leaf']).done;
    t.regex(await fsp.readFile(path.join(hub.spool, '.Status/leaf'), 'latin1'), /^[34] 1 /, 'Taylor records a failed login or handshake');
    t.regex(logs.join('\n'), /login incorrect/);
    await spawnTaylor(UUCICO, ['-I', stranger.conf, '-D', '-q', '-S', 'leaf']).done;
    t.regex(await taylorLog(stranger), /unknown to me/i);
    t.regex(logs.join('\n'), /unknown system "stranger"/);
  } finally {
    server.close();
  }
});
