// direct port: a serial device (or a pty, as socat makes them). serialport
// opens and configures the line (raw, speed, RTS/CTS, HUPCL, its flock) and
// keeps the modem-control handle (DTR); serialport only flocks the device, so
// we also take the HDB lock file LCK..<device> that other UUCPs and cu honour.
//
// Byte I/O: serialport reads and writes through libuv's thread pool (a read,
// EAGAIN, a poll, the read again: two thread-pool round trips per chunk),
// which costs more CPU than the g protocol itself on a fast pty. On a pty
// slave the bytes therefore go through Node's own tty handles instead (the
// event loop's epoll, one read(2)/write(2) per chunk): one fd read by a
// tty.ReadStream, another written by a tty.WriteStream switched to
// non-blocking writes. A real serial tty keeps serialport's I/O: there libuv
// would write its tty handle blocking (busy-looping on EAGAIN), and at serial
// speeds the thread pool costs nothing that matters. If the fast path cannot
// be set up the port falls back to serialport too.
import { closeSync, constants, fstatSync, openSync, promises as fsp, writeSync } from 'node:fs';
import { Duplex } from 'node:stream';
import tty from 'node:tty';
import { mkdirp } from '../../util/durable.js';
import { acquireLock, lockDevice } from '../lock.js';
import { type LineTap, type Port, type Tappable, portError } from './port.js';

export interface DirectOptions {
  /** Names the port in errors. */
  label?: string;
  speed?: number;
  lockDir: string;
  lockName?: string;
  hardflow?: boolean;
  /** false: byte I/O through serialport even on a pty (for comparisons). */
  fastIo?: boolean;
}

type SerialPortT = import('serialport').SerialPort;

export async function openDirectPort(device: string, o: DirectOptions): Promise<Port> {
  // serialport's open error has no errno; ask the file system for it.
  try {
    await fsp.access(device, constants.R_OK | constants.W_OK);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw portError(`${o.label ? `${o.label}: ` : ''}cannot open ${device}: ${e.code ?? 'error'} (${e.message.replace(/^\w+: /, '').replace(/, access .*$/, '')})`);
  }
  await mkdirp(o.lockDir, 0o755);
  const locked = o.lockName ? await acquireLock(o.lockDir, o.lockName) : await lockDevice(o.lockDir, device);
  if (!locked.ok) throw portError(`${device} is locked by process ${locked.busyPid}`);
  let sp: SerialPortT;
  try {
    const { SerialPort } = await import('serialport');
    sp = await new Promise((resolve, reject) => {
      const p = new SerialPort({ path: device, baudRate: o.speed ?? 9600, rtscts: o.hardflow ?? false, hupcl: true, autoOpen: false });
      p.open((err) => (err ? reject(err) : resolve(p)));
    });
  } catch (err) {
    await locked.lock.release();
    throw portError(`opening ${device}: ${(err as Error).message}`);
  }
  sp.on('error', () => undefined);
  const fast = o.fastIo === false || process.env.UUGATE_SERIALPORT_IO === '1' ? undefined : openPtyIo(device);
  const stream: Duplex = fast ?? sp;
  const setDtr = (on: boolean): Promise<void> =>
    new Promise((resolve, reject) => sp.set({ dtr: on }, (err) => (err ? reject(err) : resolve())));
  const carrier = (): Promise<boolean> =>
    new Promise((resolve, reject) => sp.get((err, bits) => (err || !bits ? reject(err ?? new Error('no modem bits')) : resolve(bits.dcd))));
  let closed = false;
  return {
    name: device,
    stream,
    setDtr,
    carrier,
    close: async () => {
      if (closed) return;
      closed = true;
      if (fast) await fast.shut();
      await new Promise<void>((resolve) => (sp.isOpen ? sp.drain(() => resolve()) : resolve()));
      await new Promise<void>((resolve) => (sp.isOpen ? sp.close(() => resolve()) : resolve()));
      await locked.lock.release();
    },
  };
}

/** Linux: the UNIX98 pty slaves (/dev/pts/N) have majors 136–143. */
function isPtySlave(fd: number): boolean {
  if (process.platform !== 'linux') return false;
  const st = fstatSync(fd);
  if (!st.isCharacterDevice()) return false;
  const major = Math.floor(st.rdev / 256) & 0xfff;
  return major >= 136 && major <= 143;
}

/** The event-loop I/O of a pty slave, or undefined (serialport then does the I/O). */
function openPtyIo(device: string): TtyDuplex | undefined {
  const flags = constants.O_NOCTTY | constants.O_NONBLOCK;
  let rfd = -1;
  let wfd = -1;
  let w: tty.WriteStream | undefined;
  try {
    rfd = openSync(device, constants.O_RDONLY | flags);
    if (!tty.isatty(rfd) || !isPtySlave(rfd)) {
      closeSync(rfd);
      return undefined;
    }
    wfd = openSync(device, constants.O_WRONLY | flags);
    // The tty handles own the descriptors from here on (and close them).
    w = new tty.WriteStream(wfd);
    // tty.WriteStream makes its writes blocking (right for a terminal's
    // output, wrong for a line): back to non-blocking, epoll says when to go on.
    const err = (w as unknown as { _handle: { setBlocking(b: boolean): number } })._handle.setBlocking(false);
    if (err) throw new Error('setBlocking failed');
    const d = new TtyDuplex(rfd, w, wfd);
    rfd = -1;
    return d;
  } catch {
    if (rfd >= 0) closeQuietly(rfd);
    if (w) w.destroy();
    else if (wfd >= 0) closeQuietly(wfd);
    return undefined;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
}

/** Reads land one after the other in a slab; a new one once less than this is left. */
const SLAB = 256 * 1024;
const READ_ROOM = 16 * 1024;
/** Writes up to this size try write(2) directly (writeNow). */
const SMALL_WRITE = 1024;

/**
 * One Duplex over a tty.ReadStream (input) and a tty.WriteStream (output) on
 * the same line. Input is read straight into slabs (net.Socket's `onread`
 * with a buffer function), each byte once, and handed on as views: no copy
 * per read, and reads that follow each other are adjacent in memory, so
 * the g decoder joins a packet split across two reads without copying it.
 */
class TtyDuplex extends Duplex implements Tappable {
  private readonly r: tty.ReadStream;
  private sink?: (bytes: Uint8Array) => void;

  constructor(
    rfd: number,
    private readonly w: tty.WriteStream,
    private readonly wfd: number,
  ) {
    super({ allowHalfOpen: false, readableHighWaterMark: 64 * 1024 });
    let slab = Buffer.allocUnsafeSlow(SLAB);
    let used = 0;
    const onread = {
      // Called for the first read and after every callback: where the next read goes.
      buffer: (): Buffer => {
        if (SLAB - used < READ_ROOM) {
          slab = Buffer.allocUnsafeSlow(SLAB);
          used = 0;
        }
        return slab.subarray(used);
      },
      // false stops reading until _read() below starts it again.
      callback: (n: number, buf: Buffer): boolean => {
        used += n;
        const bytes = buf.subarray(0, n);
        if (!this.sink) return this.push(bytes);
        this.sink(bytes);
        return true;
      },
    };
    this.r = new tty.ReadStream(rfd, { onread } as ConstructorParameters<typeof tty.ReadStream>[1]);
    this.r.on('end', () => this.push(null));
    this.r.on('error', (err) => this.fail(err));
    w.on('error', (err) => this.fail(err));
  }

  /**
   * EIO on a tty is the other end hanging up (a pty whose peer closed, a
   * line that lost its device): reported as the line closing, as a read of
   * end of file is, whichever of a read or a write meets it first.
   */
  private fail(err: Error): void {
    if ((err as NodeJS.ErrnoException).code !== 'EIO') return void this.destroy(err);
    this.push(null);
    this.destroy();
  }

  tap(onBytes: (bytes: Uint8Array) => void): LineTap {
    // What the stream layer holds already comes first.
    for (let held: Buffer | null; (held = this.read() as Buffer | null) !== null; ) onBytes(held);
    this.sink = onBytes;
    // Flowing, so that the end of the line is seen (a paused stream holds its
    // 'end' back until read); no byte passes the stream while tapped.
    this.resume();
    this._read();
    return { write: (bytes) => this.writeNow(bytes), release: () => (this.sink = undefined) };
  }

  /**
   * Small writes (acks, 64-byte packets): write(2) on the non-blocking
   * descriptor, no stream machinery, which costs more per packet than the
   * system call. What the line does not take now, or anything behind bytes
   * still queued, goes through the streams; so do large writes, which would
   * often find a full pty, and a refused writeSync throws (an Error built
   * each time).
   */
  private writeNow(bytes: Uint8Array): void {
    if (this.writableLength > 0 || this.w.destroyed) {
      this.write(bytes);
      return;
    }
    if (bytes.length > SMALL_WRITE || this.w.writableLength > 0) {
      this.w.write(bytes);
      return;
    }
    let n = 0;
    try {
      n = writeSync(this.wfd, bytes);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return void this.fail(err as Error);
    }
    if (n < bytes.length) this.w.write(bytes.subarray(n));
  }

  override _read(): void {
    // net.Socket's own _read (re)starts reading the handle if it is stopped.
    (this.r as unknown as { _read(n: number): void })._read(0);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.w.write(chunk)) cb();
    else this.w.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.w.write('', () => cb());
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.r.destroy();
    this.w.destroy();
    cb(err);
  }

  /** Waits until everything written is in the kernel, then closes both descriptors. */
  async shut(): Promise<void> {
    if (!this.destroyed && !this.w.destroyed && this.w.writableLength > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 10_000);
        this.w.write('', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const gone = (s: tty.ReadStream | tty.WriteStream): Promise<void> =>
      s.closed ? Promise.resolve() : new Promise((resolve) => s.once('close', () => resolve()));
    const both = Promise.all([gone(this.r), gone(this.w)]);
    this.destroy();
    // A tty handle whose close never reports (seen once on a loaded machine) must not hold the lock for ever.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([both, new Promise<void>((resolve) => (timer = setTimeout(resolve, 5_000)))]);
    clearTimeout(timer);
  }
}
