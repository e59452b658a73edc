// Logging in smail's spirit: spool/log/logfile gets one line per event
// (`2026/11/27 15:46:07: [id] Delivered TO:<a> VIA:maildir ...`), configuration
// and internal errors go to spool/log/paniclog, and with log_json the same
// events are written as JSON lines (pino) to spool/log/log.json for machines.
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export type LogEvent = 'received' | 'delivered' | 'deferred' | 'failed' | 'bounced' | 'expanded' | 'info' | 'panic' | 'call' | 'refused';

export interface LogRecord {
  event: LogEvent;
  id?: string;
  sender?: string;
  rcpt?: string;
  router?: string;
  transport?: string;
  status?: string;
  reason?: string;
  /** Figures for `uugate stats` and the metrics (src/log/log-parse.ts): written as KEY:value, values without spaces. */
  fields?: Record<string, string | number>;
  [k: string]: unknown;
}

interface JsonSink { info(obj: object, msg?: string): void }

export class Logger {
  private json?: JsonSink;
  constructor(
    private readonly dir: string,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Turns on JSON lines via pino; loaded lazily so short-lived commands start fast. */
  async enableJson(): Promise<void> {
    const { pino } = await import('pino');
    mkdirSync(this.dir, { recursive: true });
    this.json = pino({ base: undefined }, pino.destination({ dest: path.join(this.dir, 'log.json'), sync: true }));
  }

  log(rec: LogRecord): void {
    this.write(rec.event === 'panic' ? 'paniclog' : 'logfile', formatRecord(rec));
    this.json?.info(rec, rec.event);
  }

  panic(message: string, extra: Partial<LogRecord> = {}): void {
    this.log({ event: 'panic', reason: message, ...extra });
  }

  private write(file: string, text: string): void {
    const stamp = formatTime(new Date(this.clock()));
    try {
      mkdirSync(this.dir, { recursive: true });
      appendFileSync(path.join(this.dir, file), `${stamp}: ${text}\n`);
    } catch (err) {
      process.stderr.write(`uugate: cannot write ${file}: ${(err as Error).message}\n${stamp}: ${text}\n`);
    }
  }
}

const VERB: Record<LogEvent, string> = {
  received: 'Received', delivered: 'Delivered', deferred: 'Deferred', failed: 'Failed',
  bounced: 'Bounced', expanded: 'Expanded', info: 'Info', panic: 'Panic', call: 'Call', refused: 'Refused',
};

const PLAIN: ReadonlySet<LogEvent> = new Set(['delivered', 'info', 'expanded', 'bounced']);

export function formatRecord(r: LogRecord): string {
  const parts = [r.id ? `[${r.id}]` : '', VERB[r.event]];
  if (r.sender !== undefined) parts.push(`FROM:<${r.sender}>`);
  if (r.rcpt) parts.push(`TO:<${r.rcpt}>`);
  if (r.router) parts.push(`ROUTER:${r.router}`);
  if (r.transport) parts.push(`TRANSPORT:${r.transport}`);
  if (r.status) parts.push(`STATUS:${r.status}`);
  for (const [k, v] of Object.entries(r.fields ?? {})) parts.push(`${k.toUpperCase()}:${v}`);
  if (r.reason) parts.push(r.event === 'received' ? `VIA:${r.reason}` : PLAIN.has(r.event) ? r.reason : `ERROR:(${r.reason})`);
  return parts.filter(Boolean).join(' ');
}

function formatTime(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
