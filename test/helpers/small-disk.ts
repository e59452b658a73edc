// A small tmpfs for full-disk tests. Mounting needs root (CI has it); where it
// cannot be done the tests are registered as skipped and say why on stdout.
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function probe(): string | undefined {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uugate-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir]);
    return undefined;
  } catch (err) {
    return `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]}); full-disk tests need root`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const whyNot = probe();

/** Registers a full-disk test, or a skipped one that prints why it cannot run. */
export function diskTest(title: string, body: (t: ExecutionContext) => Promise<void>): void {
  if (!whyNot) return void test(title, body);
  console.log(`skipped "${title}": ${whyNot}`);
  test.skip(title, body);
}

/** Mounts a tmpfs of `size` (e.g. '64k') at `dir` (created) for the rest of test `t`. */
export function mountSmall(t: ExecutionContext, dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  t.teardown(() => execFileSync('umount', ['-l', dir]));
}

/** Grows a mounted tmpfs, as an administrator freeing space would. */
export function growSmall(dir: string, size: string): void {
  execFileSync('mount', ['-o', `remount,size=${size}`, dir]);
}
