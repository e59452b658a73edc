// HDB lock files: format, stale and live locks, release on SIGTERM, unwritable dirs.
import test from 'ava';
import { promises as fsp } from 'node:fs';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireLock, lockDevice, lockSystem, lockFileContent, parseLockPid, heldLocks } from '../../src/uucp/lock.js';
import { openDirectPort } from '../../src/uucp/port/direct.js';

const tmp = (): Promise<string> => fsp.mkdtemp(path.join(os.tmpdir(), 'uulock-'));
const lockJs = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/uucp/lock.js');

/** A PID that is certainly not running: a child that has exited. */
async function deadPid(): Promise<number> {
  const p = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => p.on('exit', r));
  return p.pid!;
}

test('lock file content is exactly %10d\\n', async (t) => {
  t.is(lockFileContent(1234), '      1234\n');
  t.is(lockFileContent(4294967), '   4294967\n');
  const dir = await tmp();
  const r = await lockSystem(dir, 'hub');
  t.true(r.ok);
  const text = await fsp.readFile(path.join(dir, 'LCK..hub'), 'latin1');
  t.is(text, `${String(process.pid).padStart(10)}\n`);
  t.is(text.length, 11);
  t.deepEqual(await fsp.readdir(dir), ['LCK..hub'], 'temp file removed');
  if (r.ok) await r.lock.release();
  t.deepEqual(await fsp.readdir(dir), []);
});

test('device lock uses the basename', async (t) => {
  const dir = await tmp();
  const r = await lockDevice(dir, '/dev/ttyS3');
  t.true(r.ok);
  t.true((await fsp.readdir(dir)).includes('LCK..ttyS3'));
  if (r.ok) await r.lock.release();
});

test('stale lock (dead pid) is removed and taken', async (t) => {
  const dir = await tmp();
  const pid = await deadPid();
  await fsp.writeFile(path.join(dir, 'LCK..hub'), lockFileContent(pid));
  const r = await lockSystem(dir, 'hub');
  t.true(r.ok);
  t.is(await fsp.readFile(path.join(dir, 'LCK..hub'), 'latin1'), lockFileContent(process.pid));
  if (r.ok) await r.lock.release();
  // Garbage contents count as stale too.
  await fsp.writeFile(path.join(dir, 'LCK..hub'), 'garbage');
  const r2 = await lockSystem(dir, 'hub');
  t.true(r2.ok);
  if (r2.ok) await r2.lock.release();
});

test('live locks are respected: our own pid, and pid 1', async (t) => {
  const dir = await tmp();
  const r1 = await lockSystem(dir, 'hub');
  t.true(r1.ok);
  const again = await lockSystem(dir, 'hub');
  t.deepEqual(again, { ok: false, busyPid: process.pid, file: path.join(dir, 'LCK..hub') });
  if (r1.ok) await r1.lock.release();

  await fsp.writeFile(path.join(dir, 'LCK..ttyS0'), lockFileContent(1));
  const r2 = await lockDevice(dir, '/dev/ttyS0');
  t.false(r2.ok);
  if (!r2.ok) t.is(r2.busyPid, 1);
  t.is(await fsp.readFile(path.join(dir, 'LCK..ttyS0'), 'latin1'), lockFileContent(1), 'untouched');
  // V2 binary pid.
  const b = Buffer.alloc(4);
  b.writeInt32LE(1);
  t.is(parseLockPid(b), 1);
});

test('release does not remove a lock that is no longer ours', async (t) => {
  const dir = await tmp();
  const r = await lockSystem(dir, 'hub');
  t.true(r.ok);
  await fsp.writeFile(path.join(dir, 'LCK..hub'), lockFileContent(1));
  if (r.ok) await r.lock.release();
  t.is(await fsp.readFile(path.join(dir, 'LCK..hub'), 'latin1'), lockFileContent(1));
  t.false(heldLocks().includes(path.join(dir, 'LCK..hub')));
});

test('locks are released when a child process is killed with SIGTERM (and on normal exit)', async (t) => {
  const dir = await tmp();
  const run = (exitHow: 'wait' | 'exit'): Promise<{ code: number | null; signal: NodeJS.Signals | null; sawLock: boolean }> =>
    new Promise((resolve) => {
      // The child lists the lock directory itself once it holds both locks.
      const script = `import { readdirSync } from 'node:fs';
import { lockSystem, lockDevice } from ${JSON.stringify(lockJs)};
const a = await lockSystem(process.argv[1], 'hub'); const b = await lockDevice(process.argv[1], '/dev/ttyUSB0');
if (!a.ok || !b.ok) process.exit(3);
console.log('locked ' + readdirSync(process.argv[1]).sort().join(' '));
if (process.argv[2] === 'exit') process.exit(0);
setInterval(() => {}, 1000);`;
      const p = spawn(process.execPath, ['--input-type=module', '-e', script, dir, exitHow], { stdio: ['ignore', 'pipe', 'inherit'] });
      let sawLock = false;
      p.stdout.on('data', (d: Buffer) => {
        if (!d.toString().startsWith('locked')) return;
        sawLock = d.toString().trim() === 'locked LCK..hub LCK..ttyUSB0';
        if (exitHow === 'wait') p.kill('SIGTERM');
      });
      p.on('exit', (code, signal) => resolve({ code, signal, sawLock }));
    });
  const r = await run('wait');
  t.true(r.sawLock, 'child held both locks');
  t.is(r.signal, 'SIGTERM', 'child still dies of the signal');
  t.deepEqual(await fsp.readdir(dir), []);
  const r2 = await run('exit');
  t.true(r2.sawLock);
  t.is(r2.code, 0);
  t.deepEqual(await fsp.readdir(dir), []);
});

test('unwritable lock directory: warning when the flock protects, error otherwise', async (t) => {
  const missing = path.join(await tmp(), 'no', 'such');
  const r = await acquireLock(missing, 'LCK..ttyS1', { flockProtects: true });
  t.true(r.ok);
  if (r.ok) {
    t.regex(r.warning ?? '', /cannot write lock file/);
    await r.lock.release();
  }
  await t.throwsAsync(acquireLock(missing, 'LCK..ttyS1'), { message: /cannot write lock file/ });
  await t.throwsAsync(acquireLock(await tmp(), '../LCK..x'), { message: /bad lock name/ });
});

test('a direct port whose device is missing: the port, the device and errno named; no lock file left', async (t) => {
  const dir = await tmp();
  const err = await t.throwsAsync(openDirectPort('/dev/ttyNOPE7', { label: 'serial1', lockDir: dir, speed: 9600 }));
  t.is(err!.message, 'serial1: cannot open /dev/ttyNOPE7: ENOENT (no such file or directory)');
  t.deepEqual(await fsp.readdir(dir), []);
});
