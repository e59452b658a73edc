// Reads back the lines logger.ts writes to spool/log/logfile:
//
//   2026/12/06 21:04:05: [1AbCd-000001] Delivered TO:<a@b> ROUTER:r TRANSPORT:t STATUS:2.0.0 TIME:12 text
//   └ local time ────────┘ └ queue id ──┘ └ verb ─┘ └ KEY:value fields (FROM/TO in <>) ─────────┘ └ rest ┘
//
// The rest is VIA:origin on Received lines, ERROR:(text) on failures and plain
// text otherwise. Lines that do not start with a time stamp (a continuation of
// a multi-line panic) give undefined.
import type { LogEvent } from './logger.js';

export interface LogLine {
  /** Epoch ms (the stamp is local time, as written). */
  time: number;
  event: LogEvent;
  id?: string;
  /** Every KEY:value, keys upper case: FROM, TO, ROUTER, TRANSPORT, STATUS, SIZE, TIME, SYSTEM... */
  f: Record<string, string>;
  /** VIA:, ERROR:( ) or the plain text at the end. */
  reason?: string;
}

const EVENTS: Record<string, LogEvent> = {
  Received: 'received', Delivered: 'delivered', Deferred: 'deferred', Failed: 'failed', Bounced: 'bounced',
  Expanded: 'expanded', Info: 'info', Panic: 'panic', Call: 'call', Refused: 'refused',
};

const HEAD = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d): (?:\[([^\]\s]+)\] )?([A-Z][a-z]+)(?: |$)/;
const FIELD = /^([A-Z][A-Z_]*):(<[^>]*>|\S*)(?: |$)/;

let lastStamp = '';
let lastTime = 0;

export function parseLogLine(line: string): LogLine | undefined {
  const m = HEAD.exec(line);
  const event = m && EVENTS[m[8]!];
  if (!m || !event) return undefined;
  // Many lines share a second: building a local Date is the costliest step.
  if (line.slice(0, 19) !== lastStamp) {
    lastStamp = line.slice(0, 19);
    lastTime = new Date(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!).getTime();
  }
  const time = lastTime;
  const f: Record<string, string> = {};
  let rest = line.slice(m[0].length);
  for (let fm = FIELD.exec(rest); fm; fm = FIELD.exec(rest)) {
    const key = fm[1]!;
    if (key === 'VIA' || key === 'ERROR') break;
    const v = fm[2]!;
    f[key] = v.startsWith('<') ? v.slice(1, -1) : v;
    rest = rest.slice(fm[0].length);
  }
  let reason: string | undefined = rest || undefined;
  if (rest.startsWith('VIA:')) reason = rest.slice(4);
  else if (rest.startsWith('ERROR:(')) reason = rest.slice(7, rest.endsWith(')') ? -1 : undefined);
  return { time, event, id: m[7], f, reason };
}
