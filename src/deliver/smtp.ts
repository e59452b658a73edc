// The SMTP client transport (`smtp`, world inet): hands a message to the next hop
// the router chose — `host` or `host:port` from config/hosts or smart_path, a
// domain found by the dns router (MX records by preference, then the domain's own
// address; a null MX bounces) — in one transaction per message and destination,
// all of its recipients in that transaction.
//
// The protocol is nodemailer's lib/smtp-connection: it pipelines MAIL/RCPT/DATA
// when PIPELINING is offered, gives a result per recipient, sends `MAIL FROM:<>`
// for the null sender, BODY=8BITMIME when asked, SIZE= when offered, and its data
// stream turns our LF line ends into CRLF and doubles leading dots (a bare CR also
// becomes CRLF there — the one byte change to a body, and an anti-smuggling one).
// 8-bit mail for a server without 8BITMIME is made 7-bit first
// (message/eight-bit.ts); one that cannot be (8-bit headers) bounces 5.6.3.
//
// TLS: STARTTLS whenever offered; config/tls_policy can require it and a
// verified certificate per destination (tls-policy.ts).
//
// Connections are reused: after a transaction the connection is parked for
// `idleMs` (default 5 s) per destination, unref'd so it never keeps a `runq` alive;
// the next message for the same destination takes it (a dead parked connection is
// noticed and replaced once). Parked connections are QUIT when idle time runs out,
// when the process is about to exit (beforeExit) or on closeAll().
//
// Results: 2xx → ok, 4xx → temp, 5xx → perm, per recipient (RCPT replies) and for
// the message (MAIL and final-dot replies); the enhanced status code of the
// server's reply goes into DeliveryResult.status (else X.0.0 from the reply
// code). Connection failures, timeouts and DNS trouble are temporary; a host that
// does not exist (NXDOMAIN) is permanent (5.1.2).
import { promises as dnsp } from 'node:dns';
import net from 'node:net';
import type SMTPConnection from 'nodemailer/lib/smtp-connection';
import { hasEightBit } from '../message/eight-bit.js';
import { sevenBitFor } from './seven-bit.js';
import { connectionTls, loadTlsPolicy, policyFor, type TlsPolicyTable } from './tls-policy.js';
import { perm, temp, type Outcome, type DeliveryJob, type DeliveryResult, type RoutedRecipient, type Transport, type TransportContext } from './transport.js';

export interface MxRecord {
  exchange: string;
  priority: number;
}

export interface SmtpTransportOptions {
  /** EHLO name; default visible_name. */
  heloName?: string;
  /** Port when the next hop names none; default smtp_port (25). */
  port?: number;
  connectTimeoutMs?: number;
  /** Inactivity timeout while talking to a server; default smtp_timeout. */
  timeoutMs?: number;
  /** How long an idle connection is kept for reuse; 0 disables reuse. */
  idleMs?: number;
  /** MX lookup (injected by tests); default node:dns resolveMx. */
  resolveMx?: (name: string) => Promise<MxRecord[]>;
}

export interface SmtpTransport extends Transport {
  /** QUITs every parked connection. */
  closeAll(): Promise<void>;
}

export interface Target {
  host: string;
  port: number;
}

/** `host`, `host:port`, `[addr]`, `[addr]:port`, a bare IPv6 address. `mx` says whether MX records apply. */
export function parseNextHop(nextHop: string, defaultPort: number): { host: string; port: number; literal: boolean } {
  let m = /^\[([^\]]+)\](?::(\d+))?$/.exec(nextHop);
  if (m) return { host: m[1].replace(/^ipv6:/i, ''), port: m[2] ? Number(m[2]) : defaultPort, literal: true };
  if (net.isIP(nextHop)) return { host: nextHop, port: defaultPort, literal: true };
  m = /^([^:]+):(\d+)$/.exec(nextHop);
  if (m) return { host: m[1], port: Number(m[2]), literal: true };
  return { host: nextHop, port: defaultPort, literal: false };
}

type TargetResult = { targets: Target[] } | { error: DeliveryResultTemplate };
interface DeliveryResultTemplate {
  outcome: Outcome;
  status: string;
  reason: string;
}

/** Where to connect, in order: MX hosts by preference for a dns-routed domain, else the host itself. */
export async function resolveTargets(nextHop: string, viaDns: boolean, port: number, resolveMx: (n: string) => Promise<MxRecord[]>): Promise<TargetResult> {
  const hop = parseNextHop(nextHop, port);
  if (hop.literal || !viaDns) return { targets: [{ host: hop.host, port: hop.port }] };
  try {
    const mx = await resolveMx(hop.host);
    if (mx.length === 1 && (mx[0].exchange === '' || mx[0].exchange === '.'))
      return { error: { outcome: 'perm', status: '5.1.10', reason: `${hop.host} does not accept mail (null MX)` } };
    if (mx.length) {
      // Equal preferences in random order (RFC 5321 5.1).
      const sorted = mx.map((r) => ({ r, k: Math.random() })).sort((a, b) => a.r.priority - b.r.priority || a.k - b.k);
      return { targets: sorted.map(({ r }) => ({ host: r.exchange.replace(/\.$/, ''), port: hop.port })) };
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND') return { error: { outcome: 'perm', status: '5.1.2', reason: `host ${hop.host} not found (DNS)` } };
    if (code !== 'ENODATA') return { error: { outcome: 'temp', status: '4.4.3', reason: `DNS lookup of MX ${hop.host} failed: ${code ?? (err as Error).message}` } };
  }
  return { targets: [{ host: hop.host, port: hop.port }] }; // no MX: the domain's own address
}

/** The enhanced status code in a reply, else one derived from the reply code. */
export function statusOf(response: string | undefined, fallbackClass: '2' | '4' | '5' = '4'): string {
  const m = /^([245])\d\d[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(response ?? '');
  if (m && m[1] === m[2][0]) return m[2];
  const c = /^([245])\d\d/.exec(response ?? '');
  return `${c ? c[1] : fallbackClass}.0.0`;
}

const oneLine = (s: string | undefined): string => (s ?? '').replace(/\s*[\r\n]+\s*/g, ' ').trim();

interface Parked {
  conn: SMTPConnection;
  timer?: NodeJS.Timeout;
  dead: boolean;
}

interface SmtpErrorLike extends Error {
  code?: string;
  response?: string;
  responseCode?: number;
  recipient?: string;
  rejectedErrors?: SmtpErrorLike[];
}

export function createSmtpTransport(ctx: TransportContext, opts: SmtpTransportOptions = {}): SmtpTransport {
  const cfg = () => ctx.cfg;
  const idleMs = opts.idleMs ?? 5000;
  const resolveMx = opts.resolveMx ?? ((n: string) => dnsp.resolveMx(n));
  const parked = new Map<string, Parked[]>();
  let exitHook = false;
  let policies: Promise<TlsPolicyTable> | undefined;
  const policyTable = (): Promise<TlsPolicyTable> =>
    (policies ??= loadTlsPolicy(cfg().configDir).catch((err: unknown) => {
      policies = undefined; // a fixed file is read again
      throw err;
    }));

  const socketOf = (p: Parked): net.Socket | undefined => (p.conn as unknown as { _socket?: net.Socket })._socket || undefined;

  function quit(p: Parked): void {
    clearTimeout(p.timer);
    p.dead = true;
    try {
      p.conn.quit();
    } catch {
      p.conn.close();
    }
  }

  function park(key: string, p: Parked): void {
    if (idleMs <= 0 || p.dead) return quit(p);
    const list = parked.get(key) ?? [];
    if (list.length >= 4) return quit(p);
    list.push(p);
    parked.set(key, list);
    socketOf(p)?.unref();
    p.timer = setTimeout(() => {
      const l = parked.get(key) ?? [];
      const i = l.indexOf(p);
      if (i >= 0) l.splice(i, 1);
      if (!l.length) parked.delete(key);
      socketOf(p)?.ref();
      quit(p);
    }, idleMs);
    p.timer.unref();
    if (!exitHook) {
      exitHook = true;
      // A queue run that ends with connections parked QUITs them politely.
      process.on('beforeExit', () => {
        if (parked.size) void closeAll();
      });
    }
  }

  function unpark(key: string): Parked | undefined {
    const list = parked.get(key);
    while (list?.length) {
      const p = list.pop()!;
      clearTimeout(p.timer);
      if (!list.length) parked.delete(key);
      if (p.dead) continue;
      socketOf(p)?.ref();
      return p;
    }
    return undefined;
  }

  type TlsOptions = Awaited<ReturnType<typeof connectionTls>>;

  async function connect(t: Target, tlsOptions: TlsOptions): Promise<Parked> {
    // Loaded on first use: rmail and friends load this module but never send SMTP.
    const { default: Connection } = await import('nodemailer/lib/smtp-connection');
    return new Promise((resolve, reject) => {
      const conn = new Connection({
        host: t.host,
        port: t.port,
        name: opts.heloName ?? cfg().visible_name,
        connectionTimeout: opts.connectTimeoutMs ?? cfg().smtp_connect_timeout * 1000,
        greetingTimeout: opts.connectTimeoutMs ?? cfg().smtp_connect_timeout * 1000,
        socketTimeout: opts.timeoutMs ?? cfg().smtp_timeout * 1000,
        ...tlsOptions,
        allowInternalNetworkInterfaces: true,
        logger: false,
      });
      const p: Parked = { conn, dead: false };
      let settled = false;
      conn.on('error', (err: Error) => {
        p.dead = true;
        if (!settled) {
          settled = true;
          reject(err);
        }
      });
      conn.on('end', () => {
        p.dead = true;
      });
      conn.connect(() => {
        settled = true;
        resolve(p);
      });
    });
  }

  function send(p: Parked, sender: string, to: string[], data: Buffer): Promise<{ info?: SMTPConnection.SentMessageInfo; err?: SmtpErrorLike }> {
    let lfs = 0;
    for (let i = data.indexOf(0x0a); i >= 0; i = data.indexOf(0x0a, i + 1)) lfs++;
    const eightBit = hasEightBit(data);
    return new Promise((resolve) => {
      p.conn.send({ from: sender, to, size: data.length + lfs, use8BitMime: eightBit } as SMTPConnection.Envelope, data, (err, info) =>
        resolve(err ? { err: err as SmtpErrorLike } : { info }),
      );
    });
  }

  /** The server offered 8BITMIME (what nodemailer saw in its EHLO reply). */
  const supports8BitMime = (p: Parked): boolean => ((p.conn as unknown as { _supportedExtensions?: string[] })._supportedExtensions ?? []).includes('8BITMIME');

  /** Delivers to one destination; returns results for every address in `to`. */
  async function deliverTo(key: string, targets: Target[], sender: string, to: string[], data: Buffer, tlsOptions: TlsOptions): Promise<Map<string, DeliveryResultTemplate>> {
    const out = new Map<string, DeliveryResultTemplate>();
    const failures: string[] = [];
    for (const t of targets) {
      const tkey = `${t.host}:${t.port}`;
      for (let attempt = 0; attempt < 2; attempt++) {
        const reused = attempt === 0 ? unpark(`${key}|${tkey}`) : undefined;
        let p: Parked;
        try {
          p = reused ?? (await connect(t, tlsOptions));
        } catch (err) {
          failures.push(`${tkey}: ${oneLine((err as SmtpErrorLike).response) || (err as Error).message}`);
          break; // next target
        }
        const payload = supports8BitMime(p) ? { data } : await sevenBitFor(`${tkey} (no 8BITMIME)`, data, to);
        if ('results' in payload) {
          park(`${key}|${tkey}`, p);
          for (const r of payload.results) out.set(r.rcpt, r);
          return out;
        }
        const { info, err } = await send(p, sender, to, payload.data);
        if (info) {
          const rejected = new Map((info.rejectedErrors ?? []).map((e) => [(e as SmtpErrorLike).recipient ?? '', e as SmtpErrorLike]));
          for (const a of to) {
            const r = rejected.get(a);
            out.set(a, r ? fromReply(r, t) : { outcome: 'ok', status: statusOf(info.response, '2'), reason: `${tkey} said: ${oneLine(info.response)}` });
          }
          park(`${key}|${tkey}`, p);
          return out;
        }
        const e = err!;
        if (e.code === 'EENVELOPE' || e.code === 'EMESSAGE') {
          // The server answered: per-recipient RCPT replies, else the MAIL or final reply for all.
          const env = (p.conn as unknown as { _envelope?: { rejectedErrors?: SmtpErrorLike[] } })._envelope;
          const perRcpt = new Map((e.rejectedErrors ?? env?.rejectedErrors ?? []).map((r) => [r.recipient ?? '', r]));
          for (const a of to) out.set(a, fromReply(perRcpt.get(a) ?? e, t));
          // Reusable after RSET; a connection in doubt is closed.
          p.conn.reset((rerr) => (rerr ? quit(p) : park(`${key}|${tkey}`, p)));
          return out;
        }
        p.dead = true;
        p.conn.close();
        failures.push(`${tkey}: ${e.code ?? 'error'} ${oneLine(e.response) || e.message}`);
        // A parked connection the server had already dropped: try a fresh one once.
        if (!reused) break;
        failures.pop();
      }
    }
    for (const a of to) out.set(a, { outcome: 'temp', status: '4.4.1', reason: `no connection: ${failures.join('; ') || 'no address'}` });
    return out;
  }

  function fromReply(e: SmtpErrorLike, t: Target): DeliveryResultTemplate {
    const response = oneLine(e.response);
    const code = e.responseCode ?? Number(/^\d{3}/.exec(response)?.[0] ?? 451);
    const outcome: Outcome = code >= 500 ? 'perm' : 'temp';
    return { outcome, status: statusOf(response, outcome === 'perm' ? '5' : '4'), reason: `${t.host}:${t.port} said: ${response || e.message}` };
  }

  async function closeAll(): Promise<void> {
    const all = [...parked.values()].flat();
    parked.clear();
    await Promise.all(
      all.map(
        (p) =>
          new Promise<void>((resolve) => {
            socketOf(p)?.ref();
            p.conn.once('end', () => resolve());
            setTimeout(resolve, 1000).unref();
            quit(p);
          }),
      ),
    );
  }

  return {
    name: 'smtp',
    world: 'inet',
    retryFactor: 20,
    closeAll,
    async deliver(job: DeliveryJob): Promise<DeliveryResult[]> {
      // The runner groups by next hop already; group again so a direct caller can mix.
      const groups = new Map<string, RoutedRecipient[]>();
      for (const r of job.recipients) {
        const k = `${r.route.router === 'dns' ? 'dns' : 'fixed'} ${r.route.nextHop ?? ''}`;
        groups.set(k, [...(groups.get(k) ?? []), r]);
      }
      const results: DeliveryResult[] = [];
      for (const [k, rcpts] of groups) {
        const nextHop = rcpts[0].route.nextHop;
        if (!nextHop) {
          results.push(...rcpts.map((r) => perm(r.rcpt, 'smtp route without a next hop', '5.3.5')));
          continue;
        }
        const port = opts.port ?? cfg().smtp_port;
        let tlsOptions: TlsOptions;
        try {
          tlsOptions = await connectionTls(policyFor(await policyTable(), parseNextHop(nextHop, port).host));
        } catch (err) {
          results.push(...rcpts.map((r) => temp(r.rcpt, (err as Error).message, '4.3.5')));
          continue;
        }
        const t = await resolveTargets(nextHop, k.startsWith('dns '), port, resolveMx);
        if ('error' in t) {
          results.push(...rcpts.map((r) => ({ rcpt: r.rcpt, ...t.error })));
          continue;
        }
        const to = [...new Set(rcpts.map((r) => r.route.address))];
        const got = await deliverTo(k, t.targets, job.envelope.sender, to, job.data, tlsOptions);
        for (const r of rcpts) {
          const g: DeliveryResultTemplate = got.get(r.route.address) ?? { outcome: 'temp', status: '4.3.0', reason: 'no result from smtp' };
          results.push({ rcpt: r.rcpt, ...g });
        }
      }
      return results;
    },
  };
}

