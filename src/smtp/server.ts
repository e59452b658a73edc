// The LAN SMTP server (`smtp_listen`), built on smtp-server 3.x. It does the
// protocol (EHLO/HELO, PIPELINING, 8BITMIME, SIZE, ENHANCEDSTATUSCODES, dot-
// unstuffing, idle timeouts, connection count); we do policy and storage:
//
//   connect   per-client connection limit (smtp_max_per_client; the total is
//             smtp-server's maxClients = smtp_max_connections)
//   RCPT      relay control (relay.ts): unknown local user 550 5.1.1, a
//             destination we are not responsible for from a client outside
//             relay_networks 550 5.7.1; smtp_max_recipients → 452 4.5.3
//   DATA      real size counted (databytes, else message_size_limit) → 552 5.3.4;
//             bare LF → 554 5.6.0 (RFC 5321 4.1.1.4: a server MUST NOT take LF
//             alone as a line end; also closes the SMTP-smuggling hole);
//             CRLF → LF; the message goes through the one accept path (NUL bytes,
//             lines over 998 characters → 554 5.6.0) and the final 250 is sent
//             only once the queue file is fsync'd in incoming/ (concurrent
//             messages share a group commit, see groupCommitter). A temporary accept
//             failure answers 451, a permanent one 554. A client that goes away
//             before the final dot queues nothing.
//
// Two things smtp-server does not let us choose, and how we get them:
//  * Enhanced status codes: smtp-server derives the enhanced code of an error reply
//    from the reply code alone (550 is always 5.1.1), so "550 5.7.1 relaying
//    denied" is impossible through its API. patchEnhancedCodes() below wraps
//    SMTPConnection.prototype.send: a reply text that already starts with an
//    enhanced code (only ours do) is sent without adding another. The same
//    wrapper corks the socket until the end of the event-loop turn, so the
//    replies to pipelined commands go out in one write. This touches a
//    semi-internal method; the version is pinned (3.21.x) and the relay and
//    pipelining tests check both effects.
//  * Over-long command lines: smtp-server answers "421 Error: Command line too
//    long" and closes. We keep that (maxCommandLength 1000: RFC 5321's 512 plus
//    room for ESMTP parameters); it is a flood, not a dialogue to continue.
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import type { AddressInfo } from 'node:net';
import { acceptContext, type Gateway } from '../runtime/gateway.js';
import { commitMessages, prepareMessage, type AcceptRequest, type PreparedMessage } from '../queue/accept.js';
import { openRouter, type OpenRouter } from '../runtime/routing.js';
import { deliverAccepted } from '../runtime/after-accept.js';
import { GatewayError } from '../util/errors.js';
import type { Daemon, DaemonService } from '../daemon/daemon.js';
import { netList, plainAddress, type ListenAddress } from './cidr.js';
import { checkRecipient, isRelayClient, type Refusal, type RelayContext } from './relay.js';

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3} /;

let patched = false;
function patchEnhancedCodes(): void {
  if (patched) return;
  patched = true;
  const proto = SMTPConnection.prototype as unknown as { send(code: number, data: unknown, context?: unknown): void };
  const send = proto.send;
  proto.send = function (this: { _socket?: import('node:net').Socket }, code: number, data: unknown, context?: unknown): void {
    // Replies produced while handling one batch of pipelined input leave in one
    // write (smtp-server writes each reply separately: a syscall per reply).
    const sock = this._socket;
    if (sock && !sock.destroyed && sock.writableCorked === 0) {
      sock.cork();
      setImmediate(() => sock.uncork());
    }
    if (typeof data === 'string' && ENHANCED.test(data)) return send.call(this, code, data, false);
    return send.call(this, code, data, context);
  };
}

/** An error smtp-server turns into the reply `code status text`. */
export function smtpError(code: number, status: string, text: string): Error & { responseCode: number } {
  const err = new Error(`${status} ${text.replace(/[\r\n]+/g, ' ')}`) as Error & { responseCode: number };
  err.responseCode = code;
  return err;
}

export interface SmtpServerOptions {
  /** Where to listen; default cfg.smtp_listen. Port 0 picks a free port. */
  listen?: ListenAddress[];
  /** Called with each queued id once the 250 has gone out; default: deliverAccepted (coalesced). */
  afterAccept?: (id: string) => void;
}

export interface RunningSmtpServer {
  addresses: AddressInfo[];
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
}

async function buildState(gw: Gateway): Promise<State> {
  const routing = await openRouter(gw);
  return { gw, routing, verdicts: new Map(), relay: { cfg: gw.cfg, router: routing.router, site: routing.tables.site, relayNets: netList(gw.cfg.relay_networks) } };
}

const VERDICT_MS = 2000;

/**
 * checkRecipient with a short memory (2 s, per address and client class): a busy
 * server asks the router once per address and moment, not once per message. A
 * configuration reload starts afresh; a temporary failure is never remembered.
 */
async function checkCached(state: State, addr: string, ip: string): Promise<Refusal | undefined> {
  const key = `${isRelayClient(state.relay, ip) ? 'r' : 'o'} ${addr.toLowerCase()}`;
  const now = Date.now();
  const hit = state.verdicts.get(key);
  if (hit && hit.until > now) return hit.refusal;
  const refusal = await checkRecipient(state.relay, addr, ip);
  if (!refusal || refusal.code >= 500) {
    if (state.verdicts.size >= 10_000) state.verdicts.clear();
    state.verdicts.set(key, { until: now + VERDICT_MS, refusal });
  }
  return refusal;
}

/** The size limit in bytes as transmitted (CRLF line ends). */
function dataLimit(gw: Gateway): number {
  return gw.cfg.databytes || gw.cfg.message_size_limit;
}

/** Starts listening; resolves once every address is bound. */
export async function startSmtpServer(gw0: Gateway, opts: SmtpServerOptions = {}): Promise<RunningSmtpServer> {
  patchEnhancedCodes();
  let state = await buildState(gw0);
  const perClient = new Map<string, number>();
  const counted = new Set<string>();
  const afterAccept = opts.afterAccept ?? coalescingDeliverer(() => state.gw);
  const committer = groupCommitter(() => state.gw);

  const options = () => ({
    name: state.gw.cfg.visible_name,
    banner: 'uugate ready',
    size: dataLimit(state.gw),
    maxClients: state.gw.cfg.smtp_max_connections,
    maxRecipients: state.gw.cfg.smtp_max_recipients,
    socketTimeout: state.gw.cfg.smtp_timeout * 1000,
  });

  const server = new SMTPServer({
    ...options(),
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    hideSTARTTLS: true,
    hideENHANCEDSTATUSCODES: false,
    hideDSN: true,
    hideSMTPUTF8: true,
    hideREQUIRETLS: true,
    maxCommandLength: 1000,
    closeTimeout: 3000,

    onConnect(session: SMTPServerSession, cb: (err?: Error | null) => void): void {
      const ip = plainAddress(session.remoteAddress);
      const n = perClient.get(ip) ?? 0;
      if (n >= state.gw.cfg.smtp_max_per_client) return cb(smtpError(421, '4.7.0', `${state.gw.cfg.visible_name} too many connections from ${ip}, try again later`));
      perClient.set(ip, n + 1);
      counted.add(session.id);
      cb();
    },

    onClose(session: SMTPServerSession): void {
      if (!counted.delete(session.id)) return;
      const ip = plainAddress(session.remoteAddress);
      const n = (perClient.get(ip) ?? 1) - 1;
      if (n > 0) perClient.set(ip, n);
      else perClient.delete(ip);
    },

    onMailFrom(_addr: SMTPServerAddress, _session: SMTPServerSession, cb: (err?: Error | null) => void): void {
      cb();
    },

    onRcptTo(addr: SMTPServerAddress, session: SMTPServerSession, cb: (err?: Error | null) => void): void {
      checkCached(state, addr.address, session.remoteAddress).then(
        (refusal) => cb(refusal ? smtpError(refusal.code, refusal.status, refusal.text) : null),
        (err: unknown) => {
          state.gw.log.panic(`smtp: routing <${addr.address}> failed: ${(err as Error).stack ?? err}`);
          cb(smtpError(451, '4.3.0', `<${addr.address}>: temporary routing failure`));
        },
      );
    },

    onData(stream: SMTPServerDataStream, session: SMTPServerSession, cb: (err?: Error | null, message?: string) => void): void {
      const limit = dataLimit(state.gw);
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= limit) chunks.push(c);
      });
      // The client went away (or timed out) before the final dot: nothing is queued.
      stream.on('error', () => undefined);
      stream.on('end', () => {
        if (size > limit || stream.sizeExceeded) return cb(smtpError(552, '5.3.4', `message exceeds fixed maximum message size of ${limit} bytes`));
        const raw = Buffer.concat(chunks, size);
        const data = crlfToLf(raw);
        if (typeof data === 'number') return cb(smtpError(554, '5.6.0', `message contains a bare LF at byte offset ${data}; lines must end in CRLF`));
        const { gw } = state;
        const helo = session.hostNameAppearsAs || 'unknown';
        const req: AcceptRequest = {
          sender: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          recipients: session.envelope.rcptTo.map((r) => r.address),
          data,
          origin: 'smtp',
          protocol: session.transmissionType || 'SMTP',
          receivedFrom: `${helo} ([${plainAddress(session.remoteAddress)}])`,
        };
        new Promise<PreparedMessage>((resolve) => resolve(prepareMessage(acceptContext(gw), req)))
          .then((prepared) => committer.commit(prepared).then(() => prepared.id))
          .then(
            (id) => {
              cb(null, `queued as ${id}`);
              afterAccept(id);
            },
            (err: unknown) => {
              const e = err instanceof GatewayError ? err : undefined;
              if (!e) gw.log.panic(`smtp: accept failed: ${(err as Error).stack ?? err}`);
              const temporary = !e || e.temporary;
              const status = e?.status ?? '4.3.0';
              cb(smtpError(temporary ? 451 : 554, temporary && !status.startsWith('4') ? '4.3.0' : status, (err as Error).message));
            },
          );
      });
    },
  });
  server.on('error', (err) => state.gw.log.panic(`smtp server: ${(err as Error).message}`));

  const listen = opts.listen ?? gw0.cfg.smtp_listen;
  const bound: AddressInfo[] = [];
  const netServer = (server as unknown as { server: import('node:net').Server }).server;
  // smtp-server owns one net.Server; further addresses get listeners that hand
  // their sockets to it.
  const extra: import('node:net').Server[] = [];
  try {
    for (const [i, addr] of listen.entries()) {
      const srv = i === 0 ? netServer : await cloneListener(netServer);
      if (i > 0) extra.push(srv);
      await new Promise<void>((resolve, reject) => {
        const onErr = (err: Error): void => reject(err);
        srv.once('error', onErr);
        srv.listen(addr.port, addr.host, () => {
          srv.off('error', onErr);
          resolve();
        });
      });
      bound.push(srv.address() as AddressInfo);
    }
  } catch (err) {
    for (const s of extra) s.close();
    if (netServer.listening) netServer.close();
    await state.routing.close();
    throw err;
  }

  return {
    addresses: bound,
    connections: () => (server as unknown as { connections: Set<unknown> }).connections.size,
    async reload(gw: Gateway): Promise<void> {
      const next = await buildState(gw);
      const old = state;
      state = next;
      Object.assign((server as unknown as { options: object }).options, options());
      await old.routing.close();
    },
    async close(): Promise<void> {
      for (const s of extra) s.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await state.routing.close();
    },
  };
}

/** A second listening socket feeding the same SMTPServer (for several smtp_listen addresses). */
async function cloneListener(main: import('node:net').Server): Promise<import('node:net').Server> {
  const net = await import('node:net');
  return net.createServer((socket) => main.emit('connection', socket));
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
    commitMessages(gw().spool, batch.map((b) => b.p), 64)
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
 * clients do not fight over the queue lock.
 */
function coalescingDeliverer(gw: () => Gateway): (id: string) => void {
  let pending: string[] = [];
  let running = false;
  const go = (): void => {
    if (running || pending.length === 0) return;
    running = true;
    const ids = pending;
    pending = [];
    deliverAccepted(gw(), ids)
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

/**
 * CRLF → LF. Returns the byte offset of the first bare LF instead when there is one.
 * A bare CR is kept as it is.
 */
export function crlfToLf(raw: Buffer): Buffer | number {
  const out = Buffer.allocUnsafe(raw.length);
  let o = 0;
  let start = 0;
  for (let nl = raw.indexOf(0x0a); nl >= 0; nl = raw.indexOf(0x0a, start)) {
    if (nl === 0 || raw[nl - 1] !== 0x0d) return nl;
    o += raw.copy(out, o, start, nl - 1);
    out[o++] = 0x0a;
    start = nl + 1;
  }
  o += raw.copy(out, o, start);
  return out.subarray(0, o);
}

/** True when smtp_listen still has its built-in default (a bind failure is then only reported). */
function isDefaultListen(gw: Gateway): boolean {
  const l = gw.cfg.smtp_listen;
  return l.length === 1 && l[0].host === '127.0.0.1' && l[0].port === 2525;
}

/** The daemon's SMTP listener. */
export function smtpService(gw: Gateway): DaemonService {
  let running: RunningSmtpServer | undefined;
  return {
    name: 'smtp',
    async start(d: Daemon): Promise<string> {
      try {
        running = await startSmtpServer(d.gw, { afterAccept: () => d.kick() });
      } catch (err) {
        if (!isDefaultListen(gw)) throw new GatewayError(`smtp: cannot listen: ${(err as Error).message}`, { temporary: true });
        d.gw.log.panic(`smtp: cannot listen on the default 127.0.0.1:2525: ${(err as Error).message}`);
        return `not listening (default 127.0.0.1:2525: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set smtp_listen`;
      }
      return `listening on ${running.addresses.map((a) => (a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`)).join(', ')}`;
    },
    async stop(): Promise<void> {
      await running?.close();
      running = undefined;
    },
    async reload(next: Gateway): Promise<void> {
      await running?.reload(next);
    },
  };
}
