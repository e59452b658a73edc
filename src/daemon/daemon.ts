// The gateway daemon: owns the queue, runs it every queue_interval and as soon as
// a message arrives (incoming/ is watched; SIGUSR1 also nudges), reloads its
// configuration on SIGHUP and finishes in-flight work before exiting on SIGTERM.
// Other services (SMTP listener, UUCP call scheduler) plug in as DaemonService.
import { watch, promises as fsp, type FSWatcher } from 'node:fs';
import { daemonPid, type Gateway } from '../runtime/gateway.js';
import { openQueue, type OpenQueue, type QueueOptions } from '../runtime/queue-owner.js';
import { openRouter } from '../runtime/routing.js';
import type { QueueIndex } from '../queue/index-db.js';
import { loadMailConfig } from '../config/mail-config.js';
import { uucpConfigOnce } from '../config/uucp/load.js';
import { GatewayError, EX } from '../util/errors.js';
import { writeFileAtomic } from '../util/durable.js';

export interface DaemonService {
  name: string;
  start(d: Daemon): Promise<string>; // returns a one-line description for the start-up summary
  stop(): Promise<void>;
  reload?(gw: Gateway): Promise<void>;
  /** Live figures for the metrics (e.g. open connections), by name. */
  figures?(): Record<string, number>;
  /** Started only after a root-started daemon has become the gateway user (it works in the spool, binds nothing). */
  unprivileged?: boolean;
}

export class Daemon {
  private queue?: OpenQueue;
  private interval?: NodeJS.Timeout;
  private watcher?: FSWatcher;
  private running?: Promise<void>;
  private again = false;
  private stopping = false;
  private paused = false;
  private started = false;

  constructor(
    public gw: Gateway,
    private readonly services: DaemonService[] = [],
    private readonly queueOpts: QueueOptions = {},
    private readonly out: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
    /** Called once the services listen: a root-started daemon becomes the gateway user there; returns a line for the summary. */
    private readonly afterListen: () => string | undefined = () => undefined,
  ) {}

  async start(): Promise<void> {
    const other = await daemonPid(this.gw);
    if (other) throw new GatewayError(`a uugate daemon (pid ${other}) already runs on spool ${this.gw.spool.root}`, { exitCode: EX.TEMPFAIL });
    // Services first: they bind the ports, which may need root; then root is
    // given up (afterListen) before the queue, its index and the pid file are made.
    const serviceLines: string[] = [];
    const startAll = async (unprivileged: boolean): Promise<void> => {
      for (const s of this.services) if (!!s.unprivileged === unprivileged) serviceLines.push(`  ${s.name}: ${await s.start(this)}`);
    };
    await startAll(false);
    const dropped = this.afterListen();
    this.queue = await openQueue(this.gw, this.queueOpts);
    await writeFileAtomic(this.gw.spool.pidFile, `${process.pid}\n`, 0o644);
    await startAll(true);
    const lines = [`uugate daemon pid ${process.pid}`, ...(dropped ? [`  ${dropped}`] : []), `  spool ${this.gw.spool.root}`, `  config ${this.gw.loc.configDir}, uucp ${this.gw.loc.uucpDir}`, `  queue run every ${this.gw.cfg.queue_interval}s and on arrival`, ...serviceLines];
    this.started = true;
    lines.forEach((l) => this.out(l));
    this.gw.log.log({ event: 'info', reason: `daemon started, pid ${process.pid}` });
    this.interval = setInterval(() => this.kick(), this.gw.cfg.queue_interval * 1000);
    this.watcher = watch(this.gw.spool.incoming, () => this.kick());
    this.kick();
  }

  /** The queue index while the daemon owns it (for the status page). */
  get queueIndex(): QueueIndex | undefined {
    return this.queue?.index;
  }

  /** Every service's live figures. */
  figures(): Record<string, number> {
    return Object.assign({}, ...this.services.map((s) => s.figures?.() ?? {}));
  }

  /** Requests a queue run; runs coalesce, and a request during a run causes one more. */
  kick(): void {
    if (this.stopping || !this.started) return;
    if (this.running || this.paused) {
      this.again = true;
      return;
    }
    this.running = this.runOnce().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async runOnce(): Promise<void> {
    try {
      await this.queue!.runner.runDue();
    } catch (err) {
      // A temporary failure (a full disk) is one line; anything else is a bug worth its stack.
      if (err instanceof GatewayError && err.temporary) this.gw.log.log({ event: 'info', reason: err.message });
      else this.gw.log.panic(`queue run failed: ${(err as Error).stack ?? err}`);
    }
  }

  /**
   * SIGHUP: re-read the configuration; a broken or unsafe file is reported and
   * the old configuration kept. The mail settings, the routing tables and the
   * uucp/ files are read before the old queue is let go, so a refusal leaves
   * everything running as it was.
   */
  async reload(): Promise<void> {
    if (!this.started) return; // start-up is reading the configuration anyway
    try {
      const cfg = await loadMailConfig(this.gw.loc.configDir, this.gw.loc.spoolDir);
      // A fresh uucp/ source: the new gateway reads the files again (here, as a check).
      const gw = { ...this.gw, cfg, uucp: uucpConfigOnce(this.gw.loc.uucpDir) };
      await gw.uucp();
      const routing = this.queueOpts.router ? undefined : await openRouter(gw);
      this.gw = gw;
      this.paused = true;
      await this.running;
      await this.queue!.close();
      this.queue = await openQueue(this.gw, { ...this.queueOpts, routing });
      this.paused = false;
      for (const s of this.services) await s.reload?.(this.gw);
      this.kick();
      this.out('configuration reloaded');
      this.gw.log.log({ event: 'info', reason: 'configuration reloaded' });
    } catch (err) {
      this.paused = false;
      this.out(`reload failed, keeping the old configuration: ${(err as Error).message}`);
      this.gw.log.panic(`reload failed: ${(err as Error).message}`);
    }
  }

  /** SIGTERM: stop taking work, let the current run finish, release everything. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.interval);
    this.watcher?.close();
    for (const s of this.services) await s.stop();
    await this.running;
    await this.queue?.close();
    await fsp.unlink(this.gw.spool.pidFile).catch(() => undefined);
    this.gw.log.log({ event: 'info', reason: 'daemon stopped' });
  }
}

export async function runDaemon(gw: Gateway, services: DaemonService[] = [], afterListen?: () => string | undefined): Promise<void> {
  const d = new Daemon(gw, services, {}, undefined, afterListen);
  // Listening before start() announces the daemon: a signal nobody listens to kills it.
  process.on('SIGUSR1', () => d.kick());
  process.on('SIGHUP', () => void d.reload());
  await d.start();
  await new Promise<void>((resolve) => {
    const stop = (): void => void d.stop().then(resolve);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
