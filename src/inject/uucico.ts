// uucico as the gateway runs it: the UUCP side (uucp/uucico.ts) places and
// answers calls in a context built here from the gateway (its UUCP
// configuration, spool, lock and public directories, its log) and runs the
// executions a call brought in through the gateway's uuxqt (inject/uuxqt.ts).
import path from 'node:path';
import type { Gateway } from '../runtime/gateway.js';
import type { UucpConfig } from '../config/uucp/types.js';
import type { ProgressSink } from '../uucp/progress.js';
import type { SessionEnv } from '../uucp/session.js';
import { Trace } from '../uucp/trace.js';
import type { UucicoContext } from '../uucp/uucico.js';
import { mkdirp } from '../util/durable.js';
import { runUuxqt } from './uuxqt.js';

export interface UucicoOptions {
  trace?: Trace;
  timeouts?: SessionEnv['timeouts'];
  gOverrides?: SessionEnv['gOverrides'];
  /** false: leave received executions for a later uuxqt run (uucico -q). */
  uuxqt?: boolean;
  /** Also print log lines on stderr. */
  verbose?: boolean;
  progress?: ProgressSink;
}

/** Builds the uucico environment from a loaded gateway: UUCP config, spool, lock and public directories. */
export async function uucicoContext(gw: Gateway, o: UucicoOptions = {}): Promise<UucicoContext> {
  const uucp = await gw.uucp();
  const spoolDir = path.join(gw.loc.spoolDir, 'uucp');
  const trace = o.trace ?? new Trace();
  const ctx: UucicoContext = {
    uucp,
    localName: gw.cfg.uucp_name,
    spoolDir,
    lockDir: uucp.main.lockdir ?? spoolDir,
    pubdir: uucp.main.pubdir ?? path.join(gw.loc.spoolDir, 'uucppublic'),
    trace,
    timeouts: o.timeouts,
    gOverrides: o.gOverrides,
    progress: o.progress,
    record: (rec) => gw.log.log(rec),
    log: (m) => {
      gw.log.log({ event: 'info', reason: `uucico: ${m}` });
      trace.log('abnormal', m);
      if (o.verbose) process.stderr.write(`uucico: ${m}\n`);
    },
  };
  // A fresh spool has no uucp/ yet; locks and received files need it.
  await mkdirp(ctx.spoolDir, 0o755);
  await mkdirp(ctx.lockDir, 0o755);
  if (o.uuxqt !== false) ctx.runUuxqt = (system) => runUuxqtInProcess(gw, system, uucp);
  return ctx;
}

/** Received executions run in-process right after the session (Taylor starts uuxqt the same way). */
async function runUuxqtInProcess(gw: Gateway, system: string, uucp: UucpConfig): Promise<void> {
  await runUuxqt(gw, { system, uucp });
}
