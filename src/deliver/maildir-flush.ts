// maildir2smtp: flushes a maildir of waiting mail to an SMTP server, with
// serialmail's semantics (maildirsmtp = maildirserial + serialsmtp,
// docs/bsmtp.md "AutoTURN"):
//
//   1. tmp/ files not accessed for 36 hours are removed.
//   2. Every file in new/ and cur/ (oldest mtime first; dot files and files with
//      a future mtime skipped) whose second line is `Delivered-To: PREFIX…` is a
//      message: the recipient is the rest of that line after PREFIX, the sender
//      the address in line 1 `Return-Path: <…>`. Those two lines are not sent;
//      the rest is sent with LF → CRLF and leading dots doubled (a last line
//      without a newline gets one).
//   3. One SMTP session: greeting, EHLO HELOHOST (HELO if refused), then per
//      message MAIL, RCPT, DATA, ".", and RSET between messages. The reply that
//      decides a message (the first non-2xx/3xx, or the final one after ".")
//      is printed as `<file>: <ip> to: <rcpt> said: <reply>`.
//        2xx → sent: the file is removed (only after the server's 250);
//        4xx → kept for the next flush (a message older than `lifetime`, default
//              14 days as maildirsmtp's -t 1209600, is bounced instead);
//        5xx → bounced to its Return-Path sender (through the caller's bounce
//              hook, i.e. our queue) and then removed.
//      A connection that fails leaves the remaining messages in place; one that
//      breaks mid-flush is opened again for the rest as long as the last
//      session decided at least one message (maildirserial's loop).
//      TLS: STARTTLS whenever the server offers it, as the smtp transport does,
//      under the host's config/tls_policy level (tls-policy.ts): `encrypt` and
//      `verify` make a server without it, or a failed handshake or certificate,
//      a connection failure (the messages stay). 8-bit: for a server without
//      8BITMIME each 8-bit message is made 7-bit (seven-bit.ts); one that
//      cannot be is bounced and removed, as a 5xx would be.
//   4. The maildir is locked against a concurrent flush: `.maildir2smtp.lock` in
//      the maildir, holding the pid (util/pid-file.ts); a lock whose process is
//      gone is taken over.
//
// The SMTP client here is our own (about a hundred lines) rather than
// nodemailer's smtp-connection: serialsmtp's rules need the verbatim reply at
// whichever step refused the message, RSET between messages, the file's bytes
// sent as they are (only line endings and dots changed), and its per-read and
// per-write timeouts; smtp-connection rewrites its input and folds several
// failures into one error.
import net from 'node:net';
import tls from 'node:tls';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fsyncDir } from '../util/durable.js';
import { GatewayError, EX } from '../util/errors.js';
import { tryPidFile } from '../util/pid-file.js';
import { bsmtpTransaction, dotStuff } from '../bsmtp/writer.js';
import { sevenBitFor } from './seven-bit.js';
import { connectionTls, type TlsPolicy } from './tls-policy.js';

export interface FlushOptions {
  maildir: string;
  prefix: string;
  host: string;
  port?: number;
  helo: string;
  /** Seconds after which a temporarily refused message is bounced (default 14 days). */
  lifetime?: number;
  /** The host's config/tls_policy entry (default may). */
  tlsPolicy?: TlsPolicy;
  /** Read and write timeouts in ms (serialsmtp: 81 s and 73 s). */
  readTimeout?: number;
  writeTimeout?: number;
  /** Queues a bounce for a refused message; must resolve only once it is durable. */
  bounce(msg: MaildirMessage, reply: string): Promise<void>;
  /** Called with each result line as it happens. */
  report?(line: string): void;
  now?: () => number;
}

export interface MaildirMessage {
  /** Path relative to the maildir (`new/…`, `cur/…`). */
  name: string;
  file: string;
  sender: string;
  recipient: string;
  mtime: number;
  /** The message without the Return-Path and Delivered-To lines. */
  body: Buffer;
}

export interface FlushResult {
  sent: string[];
  deferred: string[];
  bounced: string[];
  /** Why the first session could not be had, the connection error or the server's refusing reply (the messages stay). */
  connectError?: string;
  lines: string[];
}

/** 0 all sent (or nothing to send); 75 something stays for later; 65 something bounced. */
export function flushExitCode(r: FlushResult): number {
  if (r.connectError || r.deferred.length) return EX.TEMPFAIL;
  return r.bounced.length ? EX.DATAERR : EX.OK;
}

export const LOCK_NAME = '.maildir2smtp.lock';
const TMP_AGE = 36 * 3600 * 1000;

// ---------------------------------------------------------------- lock

export interface MaildirLock {
  release(): Promise<void>;
}

export async function lockMaildir(maildir: string): Promise<MaildirLock> {
  const file = path.join(maildir, LOCK_NAME);
  for (let attempt = 0; attempt < 2; attempt++) {
    let r;
    try {
      r = await tryPidFile(file, `${process.pid}\n`, { tmp: `${file}.${process.pid}`, mode: 0o600 });
    } catch (err) {
      throw new GatewayError(`cannot lock ${maildir}: ${(err as Error).message}`, { exitCode: EX.TEMPFAIL });
    }
    if (r.ok) return { release: () => fsp.unlink(file).catch(() => undefined) };
    // A stale lock (its process is gone) was removed: try again.
    if (!r.broken) throw new GatewayError(`${maildir} is being flushed by process ${r.pid} (${file})`, { exitCode: EX.TEMPFAIL });
  }
  throw new GatewayError(`cannot lock ${maildir}: ${file} keeps reappearing`, { exitCode: EX.TEMPFAIL });
}

// ---------------------------------------------------------------- scanning

/** The messages for `prefix`, oldest first. */
export async function scanMaildir(maildir: string, prefix: string, now = Date.now()): Promise<MaildirMessage[]> {
  await cleanTmp(maildir, now);
  const found: Array<{ name: string; file: string; mtime: number }> = [];
  for (const sub of ['new', 'cur']) {
    let names: string[];
    try {
      names = await fsp.readdir(path.join(maildir, sub));
    } catch {
      continue;
    }
    for (const n of names) {
      if (n.startsWith('.')) continue;
      const file = path.join(maildir, sub, n);
      const st = await fsp.stat(file).catch(() => undefined);
      if (!st?.isFile() || st.mtimeMs > now + 1000) continue;
      found.push({ name: `${sub}/${n}`, file, mtime: st.mtimeMs });
    }
  }
  found.sort((a, b) => a.mtime - b.mtime || (a.name < b.name ? -1 : 1));
  const out: MaildirMessage[] = [];
  for (const f of found) {
    const data = await fsp.readFile(f.file).catch(() => undefined);
    const m = data && parseMessage(data, prefix);
    if (m) out.push({ ...f, ...m });
  }
  return out;
}

/** Line 1 `Return-Path: <s>`, line 2 `Delivered-To: PREFIX r`; undefined when not ours. */
export function parseMessage(data: Buffer, prefix: string): { sender: string; recipient: string; body: Buffer } | undefined {
  const nl1 = data.indexOf(0x0a);
  if (nl1 < 0) return undefined;
  const nl2 = data.indexOf(0x0a, nl1 + 1);
  if (nl2 < 0) return undefined;
  const l1 = data.toString('latin1', 0, nl1).replace(/\r$/, '');
  const l2 = data.toString('latin1', nl1 + 1, nl2).replace(/\r$/, '');
  const dt = /^Delivered-To:\s*(.*)$/i.exec(l2);
  if (!dt || !dt[1].startsWith(prefix)) return undefined;
  const rp = /^Return-Path:\s*<(.*)>\s*$/i.exec(l1);
  if (!rp) return undefined;
  return { sender: rp[1], recipient: dt[1].slice(prefix.length), body: data.subarray(nl2 + 1) };
}

async function cleanTmp(maildir: string, now: number): Promise<void> {
  const dir = path.join(maildir, 'tmp');
  for (const n of await fsp.readdir(dir).catch(() => [] as string[])) {
    const st = await fsp.stat(path.join(dir, n)).catch(() => undefined);
    if (st?.isFile() && now - st.atimeMs > TMP_AGE) await fsp.unlink(path.join(dir, n)).catch(() => undefined);
  }
}

async function removeMessage(m: MaildirMessage): Promise<void> {
  await fsp.unlink(m.file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  await fsyncDir(path.dirname(m.file));
}

// ---------------------------------------------------------------- SMTP client

class SmtpClient {
  private buf = '';
  private waiting?: { resolve: (r: string) => void; reject: (e: Error) => void };
  private lines: string[] = [];
  private ready: string[] = [];
  private closed?: Error;

  private constructor(private readonly sock: net.Socket, private readonly readTimeout: number, private readonly writeTimeout: number) {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl).replace(/\r$/, '');
        this.buf = this.buf.slice(nl + 1);
        this.lines.push(line);
        if (/^\d{3}(?: |$)/.test(line)) {
          const reply = this.lines.join(' ').replace(/\s+/g, ' ').trim();
          this.lines = [];
          const w = this.waiting;
          this.waiting = undefined;
          if (w) w.resolve(reply);
          else this.ready.push(reply);
        }
      }
    });
    const fail = (e: Error): void => {
      this.closed ??= e;
      const w = this.waiting;
      this.waiting = undefined;
      w?.reject(this.closed);
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('connection closed by the server')));
  }

  static connect(host: string, port: number, timeout: number, readTimeout: number, writeTimeout: number): Promise<SmtpClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`timed out connecting to ${host}:${port}`));
      }, timeout);
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.removeAllListeners('error');
        resolve(new SmtpClient(sock, readTimeout, writeTimeout));
      });
    });
  }

  get remoteAddress(): string {
    return this.sock.remoteAddress ?? '?';
  }

  /** After the server's 220 to STARTTLS: a client over the TLS session (this one is spent). */
  startTls(options: tls.ConnectionOptions): Promise<SmtpClient> {
    for (const ev of ['data', 'error', 'close']) this.sock.removeAllListeners(ev);
    return new Promise((resolve, reject) => {
      const secure = tls.connect({ ...options, socket: this.sock });
      const timer = setTimeout(() => {
        secure.destroy();
        reject(new Error(`timed out after ${this.readTimeout / 1000} s in the TLS handshake`));
      }, this.readTimeout);
      secure.once('error', (e) => {
        clearTimeout(timer);
        secure.destroy();
        reject(new Error(`TLS: ${e.message}`));
      });
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        secure.removeAllListeners('error');
        resolve(new SmtpClient(secure, this.readTimeout, this.writeTimeout));
      });
    });
  }

  /** The next complete reply (multi-line replies joined by spaces). */
  reply(): Promise<string> {
    const early = this.ready.shift();
    if (early !== undefined) return Promise.resolve(early);
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`timed out after ${this.readTimeout / 1000} s waiting for a reply`));
        this.sock.destroy();
      }, this.readTimeout);
      this.waiting = {
        resolve: (r) => { clearTimeout(timer); resolve(r); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
    });
  }

  async send(data: string | Buffer): Promise<void> {
    if (this.closed) throw this.closed;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.sock.destroy();
        reject(new Error(`timed out after ${this.writeTimeout / 1000} s writing`));
      }, this.writeTimeout);
      this.sock.write(data, (err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  async command(line: string): Promise<string> {
    const r = this.reply();
    r.catch(() => undefined);
    await this.send(`${line}\r\n`);
    return r;
  }

  close(): void {
    this.sock.end();
    this.sock.destroy();
  }
}

const code = (reply: string): number => Number(reply.slice(0, 3)) || 0;
/** Whether an EHLO reply (its lines joined by spaces) lists the extension. */
const offers = (ehlo: string, ext: string): boolean => new RegExp(`(?:^| )250[- ]${ext}(?: |$)`, 'i').test(ehlo);

// ---------------------------------------------------------------- the flush

export async function flushMaildir(o: FlushOptions): Promise<FlushResult> {
  const result: FlushResult = { sent: [], deferred: [], bounced: [], lines: [] };
  const say = (line: string): void => {
    result.lines.push(line);
    o.report?.(line);
  };
  const lock = await lockMaildir(o.maildir);
  try {
    let rest = await scanMaildir(o.maildir, o.prefix, (o.now ?? Date.now)());
    // maildirserial's rule: a broken session is followed by another while the
    // last one got at least one message decided.
    for (let round = 0; rest.length; round++) {
      const done = await session(o, rest, result, say);
      if ('connectError' in done) {
        if (round === 0) result.connectError = done.connectError;
        result.deferred.push(...rest.map((m) => m.name));
        break;
      }
      rest = rest.slice(done.decided);
      if (!done.broken || done.decided === 0) {
        result.deferred.push(...rest.map((m) => m.name));
        break;
      }
    }
    return result;
  } finally {
    await lock.release();
  }
}

interface Session {
  client: SmtpClient;
  /** The server takes 8-bit data as it is. */
  eightBit: boolean;
}

/**
 * Connects, says EHLO (HELO if refused) and, when the server offers STARTTLS,
 * starts TLS and says EHLO again; when that fails or the TLS policy is not met,
 * says so and returns why.
 */
async function openSession(o: FlushOptions, say: (line: string) => void): Promise<Session | { error: string }> {
  const port = o.port ?? 25;
  let client: SmtpClient | undefined;
  try {
    const policy = await connectionTls(o.tlsPolicy ?? { level: 'may' });
    client = await SmtpClient.connect(o.host, port, o.readTimeout ?? 81_000, o.readTimeout ?? 81_000, o.writeTimeout ?? 73_000);
    const greeting = await client.reply();
    if (code(greeting) !== 220) throw new Error(`greeting: ${greeting}`);
    let hello = await hail(client, o.helo);
    if (offers(hello, 'STARTTLS')) {
      const r = await client.command('STARTTLS');
      if (code(r) !== 220) throw new Error(`STARTTLS: ${r}`);
      // A name for the certificate check (and SNI); an address is checked as itself.
      const plain = client;
      client = await plain.startTls({ ...policy.tls, host: o.host, ...(net.isIP(o.host) ? {} : { servername: o.host }) });
      hello = await hail(client, o.helo);
    } else if (policy.requireTLS) {
      throw new Error(`the server does not offer STARTTLS and config/tls_policy says ${o.tlsPolicy?.level} for ${o.host}`);
    }
    return { client, eightBit: offers(hello, '8BITMIME') };
  } catch (err) {
    client?.close();
    const error = (err as Error).message;
    say(`cannot talk to ${o.host}:${port}: ${error}`);
    return { error };
  }
}

/** EHLO, or HELO when EHLO is refused; the 250 reply. */
async function hail(client: SmtpClient, helo: string): Promise<string> {
  let hello = await client.command(`EHLO ${helo}`);
  if (code(hello) !== 250) hello = await client.command(`HELO ${helo}`);
  if (code(hello) !== 250) throw new Error(`HELO ${helo}: ${hello}`);
  return hello;
}

/**
 * One SMTP session over `messages` in order: how many were decided (sent,
 * bounced or deferred by a reply) and whether the session broke before the end;
 * or why no session could be opened.
 */
async function session(o: FlushOptions, messages: MaildirMessage[], result: FlushResult, say: (line: string) => void): Promise<{ decided: number; broken: boolean } | { connectError: string }> {
  const opened = await openSession(o, say);
  if ('error' in opened) return { connectError: opened.error };
  const { client, eightBit } = opened;
  const ip = client.remoteAddress;
  let i = 0;
  try {
    for (; i < messages.length; i++) {
      const m = messages[i]!;
      const payload = eightBit ? { data: m.body } : await sevenBitFor(`${o.host} (no 8BITMIME)`, m.body, [m.recipient]);
      let reply = '';
      if ('data' in payload) {
        try {
          reply = await sendOne(client, m, payload.data, i > 0);
        } catch (err) {
          // The session broke: this message and the rest stay for another session.
          say(`${m.name}: ${ip} connection lost: ${(err as Error).message}`);
          return { decided: i, broken: true };
        }
      }
      try {
        if ('data' in payload) await decide(o, m, reply, ip, result, say);
        else {
          const { status, reason } = payload.results[0]!;
          say(`${m.name}: not sent to ${ip}: ${reason}`);
          await refuse(o, m, `554 ${status} ${reason}`, result);
        }
      } catch (err) {
        // A local failure (bounce, unlink, fsync), not the line's: no new
        // session now, which would send this message again; the next flush retries.
        say(`${messages[i]!.name}: ${(err as Error).message}`);
        break;
      }
    }
    await client.command('QUIT').catch(() => undefined);
    return { decided: i, broken: false };
  } finally {
    client.close();
  }
}

/** Acts on the reply that decided message m: remove (2xx), bounce and remove (5xx, or 4xx too old), keep (4xx). */
async function decide(o: FlushOptions, m: MaildirMessage, reply: string, ip: string, result: FlushResult, say: (line: string) => void): Promise<void> {
  say(`${m.name}: ${ip} to: ${m.recipient} said: ${reply}`);
  const c = code(reply);
  if (c >= 200 && c < 300) {
    await removeMessage(m);
    result.sent.push(m.name);
  } else if (c >= 500 || (c >= 400 && (o.now ?? Date.now)() - m.mtime > (o.lifetime ?? 1209600) * 1000)) {
    await refuse(o, m, c >= 500 ? reply : `${reply} (and the message has been waiting too long)`, result);
  } else {
    result.deferred.push(m.name);
  }
}

/** Bounces m to its sender with `reply` as the reason, then removes it. */
async function refuse(o: FlushOptions, m: MaildirMessage, reply: string, result: FlushResult): Promise<void> {
  await o.bounce(m, reply);
  await removeMessage(m);
  result.bounced.push(m.name);
}

/** One transaction sending `body` (m's, made 7-bit if need be); returns the reply that decides the message's fate. */
async function sendOne(client: SmtpClient, m: MaildirMessage, body: Buffer, rset: boolean): Promise<string> {
  if (rset) {
    const r = await client.command('RSET');
    if (code(r) !== 250) return r;
  }
  let r = await client.command(`MAIL FROM:<${m.sender}>`);
  if (code(r) !== 250) return r;
  r = await client.command(`RCPT TO:<${m.recipient}>`);
  if (code(r) < 200 || code(r) >= 300) return r;
  r = await client.command('DATA');
  if (code(r) !== 354) return r;
  const final = client.reply();
  final.catch(() => undefined);
  await client.send(Buffer.concat([dotStuff(body, true), Buffer.from('.\r\n')]));
  return final;
}

// ---------------------------------------------------------------- maildirbsmtp

/**
 * serialmail has no BSMTP output, but the same maildir can be carried over UUCP:
 * the messages for `prefix` as one BSMTP batch (optionally with HELO/QUIT).
 * The caller removes the files (removeMessages) once the batch is safe.
 */
export async function maildirToBsmtp(maildir: string, prefix: string, helo?: string): Promise<{ batch: Buffer; messages: MaildirMessage[] }> {
  const messages = await scanMaildir(maildir, prefix);
  const parts = messages.map((m) => bsmtpTransaction(m.sender, [m.recipient], m.body));
  const head = helo ? [Buffer.from(`HELO ${helo}\n`)] : [];
  const tail = helo ? [Buffer.from('QUIT\n')] : [];
  return { batch: Buffer.concat([...head, ...parts, ...tail]), messages };
}

export async function removeMessages(messages: MaildirMessage[]): Promise<void> {
  for (const m of messages) await removeMessage(m);
}
