// uucico: call other systems or answer their calls. Thin wrapper over
// src/uucp/uucico.ts; the options follow Taylor's uucico where they overlap.
//
//   uugate uucico -s SYS | -S SYS [-f]    call SYS now (-S: ignore time and retry wait)
//   uugate uucico -r1                     call every system with work waiting
//   uugate uucico -l [-p PORT]            answer: login prompt on PORT, or on stdin/stdout
//   uugate uucico --slave --stdio         answer on stdin/stdout, already authenticated
//   uugate uucico --listen [ADDR:]PORT    answer TCP calls (loopback by default)
//   -x N | -x cat,cat [--debug-file F]    trace (abnormal chat handshake uucp-proto proto port ...)
//   -q                                    do not run uuxqt after the session
import type { Command } from 'commander';
import { withLocationFlags } from './command-flags.js';
import { printWarnings } from './run.js';
import { GatewayError, EX, usageError } from '../util/errors.js';
import type { LocationFlags } from '../runtime/gateway.js';

interface UucicoFlags extends LocationFlags {
  system?: string;
  forceSystem?: string;
  force?: boolean;
  role?: string;
  prompt?: boolean;
  port?: string;
  slave?: boolean;
  stdio?: boolean;
  login?: string;
  listen?: string | boolean;
  debug?: string;
  debugFile?: string;
  uuxqt?: boolean;
  verbose?: boolean;
}

/** `[addr:]port`, loopback when no address is given. */
export function parseListen(v: string | boolean | undefined): { host: string; port: number } {
  const s = typeof v === 'string' ? v : '540';
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d+)$/.exec(s);
  if (!m) throw usageError(`--listen wants [address:]port, not "${s}"`);
  return { host: m[1] || '127.0.0.1', port: Number(m[2]) };
}

export function registerUucicoCommand(program: Command): void {
  withLocationFlags(program.command('status'))
    .description('UUCP systems: last call and result, bytes of the last session, queued jobs, next call')
    .action(async (flags: LocationFlags) => {
      const { loadGateway } = await import('../runtime/gateway.js');
      const { systemReport } = await import('../uucp/uustat.js');
      const path = await import('node:path');
      const gw = await loadGateway(flags);
      const uucp = await gw.uucp();
      printWarnings('status', uucp.warnings);
      process.stdout.write(await systemReport(path.join(gw.loc.spoolDir, 'uucp'), [...uucp.systems.keys()], gw.clock()));
    });

  withLocationFlags(program.command('uucico'))
    .description('UUCP transfers: call a system (-s/-S/-r1) or answer a call (-l, --stdio, --listen)')
    .option('-s, --system <system>', 'call this system (respecting its time strings and retry wait)')
    .option('-S <system>', 'call this system now, ignoring time strings and the retry wait')
    .option('-f, --force', 'ignore time strings and the retry wait')
    .option('-r, --role <n>', '1: call every system with work (master); 0: answer (slave)')
    .option('-l, --prompt', 'answer with a login: / Password: prompt')
    .option('-p, --port <port>', 'port (from uucp/port) to answer on with -l')
    .option('--slave', 'answer a call')
    .option('--stdio', 'on stdin/stdout, already authenticated (ssh, inetd)')
    .option('--login <name>', 'the login the caller used (checked against called-login)')
    .option('--listen [address]', 'accept calls over TCP on [addr:]port (default 127.0.0.1:540)')
    .option('-x, --debug <categories>', 'trace: a number or a list (abnormal,chat,handshake,uucp-proto,proto,port,...)')
    .option('--debug-file <file>', 'write the trace here instead of stderr')
    .option('-q, --no-uuxqt', 'do not run uuxqt after the session')
    .option('-D, --nodetach', 'accepted for Taylor compatibility (we never detach)')
    .option('-v, --verbose', 'print log lines on stderr')
    .action(async (flags: UucicoFlags & { S?: string }) => {
      await runUucicoCommand({ ...flags, forceSystem: flags.S });
    });
}

async function runUucicoCommand(f: UucicoFlags): Promise<void> {
  const { loadGateway } = await import('../runtime/gateway.js');
  const uucico = await import('../uucp/uucico.js');
  const { Trace, parseDebug } = await import('../uucp/trace.js');
  const cats = f.debug ? parseDebug(f.debug) : new Set<never>();
  const trace = f.debugFile ? Trace.toFile(cats, f.debugFile) : new Trace(cats);
  const gw = await loadGateway(f);
  const { progressFor } = await import('../uucp/progress.js');
  const progress = await progressFor(process.stderr);
  const { uucicoContext } = await import('../inject/uucico.js');
  const ctx = await uucicoContext(gw, { trace, uuxqt: f.uuxqt !== false, verbose: f.verbose, progress });
  printWarnings('uucico', ctx.uucp.warnings);

  const answering = f.prompt || f.slave || f.stdio || f.listen !== undefined || f.role === '0';
  const calling = f.system || f.forceSystem || f.role === '1';
  if (answering && calling) throw usageError('either call (-s, -S, -r1) or answer (-l, --slave, --listen), not both');

  if (f.listen !== undefined) {
    const where = parseListen(f.listen);
    const server = await uucico.listenTcp(ctx, where);
    const addr = server.address();
    process.stderr.write(`uucico: listening on ${typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : where.port}\n`);
    // `on`, not `once`: lock.ts re-raises a signal nobody else listens to,
    // which would kill us before the server has closed.
    // (They stay registered until the server has closed, for the same reason.)
    let stop = (): void => undefined;
    await new Promise<void>((resolve) => {
      stop = (): void => void server.close(() => resolve());
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    return;
  }

  if (answering) {
    let port;
    if (f.port) {
      const entry = ctx.uucp.ports.get(f.port);
      if (!entry) throw new GatewayError(`port "${f.port}" is not in uucp/port`, { exitCode: EX.CONFIG });
      const { openPortEntry } = await import('../uucp/port/open.js');
      port = await openPortEntry(entry, { lockDir: ctx.lockDir, dialers: ctx.uucp.dialers, trace, answer: true });
    } else {
      const { openStdioPort } = await import('../uucp/port/stdio.js');
      port = openStdioPort();
      // A caller that ran us (Taylor's pipe port, sshd) sends SIGHUP and SIGPIPE
      // when it hangs up, SIGKILL 4 s later. The line's end is seen on stdin
      // anyway; keep running so received executions are handed to uuxqt.
      const ignore = (): void => undefined;
      process.on('SIGHUP', ignore);
      process.on('SIGPIPE', ignore);
    }
    // -l (and plain -r0) prompt for a login; --stdio trusts whoever started us.
    const prompt = !!f.prompt || (!f.stdio && !f.slave);
    const r = await uucico.answerCall(ctx, port, { prompt, login: f.login });
    if (!r.ok) throw new GatewayError(`incoming call${r.system ? ` from ${r.system}` : ''} failed: ${r.error?.message ?? 'unknown error'}`, { exitCode: r.error?.exitCode ?? EX.TEMPFAIL });
    return;
  }

  if (f.system || f.forceSystem) {
    const name = (f.forceSystem ?? f.system)!;
    const r = await uucico.callSystem(ctx, name, { force: !!f.forceSystem || !!f.force });
    if (r.skipped) throw new GatewayError(`${name} not called: ${r.skipped}`, { exitCode: EX.TEMPFAIL });
    if (!r.ok) throw new GatewayError(`call to ${r.system ?? name} failed: ${r.error?.message ?? 'unknown error'}`, { exitCode: EX.TEMPFAIL });
    return;
  }
  if (f.role === '1') {
    const all = await uucico.callSystemsWithWork(ctx, { force: f.force });
    const bad = all.filter((r) => !r.ok && !r.skipped);
    if (bad.length) throw new GatewayError(`calls failed: ${bad.map((r) => `${r.system}: ${r.error?.message ?? ''}`).join('; ')}`, { exitCode: EX.TEMPFAIL });
    return;
  }
  throw usageError('say what to do: -s SYSTEM, -S SYSTEM, -r1, -l, --slave --stdio or --listen');
}
