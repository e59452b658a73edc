// The `dial` file: `dialer NAME` blocks (chat scripts and modem settings).
import { configError } from '../../util/errors.js';
import { addRaw, bool, num, splitConfigLines, unsupported } from './lines.js';
import type { UucpDialer } from './types.js';

const DIAL_RAW_ONLY = new Set([
  'chat-seven-bit', 'chat-program',
  'complete-chat-timeout', 'complete-chat-fail', 'complete-chat-seven-bit', 'complete-chat-program',
  'abort-chat-timeout', 'abort-chat-fail', 'abort-chat-seven-bit', 'abort-chat-program',
  'protocol-parameter', 'seven-bit', 'reliable', 'half-duplex',
]);

/** Parses a Taylor `dial` file. */
export function parseDialFile(text: string, file: string, warnings: string[]): UucpDialer[] {
  const dialers: UucpDialer[] = [];
  let cur: UucpDialer | undefined;
  for (const l of splitConfigLines(text, file)) {
    if (l.keyword === 'dialer') {
      if (l.args.length !== 1) throw configError(l.where, 'dialer: need exactly one dialer name');
      cur = { name: l.args[0], chat: [], chatFail: [], raw: {}, where: l.where };
      dialers.push(cur);
      continue;
    }
    if (!cur) throw configError(l.where, `${l.keyword}: before the first dialer command`);
    switch (l.keyword) {
      case 'chat': cur.chat = [...l.args]; break;
      case 'chat-timeout': cur.chatTimeout = num(l, 0, { min: 0 }); break;
      case 'chat-fail': cur.chatFail.push(l.rest); break;
      case 'complete': cur.complete = l.rest; break;
      case 'abort': cur.abort = l.rest; break;
      case 'complete-chat': cur.completeChat = [...l.args]; break;
      case 'abort-chat': cur.abortChat = [...l.args]; break;
      case 'dtr-toggle': cur.dtrToggle = [...l.args]; break;
      case 'carrier': cur.carrier = bool(l); break;
      case 'carrier-wait': cur.carrierWait = num(l, 0, { min: 0 }); break;
      case 'dialtone': cur.dialtone = l.args.join(' '); break;
      case 'pause': cur.pause = l.args.join(' '); break;
      default:
        if (!DIAL_RAW_ONLY.has(l.keyword)) {
          unsupported(warnings, l);
          continue;
        }
    }
    addRaw(cur.raw, l);
    (cur.whereOf ??= {})[l.keyword] = l.where;
  }
  return dialers;
}
