// Dial-up over a socat pty pair with the test Hayes modem emulator on the far
// end: dial, login chat, g session with our `uugate uucico -l` behind the
// modem, hang-up with +++ATH (DTR cannot be dropped on a pty). BUSY and NO
// DIALTONE record a failed call with a retry; bad devices, chat syntax errors
// and a dead modem give precise reasons.
import test from 'ava';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeSite, flags, maildirMessages, UUGATE, type Site } from '../helpers/site.js';
import { ptyPair, tempRoot, SOCAT } from '../helpers/taylor.js';
import { ModemEmulator } from '../helpers/modem-emulator.js';
import { lockFiles, mailAndCall, modemHubSite } from '../helpers/modem-sites.js';
import { loadGateway } from '../../src/runtime/gateway.js';
import { callSystem } from '../../src/uucp/uucico.js';
import { uucicoContext } from '../../src/inject/uucico.js';
import { readStatus, STATUS } from '../../src/uucp/status.js';

const DIAL = `dialer hayes
chat "" ATZ OK ATDT\\T CONNECT
chat-timeout 5
chat-fail BUSY
chat-fail NO\\sCARRIER
chat-fail NO\\sDIALTONE
chat-fail NO\\sANSWER
chat-fail ERROR
complete \\p+++\\p\\pATH\\r\\c
abort \\p+++\\p\\pATH\\r\\c
dtr-toggle true

dialer quick
chat "" ATZ OK ATDT\\T CONNECT
chat-timeout 1

dialer broken
chat "" ATZ OK ATDT\\q CONNECT
`;

function leafSite(devA: string, devDead: string): Site {
  const leaf = makeSite({ conf: { smart_path: 'hub' } });
  const sys = (name: string, port: string, phone: string): string =>
    `system ${name}\ntime Any\nport ${port}\nphone ${phone}\ncall-login Uleaf\ncall-password pw\nchat ogin: \\L word: \\P\ncommands rmail\nretry-time 5\n`;
  writeFileSync(path.join(leaf.uucp, 'sys'), [
    sys('hub', 'modem1', 'LOC1234'), sys('busy', 'modem1', '5550000'), sys('nodial', 'modem1', '5550001'),
    sys('nodev', 'nodev', '1'), sys('broken', 'broken', '1'), sys('dead', 'dead', '1'),
  ].join('\n'));
  writeFileSync(path.join(leaf.uucp, 'port'), [
    `port modem1\ntype modem\ndevice ${devA}\nspeed 9600\ndialer hayes\n`,
    `port nodev\ntype modem\ndevice /dev/ttyNOPE9\ndialer hayes\n`,
    `port broken\ntype modem\ndevice ${devA}\ndialer broken\n`,
    `port dead\ntype modem\ndevice ${devDead}\ndialer quick\n`,
  ].join('\n'));
  writeFileSync(path.join(leaf.uucp, 'dial'), DIAL);
  // hub's phone LOC1234 is dialed as 5551234 through \T.
  writeFileSync(path.join(leaf.uucp, 'dialcode'), 'LOC 555\n');
  return leaf;
}

const haveSocat = existsSync(SOCAT);

(haveSocat ? test.serial : test.skip)('modem: dial, CONNECT, login, session with uucico -l behind the modem, +++ATH hang-up', async (t) => {
  const root = await tempRoot('uumodem-');
  const pty = await ptyPair(root);
  const hub = modemHubSite();
  const leaf = leafSite(pty.a, '/nonexistent');
  const modem = new ModemEmulator({
    device: pty.b,
    numbers: { '5551234': 'connect', '5550000': 'busy', '5550001': 'no-dialtone' },
    remote: { argv: [process.execPath, UUGATE, 'uucico', '-l'], env: hub.env },
  });
  await modem.start();
  try {
    const { ctx, result: r } = await mailAndCall(leaf);
    t.true(r.ok, `${r.error?.message}\n${modem.log.join('\n')}`);
    t.is(r.stats.filesSent, 2, 'data and execute file');
    t.true(modem.log.includes('< ATZ'));
    t.true(modem.log.includes('< ATDT5551234'), `LOC1234 through uucp/dialcode:\n${modem.log.join('\n')}`);
    t.true(modem.log.includes('> CONNECT 9600'));
    for (let i = 0; i < 50 && modem.hangups === 0; i++) await new Promise((res) => setTimeout(res, 100));
    t.is(modem.hangups, 1, `hung up with ATH:\n${modem.log.join('\n')}`);
    t.is(await modem.remoteExit, 0, modem.log.join('\n'));
    const mail = maildirMessages(path.join(hub.spool, 'mail/bob'));
    t.is(mail.length, 1);
    t.true(mail[0]!.endsWith('Subject: sched\n\nscheduled\n'));
    t.like(await readStatus(ctx.spoolDir, 'hub'), { code: STATUS.COMPLETE, retries: 0 });
    t.deepEqual(lockFiles(ctx.lockDir), [], 'no LCK.. left for the system or the device');

    // BUSY and NO DIALTONE: a failed call, the modem's answer, a retry in the status file.
    for (const [sys, said] of [['busy', 'BUSY'], ['nodial', 'NO DIALTONE']] as const) {
      const before = Date.now();
      const f = await callSystem(ctx, sys);
      t.false(f.ok);
      t.regex(f.error!.message, new RegExp(`dial failed: the modem said "${said}"`));
      const st = (await readStatus(ctx.spoolDir, sys))!;
      t.is(st.code, STATUS.DIAL_FAILED);
      t.regex(st.text, new RegExp(said));
      t.is(st.retries, 1);
      t.true(st.extra.nextCallTime! >= before + 5 * 60_000 - 1000, 'retry-time 5 minutes');
      t.is(st.extra.attempts!.length, 1);
      const again = await callSystem(ctx, sys);
      t.is(again.skipped, 'retry time not reached');
    }
    t.deepEqual(lockFiles(ctx.lockDir), []);
  } finally {
    await modem.stop();
    await pty.stop();
  }
});

(haveSocat ? test.serial : test.skip)('modem: a missing device names it and the errno; a chat syntax error names dial:line; a dead modem times out', async (t) => {
  const root = await tempRoot('uumodem2-');
  const pty = await ptyPair(root);
  const leaf = leafSite(pty.a, pty.a);
  const modem = new ModemEmulator({ device: pty.b, numbers: {}, mute: true });
  await modem.start();
  try {
    const ctx = await uucicoContext(await loadGateway(flags(leaf)));
    const nodev = await callSystem(ctx, 'nodev');
    t.regex(nodev.error!.message, /cannot open \/dev\/ttyNOPE9: ENOENT/);
    t.regex((await readStatus(ctx.spoolDir, 'nodev'))!.text, /\/dev\/ttyNOPE9: ENOENT/);

    await t.throwsAsync(callSystem(ctx, 'broken'), { message: new RegExp(`${leaf.uucp}/dial:18: dialer broken: chat: "ATDT\\\\q": unknown escape \\\\q`) });
    t.is(await readStatus(ctx.spoolDir, 'broken'), null, 'a configuration error is not a failed call');

    const dead = await callSystem(ctx, 'dead');
    t.false(dead.ok);
    t.regex(dead.error!.message, /dial failed: timed out waiting for "OK"/);
    const st = (await readStatus(ctx.spoolDir, 'dead'))!;
    t.is(st.code, STATUS.DIAL_FAILED);
    t.regex(st.text, /timed out waiting for "OK"/);
    t.true(modem.log.some((l) => l.includes('ATZ')), 'ATZ reached the modem');
    t.deepEqual(lockFiles(ctx.lockDir), []);
  } finally {
    await modem.stop();
    await pty.stop();
  }
});
