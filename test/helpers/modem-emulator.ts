// A test-only Hayes modem on one end of a socat pty pair. It answers AT, ATZ,
// ATH (OK), ATDT<number> with the result configured for that number, and
// after CONNECT bridges the line to a program playing the remote system
// (e.g. `uugate uucico -l` on its stdin/stdout). In data mode `+++` after a
// guard time of silence returns to command mode (OK); ATH then hangs up,
// closing the remote program's stdin. When the remote program exits, the
// modem says NO CARRIER, as a real one does when the far end hangs up.
//
// DTR: a modem with &D2 hangs up when DTR drops, but on a pty DTR cannot be
// set (serialport's set({dtr}) fails with "Inappropriate ioctl") nor
// observed here, so this emulator only knows the escape-and-ATH hang-up.
import { spawn, type ChildProcess } from 'node:child_process';
import { SerialPort } from 'serialport';

export type DialResult = 'connect' | 'busy' | 'no-carrier' | 'no-dialtone' | 'no-answer' | 'silent';

export interface ModemEmulatorOptions {
  device: string;
  numbers: Record<string, DialResult>;
  /** The remote system after CONNECT: argv and environment. */
  remote?: { argv: string[]; env?: NodeJS.ProcessEnv };
  /** Never answer anything (a dead modem). */
  mute?: boolean;
  guardMs?: number;
  /** Carrier loss: after this many bytes from the caller in data mode, the line drops (once). */
  dropAfter?: number;
}

export class ModemEmulator {
  readonly log: string[] = [];
  private sp!: SerialPort;
  private mode: 'command' | 'data' = 'command';
  private cmd = '';
  private child?: ChildProcess;
  private lastData = 0;
  private escTimer?: NodeJS.Timeout;
  hangups = 0;
  /** Bytes the caller sent in data mode, per call. */
  readonly dataBytes: number[] = [];
  private dropAfter?: number;
  remoteExit?: Promise<number | null>;

  constructor(private readonly o: ModemEmulatorOptions) {
    this.dropAfter = o.dropAfter;
  }

  async start(): Promise<void> {
    this.sp = new SerialPort({ path: this.o.device, baudRate: 9600, autoOpen: false });
    await new Promise<void>((res, rej) => this.sp.open((e) => (e ? rej(e) : res())));
    this.sp.on('data', (b: Buffer) => this.onData(b));
    this.sp.on('error', () => undefined);
  }

  async stop(): Promise<void> {
    this.child?.kill('SIGTERM');
    // Bounded: a serial close on a pty whose other side is going away may never call back.
    if (this.sp?.isOpen) await Promise.race([new Promise<void>((r) => this.sp.close(() => r())), new Promise<void>((r) => setTimeout(r, 5_000).unref())]);
  }

  private say(s: string): void {
    this.log.push(`> ${s}`);
    this.sp.write(`\r\n${s}\r\n`);
  }

  private onData(b: Buffer): void {
    if (this.o.mute) {
      this.log.push(`< ${b.toString('latin1')}`);
      return;
    }
    if (this.mode === 'data') {
      const guard = this.o.guardMs ?? 300;
      const now = Date.now();
      if (b.toString('latin1') === '+++' && now - this.lastData >= guard) {
        // Escape only if the line stays quiet for the guard time afterwards.
        this.escTimer = setTimeout(() => {
          this.mode = 'command';
          this.log.push('< +++ (escape)');
          this.say('OK');
        }, guard);
        this.lastData = now;
        return;
      }
      if (this.escTimer) {
        clearTimeout(this.escTimer);
        this.escTimer = undefined;
        this.child?.stdin?.write('+++');
      }
      this.lastData = now;
      const n = this.dataBytes.length - 1;
      if (this.dropAfter !== undefined && this.dataBytes[n]! + b.length >= this.dropAfter) {
        this.child?.stdin?.write(b.subarray(0, this.dropAfter - this.dataBytes[n]!));
        this.dataBytes[n] = this.dropAfter;
        this.dropAfter = undefined;
        return this.carrierLost();
      }
      this.dataBytes[n]! += b.length;
      this.child?.stdin?.write(b);
      return;
    }
    this.cmd += b.toString('latin1');
    for (let i = this.cmd.search(/[\r\n]/); i >= 0; i = this.cmd.search(/[\r\n]/)) {
      const line = this.cmd.slice(0, i).trim();
      this.cmd = this.cmd.slice(i + 1);
      if (line) this.command(line);
    }
  }

  private command(raw: string): void {
    this.log.push(`< ${raw}`);
    const at = raw.toUpperCase().indexOf('AT');
    if (at < 0) return;
    const c = raw.slice(at + 2).toUpperCase();
    if (c === '' || c === 'Z' || /^[EVQXMLS&\d=]*$/.test(c)) return this.say('OK');
    if (/^H0?$/.test(c) || /^M0H0?$/.test(c)) {
      this.hangup();
      return this.say('OK');
    }
    const m = /^D[TP]?([\d,*#W]+)$/.exec(c);
    if (!m) return this.say('ERROR');
    const r = this.o.numbers[m[1]!] ?? 'no-answer';
    switch (r) {
      case 'busy': return this.say('BUSY');
      case 'no-carrier': return this.say('NO CARRIER');
      case 'no-dialtone': return this.say('NO DIALTONE');
      case 'no-answer': return this.say('NO ANSWER');
      case 'silent': return;
      case 'connect': return this.connect();
    }
  }

  private connect(): void {
    if (!this.o.remote) return this.say('NO CARRIER');
    const [cmd, ...args] = this.o.remote.argv;
    const child = spawn(cmd!, args, { env: this.o.remote.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdin!.on('error', () => undefined);
    child.stdout!.on('data', (d: Buffer) => this.sp.write(d));
    this.remoteExit = new Promise((r) =>
      child.on('close', (code) => {
        this.log.push(`remote exited ${code}${err ? `: ${err.trim()}` : ''}`);
        if (this.child === child) {
          this.child = undefined;
          if (this.mode === 'data') {
            this.mode = 'command';
            this.say('NO CARRIER');
          }
        }
        r(code);
      }),
    );
    this.mode = 'data';
    this.dataBytes.push(0);
    this.lastData = Date.now();
    this.say('CONNECT 9600');
  }

  /** The carrier drops: the remote's line closes (end of its stdin) and the caller hears NO CARRIER. */
  private carrierLost(): void {
    this.log.push('carrier lost');
    const c = this.child;
    this.child = undefined;
    if (c) {
      c.stdin!.end();
      setTimeout(() => c.kill('SIGTERM'), 5000).unref();
    }
    this.mode = 'command';
    this.say('NO CARRIER');
  }

  private hangup(): void {
    this.hangups++;
    this.log.push('hang-up');
    if (this.child) {
      this.child.stdin!.end();
      const c = this.child;
      setTimeout(() => c.kill('SIGTERM'), 5000).unref();
    }
    this.mode = 'command';
  }
}
