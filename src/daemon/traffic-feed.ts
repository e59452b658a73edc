// Keeps the daemon's Traffic figures (src/log/traffic.ts) up to date from
// spool/log/logfile, which every uugate process appends to (rmail from
// Taylor's uuxqt, runq, uucico from a getty as much as the daemon), so no
// short-lived process's work is missed. Lines are read from the last offset
// before each answer and every few seconds. The figures and the offset are
// saved in spool/log/traffic.json (on a timer and at stop): after a restart
// the counters go on from there. A rotated log (renamed, another inode) is
// finished from logfile.1 when that holds the old inode, then read anew from
// the start. Without the snapshot the figures are rebuilt from the current
// logfile, which Prometheus sees as a counter reset.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { parseLogLine } from '../log/log-parse.js';
import { Traffic, type TrafficState } from '../log/traffic.js';
import { writeFileAtomic } from '../util/durable.js';

interface Snapshot {
  version: 1;
  ino: number;
  offset: number;
  state: TrafficState;
}

const CHUNK = 4 << 20;

export class TrafficFeed {
  traffic = new Traffic();
  private ino = 0;
  private offset = 0;
  private saved = '';
  private reading?: Promise<void>;

  constructor(private readonly logDir: string) {}

  private get logfile(): string {
    return path.join(this.logDir, 'logfile');
  }

  private get snapshotFile(): string {
    return path.join(this.logDir, 'traffic.json');
  }

  async load(): Promise<void> {
    const snap = await fsp.readFile(this.snapshotFile, 'utf8').then((t) => JSON.parse(t) as Snapshot, () => undefined);
    if (snap?.version !== 1) return;
    this.traffic = new Traffic(snap.state);
    this.ino = snap.ino;
    this.offset = snap.offset;
  }

  /** Reads whatever was appended since the last call (calls coalesce). */
  catchUp(): Promise<void> {
    this.reading ??= this.readNew().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async readNew(): Promise<void> {
    const st = await fsp.stat(this.logfile).catch(() => undefined);
    if (!st) return;
    if (st.ino !== this.ino || st.size < this.offset) {
      const old = await fsp.stat(`${this.logfile}.1`).catch(() => undefined);
      if (this.ino && old?.ino === this.ino) await this.readFrom(`${this.logfile}.1`, old.size);
      this.ino = st.ino;
      this.offset = 0;
    }
    await this.readFrom(this.logfile, st.size);
  }

  /** Feeds the complete lines between the offset and `end`; a line still being written waits. */
  private async readFrom(file: string, end: number): Promise<void> {
    const fh = await fsp.open(file, 'r');
    try {
      let carry = Buffer.alloc(0);
      while (this.offset + carry.length < end) {
        const want = Math.min(CHUNK, end - this.offset - carry.length);
        const { buffer, bytesRead } = await fh.read(Buffer.alloc(want), 0, want, this.offset + carry.length);
        if (bytesRead === 0) break;
        const buf = Buffer.concat([carry, buffer.subarray(0, bytesRead)]);
        const last = buf.lastIndexOf(0x0a);
        if (last < 0) {
          carry = buf;
          continue;
        }
        for (const line of buf.toString('utf8', 0, last).split('\n')) {
          const l = parseLogLine(line);
          if (l) this.traffic.add(l);
        }
        this.offset += last + 1;
        carry = buf.subarray(last + 1);
      }
    } finally {
      await fh.close();
    }
  }

  /** Writes the snapshot when the figures moved since the last one. */
  async save(): Promise<void> {
    const text = JSON.stringify({ version: 1, ino: this.ino, offset: this.offset, state: this.traffic.state } satisfies Snapshot);
    if (text === this.saved) return;
    await writeFileAtomic(this.snapshotFile, text);
    this.saved = text;
  }
}
