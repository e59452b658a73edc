// What happens once a message is durable: delivery_mode decides whether we deliver
// now (foreground), in a detached child (background) or leave it to the queue
// runner (queued). A running daemon owns the queue; it is nudged instead.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PACKAGE_ROOT } from '../config/locations.js';
import { daemonPid, type Gateway } from './gateway.js';
import { GatewayError } from '../util/errors.js';

/**
 * `awaitRunner`: in background mode, resolve once the runner has exited.
 * A long-lived server passes it, so that it starts one runner at a time:
 * runners started together fight over the queue lock, and the ids of the
 * ones that lose wait for the next queue run.
 */
export async function deliverAccepted(gw: Gateway, ids: string[], opts: { awaitRunner?: boolean } = {}): Promise<void> {
  const mode = gw.cfg.queue_only ? 'queued' : gw.cfg.delivery_mode;
  const pid = await daemonPid(gw);
  if (pid) {
    process.kill(pid, 'SIGUSR1');
    return;
  }
  if (mode === 'foreground') await deliverNow(gw, ids);
  else if (mode === 'background') {
    const exited = spawnRunner(gw, ids);
    if (opts.awaitRunner) await exited;
  }
}

async function deliverNow(gw: Gateway, ids: string[]): Promise<void> {
  try {
    const { runQueue } = await import('./runq.js'); // the queue runner, only when delivering now
    await runQueue(gw, { ids });
  } catch (err) {
    if (err instanceof GatewayError && err.temporary) return; // someone else owns the queue; it will deliver
    throw err;
  }
}

/** Resolves when the detached runner has exited (or could not start). */
function spawnRunner(gw: Gateway, ids: string[]): Promise<void> {
  const child = spawn(
    process.execPath,
    [path.join(PACKAGE_ROOT, 'bin/uugate'), 'runq', '--config', gw.loc.configDir, '--uucp', gw.loc.uucpDir, '--spool', gw.loc.spoolDir, '--quiet', ...ids.flatMap((id) => ['--id', id])],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
  return new Promise((resolve) => {
    child.once('error', () => resolve());
    child.once('exit', () => resolve());
  });
}
