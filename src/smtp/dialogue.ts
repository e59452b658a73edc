// An SMTP server dialogue (RFC 5321) as a line-driven state machine: lines in,
// replies out, with hooks for recipient checks and for accepting the message.
// Used for `sendmail -bs` on stdin/stdout. The final 250 after DATA is sent only
// after the accept hook has made the message durable.
//
// Batch mode (`batch: true`, for BSMTP: smtp/bsmtp-reader.ts) follows Exim's -bS:
// no HELO is needed, HELO/EHLO act as RSET, EXPN/HELP/ETRN are no-ops, and DATA
// after a MAIL whose recipients were all refused still reads the message up to
// its "." (so body lines are never taken for commands) and hands it to
// `discarded`, as does a message refused for its size or line length.
//
//   greeting → HELO/EHLO → MAIL FROM → RCPT TO (1..n) → DATA → lines → "." → 250
import { GatewayError } from '../util/errors.js';

export interface DialogueHooks {
  hostname: string;
  /** Returns undefined to accept, or a full reply such as "550 5.1.1 unknown user". */
  checkRecipient?(addr: string): Promise<string | undefined>;
  accept(sender: string, recipients: string[], data: Buffer, helo: string): Promise<string>;
  maxRecipients?: number;
  sizeLimit?: number;
  /** BSMTP semantics (see above). */
  batch?: boolean;
  /** Batch mode: a message read but not accepted (reply says why); `sender` undefined without MAIL. */
  discarded?(sender: string | undefined, data: Buffer, reply: string): Promise<void>;
}

type State = 'start' | 'helo' | 'mail' | 'rcpt' | 'data' | 'quit';

const MAX_LINE = 1000;

export class SmtpDialogue {
  private state: State = 'start';
  private helo = '';
  private sender = '';
  private rcpts: string[] = [];
  private chunks: Buffer[] = [];
  private size = 0;
  private tooLong = false;
  private hasMail = false;

  constructor(private readonly hooks: DialogueHooks, private readonly reply: (line: string) => void) {
    if (hooks.batch) this.state = 'helo';
  }

  /** True while a message's lines are being read (between DATA and "."). */
  get inData(): boolean {
    return this.state === 'data';
  }

  get done(): boolean {
    return this.state === 'quit';
  }

  greet(): void {
    this.reply(`220 ${this.hooks.hostname} ESMTP uugate ready`);
  }

  /** Feeds one line without its line ending. */
  async line(raw: Buffer): Promise<void> {
    if (this.state === 'data') return this.dataLine(raw);
    const text = raw.toString('latin1');
    if (raw.length > 512) return this.reply('500 5.5.2 line too long');
    const m = /^([A-Za-z]{4})(?:\s+(.*))?$/.exec(text.trim());
    if (!m) return this.reply('500 5.5.2 syntax error, command unrecognized');
    const verb = m[1].toUpperCase();
    const arg = m[2] ?? '';
    const handler = this.handlers[verb];
    if (!handler) return this.reply(`502 5.5.1 ${verb} not implemented`);
    await handler(arg);
  }

  private readonly handlers: Record<string, (arg: string) => void | Promise<void>> = {
    HELO: (arg) => this.hello(arg, false),
    EHLO: (arg) => this.hello(arg, true),
    MAIL: (arg) => this.mail(arg),
    RCPT: (arg) => this.rcpt(arg),
    DATA: () => this.startData(),
    RSET: () => { this.reset(); this.reply('250 2.0.0 reset'); },
    NOOP: () => this.reply('250 2.0.0 ok'),
    VRFY: () => this.reply('252 2.5.2 cannot verify, but will try delivery'),
    QUIT: () => { this.state = 'quit'; this.reply(`221 2.0.0 ${this.hooks.hostname} closing`); },
    // Exim -bS: no-ops in a batch; not offered in a live dialogue.
    EXPN: () => this.reply(this.hooks.batch ? '250 2.0.0 ignored in a batch' : '502 5.5.1 EXPN not implemented'),
    HELP: () => this.reply(this.hooks.batch ? '250 2.0.0 ignored in a batch' : '502 5.5.1 HELP not implemented'),
    ETRN: () => this.reply(this.hooks.batch ? '250 2.0.0 ignored in a batch' : '502 5.5.1 ETRN not implemented'),
  };

  private hello(arg: string, extended: boolean): void {
    if (this.hooks.batch) {
      // Exim -bS: HELO/EHLO act as RSET (the name is kept for Received:).
      this.reset();
      if (arg) this.helo = arg;
      return this.reply(`250 ${this.hooks.hostname} hello ${arg}`);
    }
    if (!arg) return this.reply(`501 5.5.4 ${extended ? 'EHLO' : 'HELO'} needs a host name`);
    this.reset();
    this.helo = arg;
    this.state = 'helo';
    if (!extended) return this.reply(`250 ${this.hooks.hostname} hello ${arg}`);
    const ext = ['PIPELINING', '8BITMIME', 'ENHANCEDSTATUSCODES', ...(this.hooks.sizeLimit ? [`SIZE ${this.hooks.sizeLimit}`] : [])];
    this.reply([`250-${this.hooks.hostname} hello ${arg}`, ...ext.map((e, i) => `250${i === ext.length - 1 ? ' ' : '-'}${e}`)].join('\r\n'));
  }

  private mail(arg: string): void {
    if (this.state === 'start') return this.reply('503 5.5.1 say HELO or EHLO first');
    if (this.state !== 'helo') return this.reply('503 5.5.1 nested MAIL command');
    const m = /^FROM:\s*<([^>]*)>(.*)$/i.exec(arg);
    if (!m) return this.reply('501 5.5.4 syntax: MAIL FROM:<address>');
    const size = /\bSIZE=(\d+)/i.exec(m[2]);
    if (size && this.hooks.sizeLimit && Number(size[1]) > this.hooks.sizeLimit) return this.reply('552 5.3.4 message size exceeds fixed limit');
    this.sender = m[1];
    this.hasMail = true;
    this.state = 'mail';
    this.reply('250 2.1.0 sender ok');
  }

  private async rcpt(arg: string): Promise<void> {
    if (this.state !== 'mail' && this.state !== 'rcpt') return this.reply('503 5.5.1 need MAIL before RCPT');
    const m = /^TO:\s*<([^>]+)>/i.exec(arg);
    if (!m) return this.reply('501 5.5.4 syntax: RCPT TO:<address>');
    if (this.rcpts.length >= (this.hooks.maxRecipients ?? 1000)) return this.reply('452 4.5.3 too many recipients');
    const refusal = await this.hooks.checkRecipient?.(m[1]);
    if (refusal) return this.reply(refusal);
    this.rcpts.push(m[1]);
    this.state = 'rcpt';
    this.reply('250 2.1.5 recipient ok');
  }

  private startData(): void {
    if (this.hooks.batch && this.state !== 'rcpt') {
      // Read the message anyway, so its lines are not taken for commands.
      this.reply(this.state === 'mail' ? '554 5.5.1 no valid recipients' : '503 5.5.1 need MAIL before DATA');
      this.state = 'data';
      this.chunks = [];
      this.size = 0;
      this.tooLong = false;
      return;
    }
    if (this.state !== 'rcpt') return this.reply(this.state === 'mail' ? '503 5.5.1 need RCPT before DATA' : '503 5.5.1 need MAIL before DATA');
    this.state = 'data';
    this.chunks = [];
    this.size = 0;
    this.tooLong = false;
    this.reply('354 end data with <CR><LF>.<CR><LF>');
  }

  private async dataLine(raw: Buffer): Promise<void> {
    if (raw.length === 1 && raw[0] === 0x2e) return this.endData();
    const line = raw[0] === 0x2e ? raw.subarray(1) : raw; // dot-unstuffing
    if (line.length > MAX_LINE - 2) this.tooLong = true;
    this.size += line.length + 1;
    if (!this.hooks.sizeLimit || this.size <= this.hooks.sizeLimit) this.chunks.push(line, NL);
  }

  private async endData(): Promise<void> {
    const { rcpts, sender, chunks, hasMail } = this;
    this.reset();
    const refusal =
      rcpts.length === 0
        ? hasMail ? '554 5.5.1 no valid recipients' : '503 5.5.1 need MAIL before DATA'
        : this.hooks.sizeLimit && this.size > this.hooks.sizeLimit
          ? '552 5.3.4 message size exceeds fixed limit'
          : this.tooLong ? '500 5.6.0 line too long (limit 998 characters)' : undefined;
    if (refusal) {
      if (this.hooks.batch && this.hooks.discarded) await this.hooks.discarded(hasMail ? sender : undefined, Buffer.concat(chunks), refusal);
      return this.reply(refusal);
    }
    try {
      const id = await this.hooks.accept(sender, rcpts, Buffer.concat(chunks), this.helo);
      this.reply(`250 2.0.0 queued as ${id}`);
    } catch (err) {
      const e = err instanceof GatewayError ? err : undefined;
      const code = e && !e.temporary ? '554' : '451';
      this.reply(`${code} ${e?.status ?? '4.3.0'} ${(err as Error).message.replace(/[\r\n]+/g, ' ')}`);
    }
  }

  private reset(): void {
    this.sender = '';
    this.hasMail = false;
    this.rcpts = [];
    this.chunks = [];
    if (this.state !== 'start') this.state = 'helo';
  }
}

const NL = Buffer.from('\n');
