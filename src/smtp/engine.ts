// One SMTP server session as a state machine over the bytes the client sends:
// no sockets, no timers, no policy. Its user feeds it with receive(), gets
// replies through hooks.send (one string per batch of input, so the replies to
// pipelined commands leave in one write), and answers RCPT and complete
// messages through the other hooks, which may be asynchronous; input that
// arrives meanwhile waits its turn.
//
// Modes, by who is on the other end:
//   network  the LAN server (server.ts). Strict where RFC 5321 is: a command
//            line ends in CRLF only (a bare LF gets 500 and the line is
//            dropped), a line over LINE_LIMIT gets 500 and the session goes on
//            after its end, NUL bytes in commands are refused; addresses need a
//            domain. Ten such errors or unknown commands end the session (421).
//            DATA ends a pipelined group (RFC 2920 3.1): input already sent
//            behind a refused DATA is a body sent without waiting for the 354
//            (or a client out of step), so it is read to its end marker and
//            dropped, never taken for commands (local mode, a script's whole
//            dialogue at once, goes on with the next line). The server's
//            clocks follow hooks.expecting.
//   local    `sendmail -bs` (stream-session.ts): a program or a person at a
//            terminal on this machine, so as Exim's and sendmail's -bs: a bare
//            LF also ends a line (commands and data), blanks around a command
//            are dropped, and addresses may lack a domain (`bob`, `hub!zed`);
//            the error limit holds.
//   batch    BSMTP (inject/bsmtp-reader.ts), as local, with Exim's -bS rules: nobody
//            reads the replies, so refusals go to the batch hooks; no HELO is
//            needed, and HELO, EHLO, RSET or a second MAIL end an open
//            transaction (reported as dropped); VRFY, EXPN, HELP and ETRN are
//            no-ops; MAIL takes SIZE and BODY without EHLO (nobody could have
//            read the EHLO reply); there is no error limit; and DATA always
//            reads its message up to the ".", refused or not, so that body
//            lines are never taken for commands.
// The DATA phase is data-decoder.ts. STARTTLS and AUTH (network mode only):
// the user upgrades the connection when hooks.starttls is called and then calls
// secured(), after which the session starts afresh (RFC 3207 4.2: a new EHLO);
// the SASL steps are sasl.ts, the password check is hooks.authenticate.
import { DataDecoder, type DecodedData } from './data-decoder.js';
import { Sasl, type SaslStep } from './sasl.js';
import { parsePathArg, validHelo } from './syntax.js';
import { GatewayError } from '../util/errors.js';

/** RFC 5321's 512 octets plus room for ESMTP parameters, without the CRLF. */
export const LINE_LIMIT = 1000;
const MAX_ERRORS = 10;
const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);
const LF_BUF = Buffer.from('\n');
const HTTP = /^[A-Z]+ \S+ HTTP\/\d/;
/** Input kept while waiting for a hook before reading stops (pipelined commands are far less). */
const HOLD_BYTES = 64 * 1024;
const BATCH_NO_OPS = new Set(['VRFY', 'EXPN', 'HELP', 'ETRN']);

/** A refusal from policy: reply code, enhanced status, text. */
export interface Verdict {
  code: number;
  status: string;
  text: string;
}

export interface Transaction {
  sender: string;
  recipients: string[];
  /** Recipients refused at RCPT, and why. */
  refused: Array<{ addr: string; why: Verdict }>;
  /** The EHLO/HELO name ('' in a batch without one). */
  helo: string;
  /** SMTP, ESMTP, or with TLS and AUTH ESMTPS, ESMTPA, ESMTPSA (RFC 3848). */
  protocol: string;
  /** The authenticated user, if any. */
  user?: string;
  /** Where its MAIL command starts in the input (byte offset). */
  offset: number;
}

export type SessionMode = 'network' | 'local' | 'batch';

/** What the session waits for: a command line, a message's data, or nothing from the client (a hook, or the end). */
export type Expecting = 'command' | 'data' | 'none';

export interface SessionHooks {
  /** Replies to send (CRLF-terminated lines); close the connection after them when `close`. */
  send(text: string, close: boolean): void;
  /** A recipient is acceptable (undefined) or not. */
  rcpt(addr: string): Verdict | undefined | Promise<Verdict | undefined>;
  /** A complete, well-formed message: resolves with the final reply's verdict (2xx once durable). */
  message(tx: Transaction, data: Buffer): Promise<Verdict>;
  /** Stop (true) or go on (false) reading from the client: input piles up while a hook is slow. */
  hold(on: boolean): void;
  /** Batch mode: a command refused (RCPT in a transaction aside); `offset`: where it starts in the input. */
  refused?(offset: number, why: Verdict): void;
  /**
   * Batch mode: a transaction or message that was not accepted: one ended before
   * DATA (`data` empty), or a message read to its end and refused as a whole (no
   * `tx` without MAIL). `offset`: where its MAIL, or DATA without MAIL, starts.
   */
  dropped?(tx: Transaction | undefined, data: Buffer, offset: number, why: Verdict): void;
  /**
   * The session has done all it can with the input and now waits for `what`:
   * told once per command line awaited (not per partial chunk), and when DATA
   * starts, a hook is awaited, or the session ends.
   */
  expecting?(what: Expecting): void;
  /** The 220 to STARTTLS is sent: upgrade the connection, then call secured(). Nothing is read meanwhile. */
  starttls?(): void;
  /** A complete AUTH exchange: resolves with the reply, 235 when the password is right (`user`: the name as the password source spells it). */
  authenticate?(user: string, password: string): Promise<Verdict & { user?: string }>;
  /** MAIL FROM: a refusal for this sender (`user`: the authenticated one), or undefined. */
  sender?(addr: string, user: string | undefined): Verdict | undefined;
}

export interface SessionOptions {
  hostname: string;
  /** The client as the EHLO reply names it (`[192.0.2.1]`). */
  client: string;
  /** SIZE: bytes as transmitted. */
  sizeLimit: number;
  maxRecipients: number;
  /** Default 'network'. */
  mode?: SessionMode;
  /** STARTTLS is offered (until the connection is secured). */
  starttls?: boolean;
  /** AUTH is offered: only once secured ('tls'), or in clear too ('always'); default never. */
  auth?: 'tls' | 'always';
  /** MAIL needs AUTH first (the submission port). */
  authRequired?: boolean;
}

/** What the input left unfinished when it ended (see finish()). */
export interface Unfinished {
  /** The open transaction. */
  tx?: Transaction;
  /** Where the DATA command of a message still being read starts. */
  dataAt?: number;
}

const line = (code: number, status: string, text: string): string => `${code} ${status} ${text}\r\n`;

/** The final reply for a message whose accept hook failed: 554 when permanent, else 451 (with a 4.x.x status). */
export function failureVerdict(err: unknown): Verdict {
  const e = err instanceof GatewayError ? err : undefined;
  const temporary = !e || e.temporary;
  const status = e?.status ?? '4.3.0';
  return { code: temporary ? 451 : 554, status: temporary && !status.startsWith('4') ? '4.3.0' : status, text: (err as Error).message.replace(/[\r\n]+/g, ' ') };
}

/** The address of an RCPT argument too broken to parse, for reports. */
const rawPath = (arg: string): string => /<([^>]*)>/.exec(arg)?.[1] ?? arg.slice(3).trim();

export class SmtpSession {
  private input: Buffer = EMPTY;
  private out = '';
  private busy = false;
  private closed = false;
  /** Dropping the rest of an over-long line. */
  private discarding = false;
  private errors = 0;
  private helo: string | undefined;
  private protocol: 'ESMTP' | 'SMTP' = 'SMTP';
  private sender: string | undefined;
  private recipients: string[] = [];
  private refusedRcpts: Transaction['refused'] = [];
  private decoder: DataDecoder | undefined;
  /** Reading is stopped until the hook we wait for is done. */
  private holding = false;
  /** An end() that came while waiting for a hook: the hook's reply goes first. */
  private ending: [string, string] | undefined;
  /** The hook being waited for, and what follows it. */
  private pending: Promise<void> = Promise.resolve();
  /** Bytes received in all: less input.length, where the input we are at starts. */
  private received = 0;
  /** Where the current command line starts, and the transaction's MAIL and DATA. */
  private lineAt = 0;
  private mailAt = 0;
  private dataAt = 0;
  /** Batch mode: why the message being read will be refused. */
  private dataRefusal: Verdict | undefined;
  /** The data being read follows a refused DATA and is dropped. */
  private skipping = false;
  /** Command lines taken so far, and what expecting() last told (at which line). */
  private lines = 0;
  private told: { what: Expecting; lines: number } | undefined;
  /** The last byte received was not a line end. */
  private unterminated = false;
  private readonly lenient: boolean;
  private readonly batch: boolean;
  /** The connection has been upgraded by STARTTLS. */
  private secure = false;
  private user: string | undefined;
  /** An AUTH exchange waiting for the client's next response line. */
  private sasl: Sasl | undefined;
  /** Ends the wait for the TLS handshake (secured()). */
  private tlsDone: (() => void) | undefined;

  constructor(
    private readonly opts: SessionOptions,
    private readonly hooks: SessionHooks,
  ) {
    this.lenient = opts.mode === 'local' || opts.mode === 'batch';
    this.batch = opts.mode === 'batch';
    if (this.batch) this.helo = '';
  }

  /** The greeting. */
  start(banner: string): void {
    if (this.closed) return; // ended (shutdown) before the greeting
    this.out += `220 ${this.opts.hostname} ESMTP ${banner}\r\n`;
    this.settle();
  }

  receive(chunk: Buffer): void {
    if (this.closed || !chunk.length) return;
    this.received += chunk.length;
    this.unterminated = chunk[chunk.length - 1] !== LF;
    this.input = this.input.length ? Buffer.concat([this.input, chunk]) : chunk;
    if (!this.busy) this.pump();
    else if (this.input.length > HOLD_BYTES && !this.holding) this.hooks.hold((this.holding = true));
  }

  /** Ends the session with a 421 (idle timeout, shutdown); nothing more is read. */
  end(status: string, text: string): void {
    if (this.closed) return;
    if (this.busy) {
      this.ending = [status, text];
      return;
    }
    this.out += line(421, status, `${this.opts.hostname} ${text}`);
    this.closed = true;
    this.settle();
  }

  /** The TLS handshake after STARTTLS is done: the session starts again, waiting for EHLO. */
  secured(): void {
    this.secure = true;
    this.user = undefined;
    this.helo = undefined;
    this.protocol = 'SMTP';
    this.resetTransaction();
    this.tlsDone?.();
    this.tlsDone = undefined;
  }

  /** The connection is gone (or the user gives up): nothing more is read or sent. */
  abort(): void {
    this.closed = true;
  }

  /** The input has ended: resolves once all of it is handled, with what it left unfinished. */
  async finish(): Promise<Unfinished> {
    // Where line ends are lax, a last line without one still counts.
    if (this.unterminated && this.lenient) this.receive(LF_BUF);
    while (this.busy) await this.pending;
    return { tx: this.sender === undefined ? undefined : this.transaction(), dataAt: this.decoder ? this.dataAt : undefined };
  }

  private pump(): void {
    while (!this.busy && !this.closed && this.input.length) {
      if (this.decoder) this.dataBytes();
      else if (!this.nextLine()) break;
    }
    this.settle();
  }

  private flush(): void {
    if (!this.out) return;
    const text = this.out;
    this.out = '';
    this.hooks.send(text, this.closed);
  }

  /** Replies out, then hooks.expecting told what comes next if that changed. */
  private settle(): void {
    this.flush();
    if (!this.hooks.expecting) return;
    const what: Expecting = this.closed || this.busy ? 'none' : this.decoder ? 'data' : 'command';
    if (this.told && this.told.what === what && (what !== 'command' || this.told.lines === this.lines)) return;
    this.told = { what, lines: this.lines };
    this.hooks.expecting(what);
  }

  /** Takes one command line off the input; false when none is complete yet. */
  private nextLine(): boolean {
    const input = this.input;
    const nl = input.indexOf(LF);
    if (!this.discarding) this.lineAt = this.received - input.length;
    if (nl < 0) {
      if (input.length > LINE_LIMIT + 1) {
        if (!this.discarding) this.error(`line too long (limit ${LINE_LIMIT} characters)`);
        this.discarding = true;
        this.input = EMPTY;
      }
      return false;
    }
    this.input = input.subarray(nl + 1);
    this.lines++;
    if (this.discarding) {
      this.discarding = false;
      return true;
    }
    const crlf = nl > 0 && input[nl - 1] === CR;
    const end = crlf ? nl - 1 : nl;
    if (!crlf && !this.lenient) this.error('command line ends in a bare LF; lines must end in CRLF');
    else if (end > LINE_LIMIT) this.error(`line too long (limit ${LINE_LIMIT} characters)`);
    else {
      const text = input.toString('latin1', 0, end);
      if (text.includes('\0')) this.error('NUL byte in command');
      else if (this.sasl) this.saslResponse(text);
      else this.command(this.lenient ? text.trim() : text);
    }
    return true;
  }

  /** A protocol error; the tenth ends a live session. */
  private error(text: string): void {
    if (!this.batch && ++this.errors >= MAX_ERRORS) return this.end('4.7.0', 'too many errors, closing connection');
    this.refuse(500, '5.5.2', text);
  }

  private reply(code: number, status: string, text: string): void {
    this.out += line(code, status, text);
  }

  /** A command refused: a batch has nobody to read the reply, so it is reported instead. */
  private refuse(code: number, status: string, text: string): void {
    if (this.batch) return this.hooks.refused?.(this.lineAt, { code, status, text });
    this.reply(code, status, text);
  }

  private command(text: string): void {
    const sp = text.indexOf(' ');
    const verb = (sp < 0 ? text : text.slice(0, sp)).toUpperCase();
    const arg = sp < 0 ? '' : text.slice(sp + 1);
    if (this.batch && BATCH_NO_OPS.has(verb)) return;
    switch (verb) {
      case 'EHLO':
      case 'HELO':
        return this.hello(verb, arg.trim());
      case 'MAIL':
        return this.mail(arg);
      case 'RCPT':
        return this.rcpt(arg);
      case 'DATA':
        return this.data(arg);
      case 'STARTTLS':
        return this.startTls(arg);
      case 'AUTH':
        return this.auth(arg);
      case 'RSET':
        this.abandon('RSET');
        return this.reply(250, '2.0.0', 'Flushed');
      case 'NOOP':
        return this.reply(250, '2.0.0', 'OK');
      case 'QUIT':
        this.reply(221, '2.0.0', `${this.opts.hostname} closing connection`);
        this.closed = true;
        return;
      case 'VRFY':
        return this.reply(252, '2.5.2', 'not verified; send mail and it will be delivered or bounced');
      case 'EXPN':
        return this.refuse(502, '5.5.1', 'EXPN not available');
      case 'HELP':
        return this.reply(214, '2.0.0', 'commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP');
      default:
        if (HTTP.test(text)) return this.end('4.7.0', 'HTTP requests not allowed, closing connection');
        return this.error('command not recognized');
    }
  }

  private hello(verb: string, name: string): void {
    const valid = validHelo(name);
    if (!valid && !this.batch) return this.refuse(501, '5.5.4', `syntax: ${verb} hostname`);
    this.abandon(verb);
    if (valid) this.helo = name; // a batch's bare HELO keeps the name it gave before
    const greeting = `${this.opts.hostname} Nice to meet you, ${this.opts.client}`;
    if (verb === 'HELO') {
      this.protocol = 'SMTP';
      this.out += `250 ${greeting}\r\n`;
      return;
    }
    this.protocol = 'ESMTP';
    const tls = this.tlsOffered() ? '250-STARTTLS\r\n' : '';
    const auth = this.authOffered() ? '250-AUTH PLAIN LOGIN\r\n' : '';
    this.out += `250-${greeting}\r\n250-PIPELINING\r\n250-8BITMIME\r\n${tls}${auth}250-ENHANCEDSTATUSCODES\r\n250 SIZE ${this.opts.sizeLimit}\r\n`;
  }

  private tlsOffered(): boolean {
    return !this.batch && !this.secure && !!this.opts.starttls && !!this.hooks.starttls;
  }

  private authOffered(): boolean {
    return !this.batch && !!this.hooks.authenticate && (this.opts.auth === 'always' || (this.opts.auth === 'tls' && this.secure));
  }

  private startTls(arg: string): void {
    if (!this.tlsOffered()) return this.refuse(502, '5.5.1', this.secure ? 'TLS already active' : 'STARTTLS not available');
    if (arg !== '') return this.refuse(501, '5.5.4', 'syntax: STARTTLS');
    this.reply(220, '2.0.0', 'Ready to start TLS');
    this.flush();
    // Anything pipelined behind STARTTLS came in clear: it must not be taken as said under TLS.
    this.input = EMPTY;
    this.wait(new Promise<void>((resolve) => (this.tlsDone = resolve)));
    this.hooks.starttls!();
  }

  private auth(arg: string): void {
    if (!this.authOffered()) {
      if (this.opts.auth === 'tls' && !this.secure && this.hooks.authenticate) return this.refuse(530, '5.7.0', 'Must issue a STARTTLS command first');
      return this.refuse(502, '5.5.1', 'AUTH not available');
    }
    if (this.protocol !== 'ESMTP') return this.refuse(503, '5.5.1', 'send EHLO first');
    if (this.user !== undefined) return this.refuse(503, '5.5.1', 'already authenticated');
    if (this.sender !== undefined) return this.refuse(503, '5.5.1', 'AUTH not allowed in a mail transaction');
    const started = Sasl.start(arg);
    if ('code' in started) return this.refuse(started.code, started.status, started.text);
    this.sasl = started;
    this.saslStep(started.first());
  }

  private saslResponse(text: string): void {
    this.saslStep(this.sasl!.respond(text));
  }

  private saslStep(step: SaslStep): void {
    if ('challenge' in step) {
      this.out += `334 ${step.challenge}\r\n`;
      return;
    }
    this.sasl = undefined;
    if ('refusal' in step) return this.refuse(step.refusal.code, step.refusal.status, step.refusal.text);
    const { user, password } = step;
    this.wait(
      this.hooks.authenticate!(user, password)
        .catch((): Verdict & { user?: string } => ({ code: 454, status: '4.7.0', text: 'temporary authentication failure' }))
        .then((v) => {
          if (v.code === 235) this.user = v.user ?? user;
          this.reply(v.code, v.status, v.text);
        }),
    );
  }

  private mail(arg: string): void {
    if (this.helo === undefined) return this.refuse(503, '5.5.1', 'send HELO/EHLO first');
    if (this.sender !== undefined && !this.batch) return this.refuse(503, '5.5.1', 'nested MAIL command');
    if (this.opts.authRequired && this.user === undefined) return this.refuse(530, '5.7.0', 'Authentication required');
    this.abandon('MAIL (no DATA)');
    const p = parsePathArg(arg, 'FROM', this.lenient);
    // A bare `postmaster` is a recipient only, unless unqualified addresses are taken anyway.
    if (!p || (!this.lenient && p.path.toLowerCase() === 'postmaster')) return this.refuse(501, '5.1.7', 'bad sender address syntax');
    for (const param of p.params) {
      const refusal = this.mailParam(param);
      if (refusal) return this.refuse(refusal.code, refusal.status, refusal.text);
    }
    const wrongSender = this.hooks.sender?.(p.path, this.user);
    if (wrongSender) return this.refuse(wrongSender.code, wrongSender.status, wrongSender.text);
    this.sender = p.path;
    this.mailAt = this.lineAt;
    this.reply(250, '2.1.0', 'Accepted');
  }

  /** SIZE and BODY, and only after EHLO. */
  private mailParam(param: string): Verdict | undefined {
    const eq = param.indexOf('=');
    const key = (eq < 0 ? param : param.slice(0, eq)).toUpperCase();
    const value = eq < 0 ? '' : param.slice(eq + 1);
    // AUTH=: RFC 4954 5, who the message was first submitted by; we record our own client only.
    if (key === 'AUTH' && this.authOffered() && this.protocol === 'ESMTP') return undefined;
    if ((this.protocol !== 'ESMTP' && !this.batch) || (key !== 'SIZE' && key !== 'BODY')) return { code: 555, status: '5.5.4', text: `parameter ${key} not supported` };
    if (key === 'BODY') return /^(?:7BIT|8BITMIME)$/i.test(value) ? undefined : { code: 501, status: '5.5.4', text: `BODY=${value} not supported` };
    if (!/^\d{1,15}$/.test(value)) return { code: 501, status: '5.5.4', text: 'bad SIZE parameter' };
    if (Number(value) > this.opts.sizeLimit) return { code: 552, status: '5.3.4', text: `message size ${value} exceeds fixed maximum message size of ${this.opts.sizeLimit} bytes` };
    return undefined;
  }

  private rcpt(arg: string): void {
    if (this.sender === undefined) return this.refuse(503, '5.5.1', 'need MAIL command');
    const p = parsePathArg(arg, 'TO', this.lenient);
    if (!p || p.path === '') return this.refuseRecipient(rawPath(arg), { code: 501, status: '5.1.3', text: 'bad recipient address syntax' });
    if (p.params.length) return this.refuseRecipient(p.path, { code: 555, status: '5.5.4', text: 'RCPT TO parameters not supported' });
    if (this.recipients.length >= this.opts.maxRecipients) return this.refuseRecipient(p.path, { code: 452, status: '4.5.3', text: 'too many recipients' });
    const accept = (v: Verdict | undefined): void => {
      if (v) return this.refuseRecipient(p.path, v);
      this.recipients.push(p.path);
      this.reply(250, '2.1.5', 'Accepted');
    };
    let verdict: Verdict | undefined | Promise<Verdict | undefined>;
    try {
      verdict = this.hooks.rcpt(p.path);
    } catch {
      verdict = { code: 451, status: '4.3.0', text: `<${p.path}>: temporary failure` };
    }
    if (!(verdict instanceof Promise)) return accept(verdict);
    this.wait(verdict.catch(() => ({ code: 451, status: '4.3.0', text: `<${p.path}>: temporary failure` })).then(accept));
  }

  private refuseRecipient(addr: string, why: Verdict): void {
    this.refusedRcpts.push({ addr, why });
    this.reply(why.code, why.status, why.text);
  }

  private data(arg: string): void {
    const refusal = this.refuseDataCommand(arg);
    if (refusal && !this.batch) {
      this.refuse(refusal.code, refusal.status, refusal.text);
      if (this.input.length && !this.lenient) this.skipping = true;
      else return;
    }
    this.dataRefusal = refusal;
    this.dataAt = this.lineAt;
    this.decoder = new DataDecoder(this.opts.sizeLimit, this.lenient);
    if (!this.skipping) this.out += '354 End data with <CR><LF>.<CR><LF>\r\n';
  }

  private refuseDataCommand(arg: string): Verdict | undefined {
    if (this.sender === undefined) return { code: 503, status: '5.5.1', text: 'need MAIL command' };
    if (this.recipients.length === 0) return { code: 503, status: '5.5.1', text: 'need RCPT command' };
    if (arg !== '') return { code: 501, status: '5.5.4', text: 'syntax: DATA' };
    return undefined;
  }

  private dataBytes(): void {
    const r = this.decoder!.push(this.input);
    this.input = r ? r.rest : EMPTY;
    if (!r) return;
    this.decoder = undefined;
    if (this.skipping) {
      this.skipping = false;
      return this.resetTransaction();
    }
    const tx = this.sender === undefined ? undefined : this.transaction();
    const refusal = this.dataRefusal ?? this.refuseData(r.done);
    this.dataRefusal = undefined;
    this.resetTransaction();
    if (refusal && this.batch) return this.hooks.dropped?.(tx, r.done.data ?? EMPTY, tx?.offset ?? this.dataAt, refusal);
    if (refusal) return this.reply(refusal.code, refusal.status, refusal.text);
    this.flush(); // the client may be waiting for the 354 already sent
    this.wait(
      this.hooks
        .message(tx!, r.done.data!)
        .catch(failureVerdict)
        .then((v) => this.reply(v.code, v.status, v.text)),
    );
  }

  private refuseData(d: DecodedData): Verdict | undefined {
    if (!d.data) return { code: 552, status: '5.3.4', text: `message exceeds fixed maximum message size of ${this.opts.sizeLimit} bytes` };
    if (d.bareLf !== undefined) return { code: 554, status: '5.6.0', text: `message contains a bare LF at byte offset ${d.bareLf}; lines must end in CRLF` };
    return undefined;
  }

  /** Holds the input until `p` settles, then goes on with it. */
  private wait(p: Promise<void>): void {
    this.busy = true;
    this.pending = p.then(() => {
      this.busy = false;
      if (this.holding) this.hooks.hold((this.holding = false));
      if (this.ending) this.end(...this.ending);
      if (!this.closed) this.pump();
    });
  }

  private transaction(): Transaction {
    // RFC 3848: ESMTPS, ESMTPA, ESMTPSA.
    const protocol = this.protocol === 'ESMTP' ? `ESMTP${this.secure ? 'S' : ''}${this.user !== undefined ? 'A' : ''}` : this.protocol;
    const tx: Transaction = { sender: this.sender!, recipients: this.recipients, refused: this.refusedRcpts, helo: this.helo!, protocol, offset: this.mailAt };
    if (this.user !== undefined) tx.user = this.user;
    return tx;
  }

  /** Ends the open transaction, if any; a batch reports it (by `what`) as dropped. */
  private abandon(what: string): void {
    if (this.batch && this.sender !== undefined) this.hooks.dropped?.(this.transaction(), EMPTY, this.mailAt, { code: 554, status: '5.5.1', text: `transaction abandoned by ${what}` });
    this.resetTransaction();
  }

  private resetTransaction(): void {
    this.sender = undefined;
    this.recipients = [];
    this.refusedRcpts = [];
  }
}
