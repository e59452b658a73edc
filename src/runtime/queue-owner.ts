// Taking ownership of the queue: the LevelDB index, the router and every transport,
// bound to one gateway. Only queue runners (runq, the daemon, foreground delivery)
// load this; rmail and the SMTP server only hand messages over (gateway.ts).
import { QueueIndex } from '../queue/index-db.js';
import { QueueRunner } from '../queue/runner.js';
import { openRouter, type OpenRouter } from './routing.js';
import { fileTransport, maildirTransport, mboxTransport } from '../deliver/local.js';
import { createUuxTransport } from '../deliver/uux.js';
import { createSmtpTransport } from '../deliver/smtp.js';
import { createBsmtpTransport } from '../deliver/bsmtp.js';
import { maildirSmtpTransport } from '../deliver/maildir-smtp.js';
import { createAccountTransport, aliasPipeTransport } from '../deliver/lspawn.js';
import type { DeliveryJob, Transport, World } from '../deliver/transport.js';
import { rewriteForWorld } from '../route/world-rewrite.js';
import type { AddressRouter } from '../route/types.js';
import { transportContext, type Gateway } from './gateway.js';

/** Every transport, bound to this gateway's spool and configuration. */
export function defaultTransports(gw: Gateway): Transport[] {
  const ctx = transportContext(gw);
  return [maildirTransport, mboxTransport, fileTransport, aliasPipeTransport(gw.cfg.alias_user, gw.loc), createUuxTransport(ctx), createSmtpTransport(ctx), createBsmtpTransport(ctx), maildirSmtpTransport, createAccountTransport(gw.loc)];
}

export interface OpenQueue {
  runner: QueueRunner;
  index: QueueIndex;
  close(): Promise<void>;
}

export interface QueueOptions {
  transports?: Transport[];
  router?: AddressRouter;
  /** Routing tables already opened (a reload vets them before giving up the old queue). */
  routing?: OpenRouter;
}

/** Takes ownership of the queue (the LevelDB lock) and reconciles it with the spool. */
export async function openQueue(gw: Gateway, opts: QueueOptions = {}): Promise<OpenQueue> {
  const routing = opts.router ? undefined : (opts.routing ?? (await openRouter(gw)));
  const close = async (): Promise<void> => {
    await routing?.close();
    await index?.close();
  };
  let index: QueueIndex | undefined;
  try {
    index = await QueueIndex.open(gw.spool.db);
    const transports = new Map((opts.transports ?? defaultTransports(gw)).map((t) => [t.name, t]));
    const site = routing?.tables.site;
    const rewrite = site ? (job: DeliveryJob, world: World) => rewriteForWorld(job, world, site, gw.cfg) : undefined;
    const runner = new QueueRunner({ cfg: gw.cfg, spool: gw.spool, index, router: opts.router ?? routing!.router, transports, log: gw.log, clock: gw.clock, rewrite });
    await runner.rebuild();
    return { runner, index, close };
  } catch (err) {
    await close();
    throw err;
  }
}
