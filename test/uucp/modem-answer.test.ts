// Dial-up beyond the plain call (test/helpers/modem-emulator.ts on a socat pty pair):
// - Taylor's `uucico -l` behind the emulated modem: dial, login chat, session, hang-up;
// - carrier lost mid-file behind the modem (ours ↔ ours): the failed call schedules a
//   retry, the job stays queued, the next call resumes at the answerer's offset;
// - answering on a `type modem` port: `uugate uucico -l -p PORT` waits for RING, says
//   ATA, gets CONNECT, and the caller logs in and runs a session.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { promises as fsp, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SerialPort } from 'serialport';
import { makeSite, flags, maildirMessages, UUGATE, type Site } from '../helpers/site.js';
import { UUCICO, UUXQT, giveToUucp, ptyPair, rmailRuns, runTaylor, taylorInstalled, taylorLog, taylorSite, tempRoot } from '../helpers/taylor.js';
import { ModemEmulator } from '../helpers/modem-emulator.js';
import { lockFiles, mailAndCall, modemHubSite } from '../helpers/modem-sites.js';
import { loadGateway } from '../../src/runtime/gateway.js';
import { callSystem } from '../../src/uucp/uucico.js';
import { uucicoContext } from '../../src/inject/uucico.js';
import { listPendingWork } from '../../src/uucp/spool/work-file.js';
import { queueSend } from '../helpers/uucp-work.js';
import { readStatus, STATUS } from '../../src/uucp/status.js';

test.before(() => {
  const missing = taylorInstalled();
  if (missing.length) throw new Error(`Taylor UUCP / socat missing: ${missing.join(', ')} (run test/install-peers.sh)`);
});

const DIAL = `dialer hayes
chat "" ATZ OK ATDT\\T CONNECT
chat-timeout 5
chat-fail BUSY
chat-fail NO\\sCARRIER
complete \\p+++\\p\\pATH\\r\\c
abort \\p+++\\p\\pATH\\r\\c
`;

function leafSite(dev: string, extraSys = ''): Site {
  const leaf = makeSite({ conf: { smart_path: 'hub' } });
  writeFileSync(path.join(leaf.uucp, 'sys'), `system hub\ntime Any\nport modem1\nphone 5551234\ncall-login Uleaf\ncall-password pw\nchat ogin: \\L word: \\P\ncommands rmail\nretry-time 5\nprotocol g\n${extraSys}`);
  writeFileSync(path.join(leaf.uucp, 'port'), `port modem1\ntype modem\ndevice ${dev}\nspeed 9600\ndialer hayes\n`);
  writeFileSync(path.join(leaf.uucp, 'dial'), DIAL);
  return leaf;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test.serial('modem: Taylor uucico -l behind the modem: dial, login chat, session, hang-up; mail byte for byte', async (t) => {
  if (process.getuid?.() !== 0) throw new Error('Taylor runs as root here (it drops to user uucp)');
  const root = await tempRoot('uumodemt-');
  const pty = await ptyPair(root);
  const hub = await taylorSite(root, 'hub', { sys: `system leaf\ncalled-login Uleaf\ncommands rmail\ncommand-path ${path.join(root, 'hub/bin')}\nprotocol g\n`, passwd: 'Uleaf pw\n' });
  giveToUucp(root);
  const leaf = leafSite(pty.a);
  const modem = new ModemEmulator({ device: pty.b, numbers: { '5551234': 'connect' }, remote: { argv: [UUCICO, '-I', hub.conf, '-D', '-q', '-l'] } });
  await modem.start();
  try {
    const { ctx, result: r } = await mailAndCall(leaf);
    t.true(r.ok, `${r.error?.message}\n${modem.log.join('\n')}\n${await taylorLog(hub)}`);
    t.true(modem.log.includes('< ATDT5551234') && modem.log.includes('> CONNECT 9600'));
    for (let i = 0; i < 50 && modem.hangups === 0; i++) await sleep(100);
    t.is(modem.hangups, 1, modem.log.join('\n'));
    t.is(await modem.remoteExit, 0, modem.log.join('\n'));
    t.regex(await taylorLog(hub), /Call complete/);
    t.is(runTaylor(UUXQT, ['-I', hub.conf]).status, 0);
    const runs = await rmailRuns(hub);
    t.is(runs.length, 1);
    t.is(runs[0]!.toString('latin1'), 'ARGS: [bob]\nFrom alice Fri Nov 27 12:00:00 2026 remote from leaf\nSubject: sched\n\nscheduled\n');
    t.deepEqual(lockFiles(ctx.lockDir), []);
  } finally {
    await modem.stop();
    await pty.stop();
  }
});

test.serial('modem: carrier lost mid-file; a retry is scheduled, the job stays queued; the next call resumes at the offset', async (t) => {
  const root = await tempRoot('uumodemr-');
  const pty = await ptyPair(root);
  const hub = modemHubSite('protocol g\n');
  // Short g timeouts: after NO CARRIER nothing answers, and a pty shows no carrier loss.
  const leaf = leafSite(pty.a, 'protocol-parameter g timeout 1\nprotocol-parameter g retries 2\n');
  const SIZE = 300_000;
  const modem = new ModemEmulator({ device: pty.b, numbers: { '5551234': 'connect' }, remote: { argv: [process.execPath, UUGATE, 'uucico', '-l'], env: hub.env }, dropAfter: 120_000 });
  await modem.start();
  try {
    const ctx = await uucicoContext(await loadGateway(flags(leaf)));
    const big = randomBytes(SIZE);
    await queueSend(ctx.spoolDir, 'hub', 'D.0009', big, '~/big.bin');
    const first = await callSystem(ctx, 'hub');
    t.false(first.ok);
    t.true(modem.log.includes('carrier lost'), modem.log.join('\n'));
    const st = (await readStatus(ctx.spoolDir, 'hub'))!;
    t.is(st.code, STATUS.CALL_FAILED);
    t.is(st.retries, 1, 'a retry is scheduled');
    t.true(st.extra.nextCallTime! > Date.now() + 4 * 60_000, 'after retry-time');
    t.is((await callSystem(ctx, 'hub')).skipped, 'retry time not reached');
    t.is((await listPendingWork(ctx.spoolDir, 'hub')).length, 1, 'the job stays queued');
    await modem.remoteExit;
    const temp = path.join(hub.spool, 'uucp/.Temp/leaf/D.0009');
    const partial = (await fsp.stat(temp)).size;
    t.true(partial > 0 && partial < 120_000, `the answerer kept ${partial} bytes`);

    const second = await callSystem(ctx, 'hub', { force: true });
    t.true(second.ok, `${second.error?.message}\n${modem.log.join('\n')}`);
    t.is(second.stats.bytesSent, SIZE - partial, 'only the remainder was sent');
    t.true(modem.dataBytes[1]! < (SIZE - partial) * 1.12 + 10_000, `bytes on the line: ${modem.dataBytes[1]}`);
    t.deepEqual(await fsp.readFile(path.join(hub.spool, 'uucppublic/big.bin')), big);
    t.deepEqual(await listPendingWork(ctx.spoolDir, 'hub'), []);
    t.is((await readStatus(ctx.spoolDir, 'hub'))!.code, STATUS.COMPLETE);
    t.deepEqual(lockFiles(ctx.lockDir), []);
  } finally {
    await modem.stop();
    await pty.stop();
  }
});

test.serial('modem: uucico -l -p on a modem port: RING, ATA, CONNECT 9600, then the caller logs in and a session runs', async (t) => {
  const root = await tempRoot('uumodema-');
  const pty = await ptyPair(root);
  const hub = modemHubSite('protocol g\n');
  writeFileSync(path.join(hub.uucp, 'port'), `port modemin\ntype modem\ndevice ${pty.a}\nspeed 9600\n`);
  const answering = spawn(process.execPath, [UUGATE, 'uucico', '-l', '-p', 'modemin', '-x', 'chat'], { env: hub.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  answering.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => answering.on('close', (c) => r(c)));
  try {
    // The far end: the modem's RING, then CONNECT once ATA arrived.
    const sp = new SerialPort({ path: pty.b, baudRate: 9600, autoOpen: false });
    await new Promise<void>((res, rej) => sp.open((e) => (e ? rej(e) : res())));
    let heard = '';
    sp.on('data', (b: Buffer) => (heard += b.toString('latin1')));
    for (let i = 0; i < 100 && !heard.includes('ATA'); i++) {
      if (i % 10 === 0) sp.write('\r\nRING\r\n');
      await sleep(100);
    }
    t.regex(heard, /ATA\r/, `the answering uucico said ATA\n${err}`);
    sp.write('\r\nCONNECT 9600\r\n');
    await sleep(300);
    await new Promise<void>((r) => sp.close(() => r()));

    // The caller, on the same line, logs in and runs a session.
    const leaf = makeSite({ conf: { smart_path: 'hub' } });
    writeFileSync(path.join(leaf.uucp, 'sys'), `system hub\ntime Any\nport line\ncall-login Uleaf\ncall-password pw\nchat "" \\r\\c ogin:-\\r\\c-ogin: \\L word: \\P\ncommands rmail\nprotocol g\n`);
    writeFileSync(path.join(leaf.uucp, 'port'), `port line\ntype direct\ndevice ${pty.b}\nspeed 9600\n`);
    const { result: r } = await mailAndCall(leaf);
    t.true(r.ok, `${r.error?.message}\n${err}`);
    t.is(r.stats.filesSent, 2);
    t.is(await exited, 0, err);
    const mail = maildirMessages(path.join(hub.spool, 'mail/bob'));
    t.is(mail.length, 1);
    t.true(mail[0]!.endsWith('Subject: sched\n\nscheduled\n'));
    t.deepEqual(lockFiles(path.join(hub.spool, 'uucp')), [], 'the answering side left no LCK files');
  } finally {
    if (answering.exitCode === null) answering.kill('SIGTERM');
    await pty.stop();
  }
});
