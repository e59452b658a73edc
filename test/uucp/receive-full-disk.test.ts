// A file received over UUCP meets a full disk (hardening finding 2): the
// receiver never confirms a file it could not store (here refused up front by
// the free-space check), the caller keeps its job, and once there is room the
// next call brings the message whole and runs the execute file that waited for it.
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, makeSite, maildirMessages, run, waitFor } from '../helpers/site.js';
import { diskTest, growSmall, mountSmall } from '../helpers/small-disk.js';
import { UUGATE } from '../helpers/site.js';

const BODY = `${'line of a long message '.repeat(3)}\n`.repeat(2500); // about 170 KB

diskTest('uucico: a received file the disk cannot hold is not confirmed; the caller keeps the job and a later call delivers it whole', async (t) => {
  const port = await freePort();
  const hub = makeSite({ conf: { hostnames: 'hub:hub.example.org', visible_name: 'hub.example.org', uucp_name: 'hub' } });
  writeFileSync(path.join(hub.uucp, 'sys'), 'system leaf\ncalled-login Uleaf\ncommands rmail\n');
  writeFileSync(path.join(hub.uucp, 'passwd'), 'Uleaf pw\n');
  const hubUucp = path.join(hub.spool, 'uucp');
  mountSmall(t, hubUucp, '64k');
  const leaf = makeSite({ conf: { delivery_mode: 'queued', smart_path: 'hub', smtp_listen: '' } });
  writeFileSync(path.join(leaf.uucp, 'sys'), `system hub\ntime Any\naddress 127.0.0.1\nservice ${port}\ncall-login Uleaf\ncall-password pw\nchat ogin: \\L word: \\P\ncommands rmail\n`);
  const listener = spawn(process.execPath, [UUGATE, 'uucico', '--listen', `127.0.0.1:${port}`], { env: hub.env, stdio: 'ignore' });
  t.teardown(() => listener.kill('SIGTERM'));
  t.is((await run(leaf, ['rmail', 'hub!bob'], `From alice Fri Nov 27 12:00:00 2026\nSubject: big\n\n${BODY}`)).code, 0);
  t.is((await run(leaf, ['runq'])).code, 0);
  const waiting = async (): Promise<string> => (await run(leaf, ['uustat', '-a'])).stdout;
  t.regex(await waiting(), /hub/);
  await waitFor(() => false, 500); // the listener is up
  await run(leaf, ['uucico', '-S', 'hub']);
  t.regex(await waiting(), /hub/, 'the job is still queued at the caller');
  // An X. file may wait for its data file; no data file arrived short, nothing ran.
  t.false(readdirSync(hubUucp, { recursive: true }).some((f) => String(f).startsWith('leaf/D.')), 'no short data file');
  t.deepEqual(maildirMessages(path.join(hub.spool, 'mail/bob')), []);
  growSmall(hubUucp, '4m');
  const again = await run(leaf, ['uucico', '-S', 'hub']);
  t.is(again.code, 0, again.stderr);
  // The X. file came in the first call; the call that brings its data runs uuxqt.
  t.true(await waitFor(() => maildirMessages(path.join(hub.spool, 'mail/bob')).length === 1));
  t.true(maildirMessages(path.join(hub.spool, 'mail/bob'))[0].endsWith(`Subject: big\n\n${BODY}`), 'byte for byte');
  t.notRegex(await waiting(), /hub/);
});
