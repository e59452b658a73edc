// The queue manager (qmail-send's job): index hand-overs from incoming/, pick due
// messages, route each pending recipient, hand groups to transports, record every
// outcome (msglog fsync first, then the index), retry on schedule, bounce, clean up.
import { promises as fsp } from 'node:fs';
import { fsyncDir } from '../util/durable.js';
import { GatewayError } from '../util/errors.js';
import { readQueueFile, SpoolLayout, type QueuedMessage } from './spool.js';
import { QueueIndex, type MessageState, type RcptState } from './index-db.js';
import { appendMsglog, readMsglog } from './msglog.js';
import { planRetry } from './schedule.js';
import { sendBounce } from './bounce-send.js';
import { getFields, splitMessage } from '../message/headers.js';
import type { MailConfig } from '../config/mail-config.js';
import type { AddressRouter, ChildRecipient, RouteDecision } from '../route/types.js';
import type { DeliveryJob, DeliveryResult, Route, RoutedRecipient, Transport, World } from '../deliver/transport.js';
import type { Logger } from '../log/logger.js';

export interface RunnerDeps {
  cfg: MailConfig;
  spool: SpoolLayout;
  index: QueueIndex;
  router: AddressRouter;
  transports: Map<string, Transport>;
  log: Logger;
  clock?: () => number;
  /** Envelope/header rewriting for a transport's world (route/world-rewrite.ts). */
  rewrite?: (job: DeliveryJob, world: World) => DeliveryJob;
}

export interface RunSummary {
  messages: number;
  delivered: number;
  deferred: number;
  failed: number;
}

export class QueueRunner {
  private readonly clock: () => number;
  private readonly busy = new Set<string>();

  constructor(private readonly d: RunnerDeps) {
    this.clock = d.clock ?? Date.now;
  }

  /** Moves complete hand-overs from incoming/ into the queue and indexes them. */
  async ingest(): Promise<string[]> {
    const names = (await fsp.readdir(this.d.spool.incoming)).filter((n) => !n.startsWith('.'));
    for (const id of names) {
      await fsp.rename(`${this.d.spool.incoming}/${id}`, this.d.spool.queueFile(id));
    }
    if (names.length) await fsyncDir(this.d.spool.queue);
    for (const id of names) await this.indexNew(id);
    return names;
  }

  private async indexNew(id: string): Promise<void> {
    const { envelope, data } = await readQueueFile(this.d.spool.queueFile(id));
    const state: MessageState = {
      id,
      arrival: envelope.arrival,
      sender: envelope.sender,
      size: data.length,
      attempts: 0,
      nextAttempt: envelope.arrival,
      rcpts: envelope.recipients.map((addr) => ({ addr, state: 'pending', attempts: 0 })),
    };
    await this.d.index.put(state);
    for (const rcpt of envelope.recipients) this.d.log.log({ event: 'received', id, sender: envelope.sender, rcpt, fields: { size: data.length }, reason: envelope.origin });
  }

  /**
   * Reconciles the index with the spool: queue files the index does not know
   * (a crash between rename and index, or a lost database) are indexed again with
   * the outcomes their msglog recorded; index entries without a file are dropped.
   */
  async rebuild(): Promise<void> {
    const files = new Set((await fsp.readdir(this.d.spool.queue)).filter((n) => !n.startsWith('.')));
    for (const id of await this.d.index.allIds()) {
      if (files.has(id)) files.delete(id);
      else await this.d.index.delete((await this.d.index.get(id))!);
    }
    for (const id of files) {
      await this.indexNew(id);
      await this.replayMsglog(id);
    }
  }

  private async replayMsglog(id: string): Promise<void> {
    const state = (await this.d.index.get(id))!;
    const entries = await readMsglog(this.d.spool.msglogFile(id));
    for (const e of entries) {
      if (e.ev === 'expanded' && e.rcpt && e.reason) addChildren(state, e.rcpt, JSON.parse(e.reason));
      const r = state.rcpts.find((x) => x.addr === e.rcpt && x.state === 'pending');
      if (r && (e.ev === 'delivered' || e.ev === 'failed')) Object.assign(r, { state: e.ev, status: e.status, lastError: e.reason });
    }
    state.bounced = entries.some((e) => e.ev === 'bounced');
    await this.d.index.put(state);
  }

  /** Runs every due message once (all of them with `force`), `queue_concurrency` at a time. */
  async runDue(force = false): Promise<RunSummary> {
    await this.ingest();
    const ids = force ? await this.d.index.allIds() : await this.d.index.due(this.clock());
    const summary = emptySummary();
    let next = 0;
    let stopped: unknown;
    // A run that cannot record outcomes (a full disk) starts nothing more.
    const worker = async (): Promise<void> => {
      while (next < ids.length && !stopped) {
        const id = ids[next++];
        try {
          tally(summary, await this.runMessage(id));
        } catch (err) {
          stopped ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.d.cfg.queue_concurrency) }, worker));
    await this.flushTransports();
    if (stopped) throw stopped;
    return summary;
  }

  /** End of a run: transports that batch messages (bsmtp) send what they hold. */
  async flushTransports(): Promise<void> {
    for (const t of this.d.transports.values()) {
      if (!t.flush) continue;
      try {
        await t.flush();
      } catch (err) {
        this.d.log.panic(`transport ${t.name} flush failed: ${(err as Error).stack ?? err}`);
      }
    }
  }

  /** One delivery attempt for every pending recipient of message `id`. */
  async runMessage(id: string): Promise<DeliveryResult[]> {
    if (this.busy.has(id)) return [];
    this.busy.add(id);
    try {
      const state = await this.d.index.get(id);
      if (!state) return [];
      const msg = await readQueueFile(this.d.spool.queueFile(id));
      const results = await this.attempt(state, msg);
      await this.conclude(state, msg);
      return results;
    } finally {
      this.busy.delete(id);
    }
  }

  private async attempt(state: MessageState, msg: QueuedMessage): Promise<DeliveryResult[]> {
    const hops = getFields(splitMessage(msg.data).header, 'Received').length;
    if (hops >= this.d.cfg.max_hop_count) {
      const reason = `too many hops: ${hops} Received: headers (max_hop_count ${this.d.cfg.max_hop_count}), probably a mail loop`;
      return this.record(state, pending(state).map((r) => ({ rcpt: r.addr, outcome: 'perm', status: '5.4.6', reason })), 'hopcount');
    }
    const groups = new Map<string, { transport: Transport; rcpts: RoutedRecipient[] }>();
    const results: DeliveryResult[] = [];
    const { unique, copies } = collapseDuplicates(await this.routeAll(state, results));
    for (const r of unique) {
      const t = this.d.transports.get(r.route.transport);
      if (!t) {
        const out: DeliveryResult[] = [{ rcpt: r.rcpt, outcome: 'temp', status: '4.3.5', reason: `transport ${r.route.transport} is not available` }];
        results.push(...(await this.record(state, withCopies(out, copies), r.route.router)));
        continue;
      }
      const key = `${t.name} ${r.route.nextHop ?? ''} ${senderFor(state, r.rcpt)}`;
      if (!groups.has(key)) groups.set(key, { transport: t, rcpts: [] });
      groups.get(key)!.rcpts.push(r);
    }
    for (const { transport, rcpts } of groups.values()) {
      const t0 = this.clock();
      const out = await this.deliverGroup(transport, msg, rcpts, state);
      results.push(...(await this.record(state, withCopies(out, copies), `${rcpts[0].route.router}/${transport.name}`, this.clock() - t0)));
    }
    return results;
  }

  private async deliverGroup(t: Transport, msg: QueuedMessage, rcpts: RoutedRecipient[], state: MessageState): Promise<DeliveryResult[]> {
    const envelope = { ...msg.envelope, sender: senderFor(state, rcpts[0].rcpt) };
    const job: DeliveryJob = { envelope, data: msg.data, recipients: rcpts };
    try {
      return await t.deliver(this.d.rewrite && t.world ? this.d.rewrite(job, t.world) : job);
    } catch (err) {
      this.d.log.panic(`transport ${t.name} threw: ${(err as Error).stack ?? err}`, { id: state.id });
      return rcpts.map((r) => ({ rcpt: r.rcpt, outcome: 'temp', status: '4.3.0', reason: `transport ${t.name} failed: ${(err as Error).message}` }));
    }
  }

  /** Routes each pending recipient; expansions add children, which are routed in turn. */
  private async routeAll(state: MessageState, results: DeliveryResult[]): Promise<RoutedRecipient[]> {
    const routed: RoutedRecipient[] = [];
    for (let i = 0; i < state.rcpts.length; i++) {
      const r = state.rcpts[i];
      if (r.state !== 'pending') continue;
      const decision = await this.route(r);
      if (decision.kind === 'deliver') routed.push({ rcpt: r.addr, route: decision.route });
      else if (decision.kind === 'expand') await this.expand(state, r, decision);
      else results.push(...(await this.record(state, [{ rcpt: r.addr, outcome: decision.temporary ? 'temp' : 'perm', status: decision.status, reason: decision.reason }], decision.router)));
    }
    return routed;
  }

  private async route(r: RcptState): Promise<RouteDecision> {
    try {
      return await this.d.router.route({ addr: r.addr, provenance: r.provenance ?? 'envelope' });
    } catch (err) {
      this.d.log.panic(`routing ${r.addr}: ${(err as Error).message}`);
      return { kind: 'fail', temporary: true, status: '4.3.5', reason: (err as Error).message, router: 'router', why: [] };
    }
  }

  private async expand(state: MessageState, r: RcptState, d: Extract<RouteDecision, { kind: 'expand' }>): Promise<void> {
    const children = d.children.map((c) => ({ ...c, errorsTo: c.errorsTo ?? r.errorsTo }));
    await appendMsglog(this.d.spool.msglogFile(state.id), { t: this.clock(), ev: 'expanded', rcpt: r.addr, via: d.router, reason: JSON.stringify(children) }).catch((err: Error) => {
      throw runStopped(state.id, err.message, 'nothing was delivered for it');
    });
    addChildren(state, r.addr, children);
    await this.d.index.put(state);
    this.d.log.log({ event: 'expanded', id: state.id, rcpt: r.addr, router: d.router, reason: children.map((c) => c.addr).join(', ') });
    for (const c of children.filter((x) => x.error)) this.d.log.log({ event: 'failed', id: state.id, rcpt: c.addr, router: d.router, status: '5.1.0', reason: c.error });
  }

  /**
   * Writes outcomes: msglog (fsync for final ones) before the index. When the
   * msglog cannot take them (a full disk), the index alone records them, so a
   * delivery done is never done again, and the run stops with a temporary error.
   */
  private async record(state: MessageState, results: DeliveryResult[], via: string, ms?: number): Promise<DeliveryResult[]> {
    const prev = { ...state };
    let unlogged: Error | undefined;
    for (const res of results) {
      const r = state.rcpts.find((x) => x.addr === res.rcpt && x.state === 'pending');
      if (!r) continue;
      r.attempts++;
      r.status = res.status;
      r.lastError = res.outcome === 'ok' ? undefined : res.reason;
      r.transport = via.split('/')[1] ?? r.transport;
      if (res.outcome !== 'temp') r.state = res.outcome === 'ok' ? 'delivered' : 'failed';
      const ev = res.outcome === 'ok' ? 'delivered' : res.outcome === 'temp' ? 'deferred' : 'failed';
      if (!unlogged) unlogged = await appendMsglog(this.d.spool.msglogFile(state.id), { t: this.clock(), ev, rcpt: res.rcpt, via, status: res.status, reason: res.reason }).then(() => undefined, (err: Error) => err);
      const [router, transport] = via.split('/');
      this.d.log.log({ event: ev, id: state.id, rcpt: res.rcpt, router, transport, status: res.status, fields: ms === undefined ? undefined : { time: ms }, reason: res.reason });
    }
    try {
      await this.d.index.put(state, prev);
    } catch (err) {
      throw runStopped(state.id, unlogged ? `${unlogged.message}; queue index: ${(err as Error).message}` : (err as Error).message, 'the outcome may be repeated');
    }
    if (unlogged) throw runStopped(state.id, unlogged.message, 'the outcome is kept in the queue index');
    return results;
  }

  /** After an attempt: finish the message, or schedule its next try (bouncing at expiry). */
  private async conclude(state: MessageState, msg: QueuedMessage): Promise<void> {
    const now = this.clock();
    const prev = { ...state };
    state.attempts++;
    if (pending(state).length) {
      const factor = Math.min(...pending(state).map((r) => this.retryFactor(r)));
      const plan = planRetry(state.arrival, state.attempts, factor, this.d.cfg.queue_lifetime, now);
      if (!plan.final) {
        state.nextAttempt = plan.next!;
        await this.d.index.put(state, prev);
        return;
      }
      const expired = pending(state).map((r) => ({ rcpt: r.addr, outcome: 'perm' as const, status: r.status?.replace(/^4/, '5') ?? '5.4.7', reason: `queue_lifetime expired; last error: ${r.lastError ?? 'none'}` }));
      await this.record(state, expired, 'queue/lifetime');
    }
    await this.finish(state, msg);
  }

  private retryFactor(r: RcptState): number {
    return r.transport ? (this.d.transports.get(r.transport)?.retryFactor ?? 20) : 20;
  }

  private async finish(state: MessageState, msg: QueuedMessage): Promise<void> {
    const failed = state.rcpts.filter((r) => r.state === 'failed');
    if (failed.length && !state.bounced) {
      const bounceId = await sendBounce(this.d.cfg, this.d.spool, msg, state, failed, this.clock());
      // The message is removed next, so a bounce that cannot be logged cannot be sent twice either.
      await appendMsglog(this.d.spool.msglogFile(state.id), { t: this.clock(), ev: 'bounced', reason: bounceId ?? 'dropped' }).catch(() => undefined);
      this.d.log.log({ event: 'bounced', id: state.id, sender: msg.envelope.sender, reason: bounceId ? `bounce queued as ${bounceId}` : 'bounce of a bounce dropped' });
    }
    await this.d.index.delete(state);
    await fsp.unlink(this.d.spool.queueFile(state.id)).catch(() => undefined);
    await fsp.unlink(this.d.spool.msglogFile(state.id)).catch(() => undefined);
  }
}

/** The temporary error that ends a run whose outcomes cannot be written. */
function runStopped(id: string, why: string, kept: string): GatewayError {
  return new GatewayError(`queue run stopped: cannot record the outcome of message ${id}: ${why} (${kept}; the rest waits for the next run)`, { temporary: true });
}

export const emptySummary = (): RunSummary => ({ messages: 0, delivered: 0, deferred: 0, failed: 0 });

export function tally(summary: RunSummary, results: DeliveryResult[]): void {
  summary.messages++;
  for (const r of results) summary[r.outcome === 'ok' ? 'delivered' : r.outcome === 'temp' ? 'deferred' : 'failed']++;
}

const pending = (s: MessageState): RcptState[] => s.rcpts.filter((r) => r.state === 'pending');

/**
 * Recipients routed to one destination (the same mailbox, file or program, or
 * the same rewritten address for the same next hop) get one copy: the first is
 * delivered, `copies` lists the others under it, to share its outcome.
 */
function collapseDuplicates(routed: RoutedRecipient[]): { unique: RoutedRecipient[]; copies: Map<string, string[]> } {
  const first = new Map<string, string>();
  const unique: RoutedRecipient[] = [];
  const copies = new Map<string, string[]>();
  for (const r of routed) {
    const key = destinationKey(r.route);
    const kept = first.get(key);
    if (kept === undefined) {
      first.set(key, r.rcpt);
      unique.push(r);
    } else if (copies.has(kept)) copies.get(kept)!.push(r.rcpt);
    else copies.set(kept, [r.rcpt]);
  }
  return { unique, copies };
}

function destinationKey(route: Route): string {
  const where = route.destination ?? route.argv?.join('\0') ?? route.address;
  return `${route.transport}\0${route.nextHop ?? ''}\0${where}`;
}

/** Each result, then the same outcome for every recipient collapsed into it. */
function withCopies(results: DeliveryResult[], copies: Map<string, string[]>): DeliveryResult[] {
  return results.flatMap((res) => [res, ...(copies.get(res.rcpt) ?? []).map((rcpt) => ({ ...res, rcpt, reason: `${res.reason} (same destination as <${res.rcpt}>)` }))]);
}

/** Marks `parent` expanded and adds its children; an entry whose expansion failed fails at once. */
function addChildren(state: MessageState, parent: string, children: ChildRecipient[]): void {
  const p = state.rcpts.find((r) => r.addr === parent && r.state === 'pending');
  if (p) p.state = 'expanded';
  for (const c of children) {
    // Duplicates collapse, as in every MTA; an expanded parent may reappear as its own child (bob: bob, |vacation).
    if (state.rcpts.some((r) => r.addr === c.addr && r.state !== 'expanded')) continue;
    const base = { addr: c.addr, attempts: 0, parent, provenance: c.provenance, errorsTo: c.errorsTo };
    state.rcpts.push(c.error ? { ...base, state: 'failed', status: '5.1.0', lastError: c.error } : { ...base, state: 'pending' });
  }
}

/** Expanded list members carry owner-NAME as their envelope sender. */
function senderFor(state: MessageState, rcpt: string): string {
  return state.rcpts.find((r) => r.addr === rcpt)?.errorsTo ?? state.sender;
}
