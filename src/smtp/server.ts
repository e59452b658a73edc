// The LAN SMTP server (`smtp_listen`): sockets, limits and policy around the
// protocol engine (engine.ts), and the accept path behind it.
//
// Why our own engine and not smtp-server (which this server used at first):
//  * exact protocol behaviour: smtp-server takes a bare LF as the end of a
//    command line and answers an over-long line with 421 and a hang-up; RFC 5321
//    wants CRLF only and a 500 after which the session goes on. It also derives
//    the enhanced status code from the reply code alone (550 is always 5.1.1),
//    so "550 5.7.1 relaying denied" needed a patch of an internal method.
//  * cost: in a profile at 50 connections smtp-server (its per-line stream
//    machinery, the DATA stream, address parsing with punycode) took about a
//    sixth of the server's CPU time. The engine
//    works on the received buffers and decodes DATA in one pass into one
//    buffer (data-decoder.ts).
//
// Policy and storage, per session:
//   connect   smtp_max_connections in total, smtp_max_per_client per address
//             (421); the greeting waits smtp_greeting_delay, and a client that
//             talks before it gets 554 5.5.1 and is closed (its commands unread)
//   RCPT      relay control (relay.ts): unknown local user 550 5.1.1, a
//             destination we are not responsible for from a client outside
//             relay_networks 550 5.7.1; smtp_max_recipients → 452 4.5.3
//   DATA      the message goes through the one accept path (NUL bytes, lines
//             over 998 characters → 554 5.6.0) and the final 250 is sent only
//             once the queue file is fsync'd in incoming/ (concurrent messages
//             share a group commit, see groupCommitter). A temporary accept
//             failure answers 451, a permanent one 554. A client that goes away
//             before the final dot queues nothing.
//   time      a command line must be complete within smtp_timeout of our
//             last reply; a message must come without a silence of
//             smtp_timeout and at smtp_min_data_rate on average (client-clock.ts).
//             Else 421 4.4.2. docs/smtp.md "Limits against slow and early clients".
//   TLS, AUTH STARTTLS when tls_certificate is set (tls.ts); AUTH (authenticators.ts)
//             on submission_listen, where MAIL needs it, and on smtp_listen
//             with smtp_auth; an authenticated client may relay, but only
//             from its own addresses (sender-check.ts). docs/submission.md.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { acceptContext, type Gateway } from '../runtime/gateway.js';
import { commitMessages, prepareMessage, type PreparedMessage } from '../queue/accept.js';
import { openRouter, type OpenRouter } from '../runtime/routing.js';
import { deliverAccepted } from '../runtime/after-accept.js';
import { configError, GatewayError } from '../util/errors.js';
import { netList, plainAddress, type ListenAddress } from '../config/cidr.js';
import { logRefusals } from './refusal-log.js';
import { checkRecipient, isRelayClient, type Refusal, type RelayContext } from './relay.js';
import { SmtpSession, failureVerdict, type Transaction, type Verdict } from './engine.js';
import { ClientClock } from './client-clock.js';
import type tls from 'node:tls';
import { describeTls, loadServerTls, upgradeToTls } from './tls.js';
import { AuthFailures, login, type Authenticator } from './auth.js';
import { openAuthenticator } from './authenticators.js';
import { checkSender } from './sender-check.js';
import { loadSenders, type SendersTable } from '../config/senders.js';

const BANNER = 'uugate ready';
/** How long close() lets clients finish what they are doing. */
const CLOSE_GRACE_MS = 3000;

export interface SmtpServerOptions {
  /** Where to listen; default cfg.smtp_listen. Port 0 picks a free port. */
  listen?: ListenAddress[];
  /** Where the submission port listens; default cfg.submission_listen. */
  submissionListen?: ListenAddress[];
  /** Called with each queued id once the 250 has gone out; default: deliverAccepted (coalesced). */
  afterAccept?: (id: string) => void;
}

export interface RunningSmtpServer {
  addresses: AddressInfo[];
  submissionAddresses: AddressInfo[];
  /** Current number of client connections. */
  connections(): number;
  reload(gw: Gateway): Promise<void>;
  close(): Promise<void>;
}

interface State {
  gw: Gateway;
  relay: RelayContext;
  routing: OpenRouter;
  /** Recent RCPT verdicts: routing an address touches aliases, .forward and list files. */
  verdicts: Map<string, { until: number; refusal: Refusal | undefined }>;
  /** isRelayClient per client address (a CIDR check per RCPT shows in profiles). */
  relayClients: Map<string, boolean>;
  tls: tls.SecureContext | undefined;
  auth: Authenticator | undefined;
  senders: SendersTable;
}

async function buildState(gw: Gateway): Promise<State> {
  const [tlsContext, senders] = await Promise.all([loadServerTls(gw.cfg), loadSenders(gw.cfg.configDir)]);
  const routing = await openRouter(gw);
  const relay = { cfg: gw.cfg, router: routing.router, site: routing.tables.site, relayNets: netList(gw.cfg.relay_networks) };
  return { gw, routing, verdicts: new Map(), relayClients: new Map(), relay, tls: tlsContext, auth: openAuthenticator(gw.cfg), senders };
}

/** A submission port nobody could log in to, or only in clear, is a configuration mistake. */
function checkSubmission(gw: Gateway, listen: ListenAddress[], state: State): void {
  if (!listen.length) return;
  const file = `${gw.cfg.configDir}/uugate.conf`;
  if (!state.auth) throw configError(file, 'submission_listen needs auth_dovecot or auth_passwd_file');
  if (!state.tls && !gw.cfg.auth_plaintext) throw configError(file, 'submission_listen needs tls_certificate and tls_key (or auth_plaintext=on, for loopback clients only)');
}

const VERDICT_MS = 2000;

/**
 * checkRecipient with a short memory (2 s, per address and client class): a busy
 * server asks the router once per address and moment, not once per message. A
 * configuration reload starts afresh; a temporary failure is never remembered.
 * A remembered verdict is returned at once, without a promise.
 */
function checkCached(state: State, addr: string, ip: string, authenticated: boolean): Refusal | undefined | Promise<Refusal | undefined> {
  let relay = authenticated || state.relayClients.get(ip);
  if (relay === undefined) {
    if (state.relayClients.size >= 10_000) state.relayClients.clear();
    state.relayClients.set(ip, (relay = isRelayClient(state.relay, ip)));
  }
  const key = `${relay ? 'r' : 'o'} ${addr.toLowerCase()}`;
  const now = Date.now();
  const hit = state.verdicts.get(key);
  if (hit && hit.until > now) return hit.refusal;
  return checkRecipient(state.relay, addr, relay).then(
    (refusal) => {
      if (!refusal || refusal.code >= 500) {
        if (state.verdicts.size >= 10_000) state.verdicts.clear();
        state.verdicts.set(key, { until: now + VERDICT_MS, refusal });
      }
      return refusal;
    },
    (err: unknown) => {
      state.gw.log.panic(`smtp: routing <${addr}> failed: ${(err as Error).stack ?? err}`);
      return { code: 451, status: '4.3.0', text: `<${addr}>: temporary routing failure` };
    },
  );
}

/** The size limit in bytes as transmitted (CRLF line ends). */
function dataLimit(gw: Gateway): number {
  return gw.cfg.databytes || gw.cfg.message_size_limit;
}

/** Starts listening; resolves once every address is bound. */
export async function startSmtpServer(gw0: Gateway, opts: SmtpServerOptions = {}): Promise<RunningSmtpServer> {
  let state = await buildState(gw0);
  const afterAccept = opts.afterAccept ?? coalescingDeliverer(() => state.gw);
  const committer = groupCommitter(() => state.gw);
  const clients = new Clients();

  /** The final reply for a complete message: prepared, then committed with others. */
  const queue = (tx: Transaction, data: Buffer, ip: string, details: string[]): Promise<Verdict> => {
    const { gw } = state;
    return new Promise<PreparedMessage>((resolve) =>
      resolve(
        prepareMessage(acceptContext(gw), {
          sender: tx.sender,
          recipients: tx.recipients,
          data,
          origin: 'smtp',
          protocol: tx.protocol,
          receivedFrom: `${tx.helo} ([${ip}])`,
          receivedDetails: details,
        }),
      ),
    )
      .then((prepared) => committer.commit(prepared).then(() => prepared.id))
      .then(
        (id): Verdict => {
          setImmediate(() => afterAccept(id)); // after the 250 has been written
          if (tx.user !== undefined) gw.log.log({ event: 'info', id, sender: tx.sender, reason: `smtp: from [${ip}] with ${tx.protocol}, authenticated as ${tx.user}` });
          return { code: 250, status: '2.6.0', text: `queued as ${id}` };
        },
        (err: unknown): Verdict => {
          if (!(err instanceof GatewayError)) gw.log.panic(`smtp: accept failed: ${(err as Error).stack ?? err}`);
          return failureVerdict(err);
        },
      );
  };

  const failures = new AuthFailures();
  const onConnection = (socket: net.Socket, submission: boolean): void => {
    const { cfg } = state.gw;
    const { tls: tlsContext, auth } = state;
    const ip = plainAddress(socket.remoteAddress ?? '');
    const listener = submission ? 'submission' : 'smtp';
    const noted = (text: string): string => (logRefusals(state.gw.log, text, ip, listener), text);
    let tlsInfo: string | undefined;
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    // One line per connection, turned away or not, for the connection and TLS counts (src/log/traffic.ts).
    socket.on('close', () => state.gw.log.log({ event: 'info', fields: { listener, tls: tlsInfo ? 'yes' : 'no' }, reason: `smtp: [${ip}] connection closed` }));
    const refusal = clients.admit(ip, cfg.smtp_max_connections, cfg.smtp_max_per_client);
    if (refusal) return hangUp(socket, noted(`421 4.7.0 ${cfg.visible_name} ${refusal}, try again later\r\n`));
    /** The connection as it is now: `socket`, or the TLS socket over it after STARTTLS. */
    let conn: net.Socket = socket;
    let user: string | undefined;
    const loopback = ip.startsWith('127.') || ip === '::1';
    const authMode = auth && (submission || cfg.smtp_auth) ? (cfg.auth_plaintext && loopback ? 'always' : 'tls') : undefined;
    const details = (): string[] => [...(tlsInfo ? [`(using ${tlsInfo})`] : []), ...(user !== undefined ? [`(authenticated as ${user})`] : [])];
    const authenticate = async (name: string, password: string): Promise<Verdict & { user?: string }> => {
      const { verdict, disconnect } = await login({ auth: auth!, failures, log: state.gw.log, ip, listener, tls: tlsInfo, maxFailures: cfg.auth_max_failures, delayMs: cfg.auth_failure_delay * 1000 }, name, password);
      if (verdict.user !== undefined) user = verdict.user;
      if (disconnect) session.end('4.7.0', 'too many failed logins, closing connection');
      return verdict;
    };
    const startTls = (): void => {
      socket.off('data', onData);
      upgradeToTls(socket, tlsContext!, cfg.smtp_timeout * 1000).then(
        (secure) => {
          conn = secure;
          tlsInfo = describeTls(secure);
          user = undefined;
          secure.on('data', onData);
          secure.on('end', onEnd);
          secure.on('error', () => undefined);
          session.secured();
        },
        (err: Error) => {
          state.gw.log.log({ event: 'info', reason: `smtp: [${ip}] TLS handshake failed: ${err.message}` });
          session.abort();
          socket.destroy();
        },
      );
    };
    const clock = new ClientClock({ timeoutMs: cfg.smtp_timeout * 1000, minDataRate: cfg.smtp_min_data_rate }, (why) => session.end('4.4.2', why));
    const session = new SmtpSession(
      { hostname: cfg.visible_name, client: `[${ip}]`, sizeLimit: dataLimit(state.gw), maxRecipients: cfg.smtp_max_recipients, starttls: !!tlsContext, auth: authMode, authRequired: submission },
      {
        send: (text, close) => {
          if (conn.destroyed) return;
          noted(text);
          if (close) hangUp(conn, text);
          else conn.write(text);
        },
        rcpt: (addr) => checkCached(state, addr, ip, user !== undefined),
        message: (tx, data) => queue(tx, data, ip, details()),
        hold: (on) => (on ? conn.pause() : conn.resume()),
        expecting: (what) => clock.expect(what),
        starttls: tlsContext ? startTls : undefined,
        authenticate: authMode ? authenticate : undefined,
        sender: (addr) => (user === undefined ? undefined : checkSender(addr, user, state.senders, state.relay.site)),
      },
    );
    const onData = (chunk: Buffer): void => {
      session.receive(chunk);
      clock.received(chunk.length);
    };
    const onEnd = (): void => {
      clearTimeout(greeting);
      void session.finish().then(() => hangUp(conn, ''));
    };
    clients.sessions.set(socket, session);
    const greet = (): void => {
      socket.on('data', onData);
      session.start(BANNER);
    };
    // RFC 5321 4.3.1: the client waits for the greeting; one that does not is
    // sending blind (a spam engine, or a protocol smuggled into SMTP).
    const early = (): void => {
      clearTimeout(greeting);
      session.abort();
      hangUp(socket, `554 5.5.1 ${cfg.visible_name} SMTP synchronization error: input before the greeting\r\n`);
    };
    const delay = cfg.smtp_greeting_delay * 1000;
    const greeting = delay
      ? setTimeout(() => {
          socket.off('data', early);
          greet();
        }, delay)
      : undefined;
    // A client may shut down its sending side after its last command (Exim
    // pipelines QUIT after the final dot, then does): the replies still go out.
    socket.on('end', () => {
      if (conn === socket) onEnd();
    });
    socket.on('close', () => {
      clearTimeout(greeting);
      clock.stop();
      session.abort();
      clients.release(socket, ip);
    });
    if (greeting) socket.once('data', early);
    else greet();
  };

  const listen = opts.listen ?? gw0.cfg.smtp_listen;
  const submissionListen = opts.submissionListen ?? gw0.cfg.submission_listen;
  const servers: net.Server[] = [];
  try {
    checkSubmission(gw0, submissionListen, state);
    for (const [addr, submission] of [...listen.map((a) => [a, false] as const), ...submissionListen.map((a) => [a, true] as const)]) {
      const srv = net.createServer({ allowHalfOpen: true }, (socket) => onConnection(socket, submission));
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(addr.port, addr.host, () => {
          srv.off('error', reject);
          resolve();
        });
      });
      srv.on('error', (err) => state.gw.log.panic(`smtp server: ${err.message}`));
    }
  } catch (err) {
    for (const s of servers) s.close();
    await state.routing.close();
    throw err;
  }

  return {
    addresses: servers.slice(0, listen.length).map((s) => s.address() as AddressInfo),
    submissionAddresses: servers.slice(listen.length).map((s) => s.address() as AddressInfo),
    connections: () => clients.sessions.size,
    async reload(gw: Gateway): Promise<void> {
      const next = await buildState(gw);
      try {
        checkSubmission(gw, submissionListen, next);
      } catch (err) {
        await next.routing.close();
        throw err;
      }
      const old = state;
      state = next;
      await old.routing.close();
    },
    async close(): Promise<void> {
      for (const s of servers) s.close();
      await clients.closeAll();
      await state.routing.close();
    },
  };
}

/** Sends a last reply and closes; a client that does not read it is cut off after CLOSE_GRACE_MS. */
function hangUp(socket: net.Socket, text: string): void {
  if (socket.writableEnded) return;
  socket.end(text);
  setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
}

/** The connected clients: counts in total and per address, and shutdown. */
class Clients {
  readonly sessions = new Map<net.Socket, SmtpSession>();
  private readonly perAddress = new Map<string, number>();

  /** Counts the connection in, or says why not. */
  admit(ip: string, max: number, maxPerClient: number): string | undefined {
    const n = this.perAddress.get(ip) ?? 0;
    if (this.sessions.size >= max) return 'too many connections';
    if (n >= maxPerClient) return `too many connections from ${ip}`;
    this.perAddress.set(ip, n + 1);
    return undefined;
  }

  release(socket: net.Socket, ip: string): void {
    if (!this.sessions.delete(socket)) return;
    const n = (this.perAddress.get(ip) ?? 1) - 1;
    if (n > 0) this.perAddress.set(ip, n);
    else this.perAddress.delete(ip);
  }

  /** 421 to every session (after the reply it owes), then wait for them to go, at most CLOSE_GRACE_MS. */
  async closeAll(): Promise<void> {
    const gone = [...this.sessions.keys()].map((s) => new Promise((resolve) => s.once('close', resolve)));
    for (const session of this.sessions.values()) session.end('4.3.2', 'server shutting down');
    const timer = setTimeout(() => this.sessions.forEach((_, s) => s.destroy()), CLOSE_GRACE_MS);
    await Promise.all(gone);
    clearTimeout(timer);
  }
}

/**
 * The accept path with group commit: a message is validated and built at once
 * (prepareMessage: the same checks and Received: header as accept()), then
 * written by commitMessages together with whatever else arrived while the
 * previous batch was being committed: each file fsync'd, renamed into incoming/,
 * one directory fsync per batch. Each 250 still waits for its own message to be
 * durable; with one client a batch is one message. A failed batch fails every
 * message in it (451; the client retries: the usual at-least-once window).
 */
function groupCommitter(gw: () => Gateway): { commit(p: PreparedMessage): Promise<void> } {
  let pending: Array<{ p: PreparedMessage; resolve(): void; reject(err: unknown): void }> = [];
  let running = false;
  const go = (): void => {
    if (running || pending.length === 0) return;
    running = true;
    const batch = pending;
    pending = [];
    commitMessages(gw().spool, batch.map((b) => b.p))
      .then(
        () => batch.forEach((b) => b.resolve()),
        (err: unknown) => batch.forEach((b) => b.reject(err)),
      )
      .finally(() => {
        running = false;
        go();
      });
  };
  return {
    commit: (p) =>
      new Promise<void>((resolve, reject) => {
        pending.push({ p, resolve, reject });
        go();
      }),
  };
}

/**
 * Standalone servers (not under the daemon) deliver what they accept: one
 * deliverAccepted at a time, later ids batched into the next call, so concurrent
 * clients do not fight over the queue lock. Each call looks for a daemon first;
 * daemonPid keeps that to a stat while the pid file is unchanged.
 */
function coalescingDeliverer(gw: () => Gateway): (id: string) => void {
  let pending: string[] = [];
  let running = false;
  const go = (): void => {
    if (running || pending.length === 0) return;
    running = true;
    const ids = pending;
    pending = [];
    deliverAccepted(gw(), ids, { awaitRunner: true })
      .catch((err: unknown) => gw().log.panic(`smtp: delivery after accept failed: ${(err as Error).stack ?? err}`))
      .finally(() => {
        running = false;
        go();
      });
  };
  return (id) => {
    pending.push(id);
    go();
  };
}
