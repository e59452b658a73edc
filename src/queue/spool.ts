// Mail spool layout and the queue file format.
//
//   spool/tmp/<id>       being written by an entry point (never read by the queue)
//   spool/incoming/<id>  complete, fsync'd hand-overs from any process, awaiting indexing
//   spool/queue/<id>     messages owned by the queue runner
//   spool/msglog/<id>    per-message transaction log (delivered/failed lines fsync'd)
//   spool/db/            LevelDB index of message state (rebuildable from the above)
//   spool/log/           logfile, paniclog (and log.json with log_json)
//
// A queue file is one line `UUGATE1 <envelope JSON>\n` followed by the message bytes.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { mkdirp } from '../util/durable.js';
import { GatewayError, EX } from '../util/errors.js';
import type { Envelope } from '../message/envelope.js';

export const MAGIC = 'UUGATE1 ';

export class SpoolLayout {
  constructor(readonly root: string) {}
  get tmp(): string { return path.join(this.root, 'tmp'); }
  get incoming(): string { return path.join(this.root, 'incoming'); }
  get queue(): string { return path.join(this.root, 'queue'); }
  get msglog(): string { return path.join(this.root, 'msglog'); }
  get db(): string { return path.join(this.root, 'db'); }
  get log(): string { return path.join(this.root, 'log'); }
  get pidFile(): string { return path.join(this.root, 'daemon.pid'); }
  queueFile(id: string): string { return path.join(this.queue, id); }
  msglogFile(id: string): string { return path.join(this.msglog, id); }

  async ensure(): Promise<void> {
    try {
      for (const d of [this.tmp, this.incoming, this.queue, this.msglog, this.log]) await mkdirp(d);
    } catch (err) {
      throw new GatewayError(`cannot create spool directories under ${this.root}: ${(err as Error).message}`, {
        exitCode: EX.CANTCREAT,
        temporary: true,
      });
    }
  }
}

/** The queue file's first line: what precedes the message bytes. */
export const queueFileHead = (env: Envelope): Buffer => Buffer.from(`${MAGIC}${JSON.stringify(env)}\n`, 'utf8');

export function encodeQueueFile(env: Envelope, message: Buffer): Buffer {
  return Buffer.concat([queueFileHead(env), message]);
}

export interface QueuedMessage {
  envelope: Envelope;
  data: Buffer;
}

export function decodeQueueFile(buf: Buffer, file: string): QueuedMessage {
  const nl = buf.indexOf(0x0a);
  if (nl < 0 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC)
    throw new GatewayError('not a uugate queue file', { exitCode: EX.DATAERR, where: file });
  const envelope = JSON.parse(buf.toString('utf8', MAGIC.length, nl)) as Envelope;
  return { envelope, data: buf.subarray(nl + 1) };
}

export async function readQueueFile(file: string): Promise<QueuedMessage> {
  return decodeQueueFile(await fsp.readFile(file), file);
}

let counter = 0;
/** Unique, roughly time-ordered, file-name-safe queue ids. */
export function newQueueId(now = Date.now()): string {
  counter = (counter + 1) % 1296;
  return `${now.toString(36)}-${process.pid.toString(36)}-${counter.toString(36).padStart(2, '0')}${Math.floor(Math.random() * 1296).toString(36).padStart(2, '0')}`;
}
