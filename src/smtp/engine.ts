// One SMTP server session as a state machine over the bytes the client sends:
// no sockets, no timers, no policy. The server (server.ts) feeds it with
// receive(), gets replies through hooks.send (one string per batch of input, so
// the replies to pipelined commands leave in one write), and answers RCPT and
// complete messages through the other hooks, which may be asynchronous; input
// that arrives meanwhile waits its turn.
//
// Strict where RFC 5321 is: a command line ends in CRLF only (a bare LF gets 500
// and the line is dropped), a line over LINE_LIMIT gets 500 and the session
// goes on after its end, NUL bytes in commands are refused; the DATA phase is
// data-decoder.ts. Ten such errors or unknown commands end the session (421).
import { DataDecoder, type DecodedData } from './data-decoder.js';
import { parsePathArg, validHelo } from './syntax.js';

/** RFC 5321's 512 octets plus room for ESMTP parameters, without the CRLF. */
export const LINE_LIMIT = 1000;
const MAX_ERRORS = 10;
const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);
const HTTP = /^[A-Z]+ \S+ HTTP\/\d/;
/** Input kept while waiting for a hook before reading stops (pipelined commands are far less). */
const HOLD_BYTES = 64 * 1024;

/** A refusal from policy: reply code, enhanced status, text. */
export interface Verdict {
  code: number;
  status: string;
  text: string;
}

export interface Transaction {
  sender: string;
  recipients: string[];
  /** The EHLO/HELO name. */
  helo: string;
  protocol: 'ESMTP' | 'SMTP';
}

export interface SessionHooks {
  /** Replies to send (CRLF-terminated lines); close the connection after them when `close`. */
  send(text: string, close: boolean): void;
  /** A recipient is acceptable (undefined) or not. */
  rcpt(addr: string): Verdict | undefined | Promise<Verdict | undefined>;
  /** A complete, well-formed message: resolves with the final reply's verdict (2xx once durable). */
  message(tx: Transaction, data: Buffer): Promise<Verdict>;
  /** Stop (true) or go on (false) reading from the client: input piles up while a hook is slow. */
  hold(on: boolean): void;
}

export interface SessionOptions {
  hostname: string;
  /** The client's address, for the EHLO reply. */
  clientIp: string;
  /** SIZE: bytes as transmitted. */
  sizeLimit: number;
  maxRecipients: number;
}

const line = (code: number, status: string, text: string): string => `${code} ${status} ${text}\r\n`;

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
  private decoder: DataDecoder | undefined;
  /** Reading is stopped until the hook we wait for is done. */
  private holding = false;
  /** An end() that came while waiting for a hook: the hook's reply goes first. */
  private ending: [string, string] | undefined;

  constructor(
    private readonly opts: SessionOptions,
    private readonly hooks: SessionHooks,
  ) {}

  /** The greeting. */
  start(banner: string): void {
    this.out += `220 ${this.opts.hostname} ESMTP ${banner}\r\n`;
    this.flush();
  }

  receive(chunk: Buffer): void {
    if (this.closed) return;
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
    this.flush();
  }

  /** The connection is gone: nothing more is sent. */
  abort(): void {
    this.closed = true;
  }

  private pump(): void {
    while (!this.busy && !this.closed && this.input.length) {
      if (this.decoder) this.dataBytes();
      else if (!this.nextLine()) break;
    }
    this.flush();
  }

  private flush(): void {
    if (!this.out) return;
    const text = this.out;
    this.out = '';
    this.hooks.send(text, this.closed);
  }

  /** Takes one command line off the input; false when none is complete yet. */
  private nextLine(): boolean {
    const input = this.input;
    const nl = input.indexOf(LF);
    if (nl < 0) {
      if (input.length > LINE_LIMIT + 1) {
        if (!this.discarding) this.error(line(500, '5.5.2', `line too long (limit ${LINE_LIMIT} characters)`));
        this.discarding = true;
        this.input = EMPTY;
      }
      return false;
    }
    this.input = input.subarray(nl + 1);
    if (this.discarding) {
      this.discarding = false;
      return true;
    }
    const crlf = nl > 0 && input[nl - 1] === CR;
    const end = crlf ? nl - 1 : nl;
    if (!crlf) this.error(line(500, '5.5.2', 'command line ends in a bare LF; lines must end in CRLF'));
    else if (end > LINE_LIMIT) this.error(line(500, '5.5.2', `line too long (limit ${LINE_LIMIT} characters)`));
    else {
      const text = input.toString('latin1', 0, end);
      if (text.includes('\0')) this.error(line(500, '5.5.2', 'NUL byte in command'));
      else this.command(text);
    }
    return true;
  }

  /** A protocol error; the tenth ends the session. */
  private error(reply: string): void {
    if (++this.errors >= MAX_ERRORS) return this.end('4.7.0', 'too many errors, closing connection');
    this.out += reply;
  }

  private reply(code: number, status: string, text: string): void {
    this.out += line(code, status, text);
  }

  private command(text: string): void {
    const sp = text.indexOf(' ');
    const verb = (sp < 0 ? text : text.slice(0, sp)).toUpperCase();
    const arg = sp < 0 ? '' : text.slice(sp + 1);
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
      case 'RSET':
        this.resetTransaction();
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
        return this.reply(502, '5.5.1', 'EXPN not available');
      case 'HELP':
        return this.reply(214, '2.0.0', 'commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP');
      default:
        if (HTTP.test(text)) return this.end('4.7.0', 'HTTP requests not allowed, closing connection');
        return this.error(line(500, '5.5.2', 'command not recognized'));
    }
  }

  private hello(verb: string, name: string): void {
    if (!validHelo(name)) return this.reply(501, '5.5.4', `syntax: ${verb} hostname`);
    this.resetTransaction();
    this.helo = name;
    const greeting = `${this.opts.hostname} Nice to meet you, [${this.opts.clientIp}]`;
    if (verb === 'HELO') {
      this.protocol = 'SMTP';
      this.out += `250 ${greeting}\r\n`;
      return;
    }
    this.protocol = 'ESMTP';
    this.out += `250-${greeting}\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 SIZE ${this.opts.sizeLimit}\r\n`;
  }

  private mail(arg: string): void {
    if (this.helo === undefined) return this.reply(503, '5.5.1', 'send HELO/EHLO first');
    if (this.sender !== undefined) return this.reply(503, '5.5.1', 'nested MAIL command');
    const p = parsePathArg(arg, 'FROM');
    if (!p || p.path.toLowerCase() === 'postmaster') return this.reply(501, '5.1.7', 'bad sender address syntax');
    for (const param of p.params) {
      const refusal = this.mailParam(param);
      if (refusal) return this.reply(refusal.code, refusal.status, refusal.text);
    }
    this.sender = p.path;
    this.reply(250, '2.1.0', 'Accepted');
  }

  /** SIZE and BODY, and only after EHLO. */
  private mailParam(param: string): Verdict | undefined {
    const eq = param.indexOf('=');
    const key = (eq < 0 ? param : param.slice(0, eq)).toUpperCase();
    const value = eq < 0 ? '' : param.slice(eq + 1);
    if (this.protocol !== 'ESMTP' || (key !== 'SIZE' && key !== 'BODY')) return { code: 555, status: '5.5.4', text: `parameter ${key} not supported` };
    if (key === 'BODY') return /^(?:7BIT|8BITMIME)$/i.test(value) ? undefined : { code: 501, status: '5.5.4', text: `BODY=${value} not supported` };
    if (!/^\d{1,15}$/.test(value)) return { code: 501, status: '5.5.4', text: 'bad SIZE parameter' };
    if (Number(value) > this.opts.sizeLimit) return { code: 552, status: '5.3.4', text: `message size ${value} exceeds fixed maximum message size of ${this.opts.sizeLimit} bytes` };
    return undefined;
  }

  private rcpt(arg: string): void {
    if (this.sender === undefined) return this.reply(503, '5.5.1', 'need MAIL command');
    const p = parsePathArg(arg, 'TO');
    if (!p || p.path === '') return this.reply(501, '5.1.3', 'bad recipient address syntax');
    if (p.params.length) return this.reply(555, '5.5.4', 'RCPT TO parameters not supported');
    if (this.recipients.length >= this.opts.maxRecipients) return this.reply(452, '4.5.3', 'too many recipients');
    const accept = (v: Verdict | undefined): void => {
      if (v) return this.reply(v.code, v.status, v.text);
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

  private data(arg: string): void {
    if (this.sender === undefined) return this.reply(503, '5.5.1', 'need MAIL command');
    if (this.recipients.length === 0) return this.reply(503, '5.5.1', 'need RCPT command');
    if (arg !== '') return this.reply(501, '5.5.4', 'syntax: DATA');
    this.decoder = new DataDecoder(this.opts.sizeLimit);
    this.out += '354 End data with <CR><LF>.<CR><LF>\r\n';
  }

  private dataBytes(): void {
    const r = this.decoder!.push(this.input);
    this.input = r ? r.rest : EMPTY;
    if (!r) return;
    this.decoder = undefined;
    const tx: Transaction = { sender: this.sender!, recipients: this.recipients, helo: this.helo!, protocol: this.protocol };
    this.resetTransaction();
    const refusal = this.refuseData(r.done);
    if (refusal) return this.reply(refusal.code, refusal.status, refusal.text);
    this.flush(); // the client may be waiting for the 354 already sent
    this.wait(
      this.hooks
        .message(tx, r.done.data!)
        .catch((err: unknown) => ({ code: 451, status: '4.3.0', text: (err as Error).message }))
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
    void p.then(() => {
      this.busy = false;
      if (this.holding) this.hooks.hold((this.holding = false));
      if (this.ending) this.end(...this.ending);
      if (!this.closed) this.pump();
    });
  }

  private resetTransaction(): void {
    this.sender = undefined;
    this.recipients = [];
  }
}
