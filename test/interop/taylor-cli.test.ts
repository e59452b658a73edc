// The uugate uucico command against Taylor UUCP 1.07, as child processes:
// `uucico -S` with a debug trace, `--slave --stdio` started by Taylor's pipe
// port (running as user uucp), `--listen`, and the usage errors.
import test from 'ava';
import { spawn } from 'node:child_process';
import { promises as fsp, writeFileSync } from 'node:fs';
import path from 'node:path';
import { queueExecution } from '../../src/uucp/uux.js';
import { makeSite, maildirMessages, run, UUGATE, freePort } from '../helpers/site.js';
import {
  UUCICO, UUX, UUXQT, giveToUucp, requireTaylor, rmailRuns, runTaylor, spawnTaylor, taylorListens, taylorLog, taylorSite, tempRoot, waitListening,
} from '../helpers/taylor.js';

test.before(() => requireTaylor(false));

test.serial('uugate uucico -S hub -x ... calls Taylor over TCP and writes a trace', async (t) => {
  const root = await tempRoot('uucli1-');
  const port = await freePort();
  const hub = await taylorSite(root, 'hub', {
    sys: `system leaf\ncalled-login Uleaf\ncommands rmail\ncommand-path ${path.join(root, 'hub/bin')}\n`,
    passwd: 'Uleaf pw\n',
  });
  const site = makeSite();
  writeFileSync(path.join(site.uucp, 'sys'), `system hub\naddress 127.0.0.1\nport type tcp\nport service ${port}\ncall-login Uleaf\ncall-password pw\nchat ogin: \\L word: \\P\n`);
  const body = Buffer.from('From alice Fri Nov 27 10:00:00 2026 remote from leaf\nSubject: cli\n\nhi\n');
  await queueExecution({ spoolDir: path.join(site.spool, 'uucp'), system: 'hub', localName: 'leaf', command: 'rmail', args: ['bob'], stdin: body });
  giveToUucp(root);
  // No `time` line means Never: -s declines, -S calls anyway.
  const declined = await run(site, ['uucico', '-s', 'hub']);
  t.is(declined.code, 75);
  t.regex(declined.stderr, /not called: wrong time to call/);
  const taylor = await taylorListens(hub, port);
  const trace = path.join(site.dir, 'debug');
  const r = await run(site, ['uucico', '-S', 'hub', '-x', 'chat,handshake,uucp-proto,proto', '--debug-file', trace]);
  await taylor.done;
  t.is(r.code, 0, `${r.stderr}\n${await taylorLog(hub)}`);
  const dbg = await fsp.readFile(trace, 'latin1');
  t.regex(dbg, /chat: got "ogin:"/);
  t.regex(dbg, /handshake: sending "Sleaf -R -N07 -Yuugate"/);
  t.regex(dbg, /handshake: got "ROKN/);
  t.regex(dbg, /uucp-proto: sending "S D\.0001 D\.leafN0001 /);
  // No protocol configured on either side: i is preferred, and Taylor offers it.
  t.regex(dbg, /handshake: got "P[a-z]*i[a-zA-Z]*"\n[^\n]*handshake: sending "Ui"/);
  t.regex(dbg, /proto: starting i as master/);
  t.is(runTaylor(UUXQT, ['-I', hub.conf]).status, 0);
  t.deepEqual((await rmailRuns(hub))[0], Buffer.concat([Buffer.from('ARGS: [bob]\n'), body]));
});

test.serial('Taylor runs `uugate uucico --slave --stdio` through a pipe port (as user uucp); mail reaches our maildir', async (t) => {
  const root = await tempRoot('uucli2-');
  // Our uucico runs as uucp, which owns the site: it is the gateway user here.
  const site = makeSite({ conf: { gateway_user: 'uucp' } });
  writeFileSync(path.join(site.uucp, 'sys'), 'system hub\ncommands rmail\n');
  const hub = await taylorSite(root, 'hub', {
    sys: `system leaf\ntime any\nport type pipe\nport command ${process.execPath} ${UUGATE} uucico --slave --stdio --config ${site.config} --uucp ${site.uucp} --spool ${site.spool}\nchat ""\nprotocol g\n`,
  });
  giveToUucp(root, site.dir);
  const msg = 'From dave Fri Nov 27 12:00:00 2026 remote from hub\nSubject: stdio\n\nthrough ssh, one day\n';
  t.is(runTaylor(UUX, ['-I', hub.conf, '-r', '-', 'leaf!rmail', 'bob'], msg).status, 0);
  const code = await spawnTaylor(UUCICO, ['-I', hub.conf, '-D', '-q', '-S', 'leaf']).done;
  t.is(code, 0, await taylorLog(hub));
  t.regex(await taylorLog(hub), /Call complete/);
  const mail = maildirMessages(path.join(site.spool, 'mail/bob'));
  t.is(mail.length, 1);
  t.true(mail[0]!.endsWith('Subject: stdio\n\nthrough ssh, one day\n'));
});

test.serial('uugate uucico --listen answers Taylor with a login prompt and stops on SIGTERM', async (t) => {
  const root = await tempRoot('uucli3-');
  const port = await freePort();
  const site = makeSite();
  writeFileSync(path.join(site.uucp, 'sys'), 'system hub\ncalled-login Uhub\ncommands rmail\n');
  writeFileSync(path.join(site.uucp, 'passwd'), 'Uhub pw\n');
  const hub = await taylorSite(root, 'hub', {
    sys: `system leaf\ntime any\nport TCPLEAF\naddress 127.0.0.1\ncall-login Uhub\ncall-password pw\nchat ogin: \\L word: \\P\n`,
    port: `port TCPLEAF\ntype tcp\nservice ${port}\n`,
  });
  giveToUucp(root);
  t.is(runTaylor(UUX, ['-I', hub.conf, '-r', '-', 'leaf!rmail', 'alice'], 'Subject: listen\n\nok\n').status, 0);
  const child = spawn(process.execPath, [UUGATE, 'uucico', '--listen', `127.0.0.1:${port}`], { env: site.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  try {
    await waitListening(port);
    t.is(await spawnTaylor(UUCICO, ['-I', hub.conf, '-D', '-q', '-S', 'leaf']).done, 0, await taylorLog(hub));
    for (let i = 0; i < 100 && maildirMessages(path.join(site.spool, 'mail/alice')).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    t.is(maildirMessages(path.join(site.spool, 'mail/alice')).length, 1);
  } finally {
    child.kill('SIGTERM');
  }
  t.is(await exited, 0, err);
  t.regex(err, new RegExp(`listening on 127\\.0\\.0\\.1:${port}`));
});

test('usage errors: an unknown system, and calling and answering at once', async (t) => {
  const site = makeSite();
  const r = await run(site, ['uucico', '-S', 'nowhere']);
  t.is(r.code, 68);
  t.regex(r.stderr, /unknown system "nowhere"/);
  const both = await run(site, ['uucico', '-s', 'hub', '--listen', '9999']);
  t.is(both.code, 64);
  const none = await run(site, ['uucico']);
  t.is(none.code, 64);
});
