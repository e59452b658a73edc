// The `sys` file: one `system` block per neighbour. Keywords before the first
// `system` are defaults for every system in the file; `alternate` starts
// another choice for the current system; `port type ...` lines describe an
// inline port (port.ts's keywords). Lookup by name, alias or truncated name.
import { configError } from '../../util/errors.js';
import { type ConfigLine, bool, cloneProtocolParams, emptyProtocolParams, num, protocolParameter, splitConfigLines, str, unsupported } from './lines.js';
import { applyPortKeyword, newPort } from './port.js';
import type { UucpAlternate, UucpSystem, UucpSystemSettings } from './types.js';

/** Taylor's built-in defaults ("Default sys File Values"). */
export function defaultSystemSettings(): UucpSystemSettings {
  return {
    chat: ['""', '\\r\\c', 'ogin:-BREAK-ogin:-BREAK-ogin:', '\\L', 'word:', '\\P'],
    chatTimeout: 10,
    chatFail: [],
    time: [],
    poll: [],
    protocolParams: emptyProtocolParams(),
    commands: ['rmail', 'rsmtp'],
    maxRemoteDebug: ['abnormal', 'chat', 'handshake'],
    calledLoginSystems: [],
    localSend: ['/'],
    remoteSend: ['~'],
    localReceive: ['~'],
    remoteReceive: ['~'],
    maxRetries: 26,
    sequence: false,
  };
}

function cloneSettings(s: UucpSystemSettings): UucpSystemSettings {
  return {
    ...s,
    chat: [...s.chat],
    chatFail: [...s.chatFail],
    time: [...s.time],
    poll: [...s.poll],
    protocolParams: cloneProtocolParams(s.protocolParams),
    commands: [...s.commands],
    commandPath: s.commandPath ? [...s.commandPath] : undefined,
    maxRemoteDebug: [...s.maxRemoteDebug],
    calledLoginSystems: [...s.calledLoginSystems],
    localSend: [...s.localSend],
    remoteSend: [...s.remoteSend],
    localReceive: [...s.localReceive],
    remoteReceive: [...s.remoteReceive],
    inlinePort: s.inlinePort ? { ...s.inlinePort, protocolParams: cloneProtocolParams(s.inlinePort.protocolParams) } : undefined,
  };
}

interface SysState {
  /** Keys of multi-line keywords already seen in the current block (first one replaces the inherited value). */
  seen: Set<string>;
}

/** Applies one sys-file keyword to a settings block. Returns false if the keyword is not a settings keyword. */
function applySysKeyword(
  s: UucpSystemSettings,
  st: SysState,
  l: ConfigLine,
  warnings: string[],
): boolean {
  const replaceList = (key: string): void => {
    if (!st.seen.has(key)) {
      st.seen.add(key);
      (s as unknown as Record<string, unknown>)[key] = [];
    }
  };
  switch (l.keyword) {
    case 'call-login': s.callLogin = str(l); return true;
    case 'call-password': s.callPassword = str(l); return true;
    case 'chat': s.chat = [...l.args]; s.chatWhere = l.where; return true;
    case 'chat-timeout': s.chatTimeout = num(l, 0, { min: 0 }); return true;
    case 'chat-fail': replaceList('chatFail'); s.chatFail.push(l.rest); return true;
    case 'port':
      if (l.args.length === 0) throw configError(l.where, 'port: missing argument');
      if (l.args.length === 1) {
        s.port = l.args[0];
      } else {
        // `port type tcp`, `port device /dev/ttyS0`, ...: define the port inline.
        s.inlinePort ??= newPort('', l.where);
        const sub: ConfigLine = { keyword: l.args[0], args: l.args.slice(1), where: l.where, rest: l.rest.replace(/^\S+\s*/, '') };
        if (!applyPortKeyword(s.inlinePort, sub, warnings)) unsupported(warnings, sub);
      }
      return true;
    case 'phone': case 'address': {
      const v = str(l);
      if (l.keyword === 'phone') s.phone = v;
      else s.address = v;
      return true;
    }
    case 'service': s.service = str(l); return true;
    case 'speed': case 'baud': s.speed = num(l, 0, { min: 0 }); return true;
    case 'time':
      replaceList('time');
      s.time.push(str(l));
      if (l.args.length > 1) {
        s.retryTime = num(l, 1, { min: 0 });
        s.retryFixed = true;
      }
      return true;
    case 'poll':
      if (l.args.length === 0) throw configError(l.where, 'poll: missing cron expression');
      replaceList('poll');
      s.poll.push(l.rest.trim());
      s.pollWhere = l.where;
      return true;
    case 'retry-time': s.retryTime = num(l, 0, { min: 0 }); s.retryFixed = false; return true;
    case 'max-retries': s.maxRetries = num(l, 0, { min: 0 }); return true;
    case 'success-wait': s.successWait = num(l, 0, { min: 0 }); return true;
    case 'protocol': s.protocol = str(l); return true;
    case 'protocol-parameter': protocolParameter(s.protocolParams, l); return true;
    case 'commands': s.commands = [...l.args]; return true;
    case 'command-path': s.commandPath = [...l.args]; return true;
    case 'max-remote-debug': s.maxRemoteDebug = l.args.flatMap((a) => a.split(',')).filter(Boolean); return true;
    case 'myname': s.myname = str(l); return true;
    case 'called-login': s.calledLogin = str(l); s.calledLoginSystems = l.args.slice(1); return true;
    case 'local-send': s.localSend = [...l.args]; return true;
    case 'remote-send': s.remoteSend = [...l.args]; return true;
    case 'local-receive': s.localReceive = [...l.args]; return true;
    case 'remote-receive': s.remoteReceive = [...l.args]; return true;
    case 'sequence': s.sequence = bool(l); return true;
    case 'pubdir': s.pubdir = str(l); return true;
    default: return false;
  }
}

export interface ParsedSys {
  systems: UucpSystem[];
  defaults: UucpSystemSettings;
}

/** Parses the text of a Taylor `sys` file. Pure (apart from pushing to `warnings`). */
export function parseSysFile(text: string, file: string, warnings: string[]): ParsedSys {
  const defaults = defaultSystemSettings();
  const systems: UucpSystem[] = [];
  let cur: UucpSystem | undefined;
  let block: UucpSystemSettings | undefined; // cur itself or its current alternate
  let st: SysState = { seen: new Set() };
  let inDefaultAlternate = false;

  for (const l of splitConfigLines(text, file)) {
    if (l.keyword === 'system') {
      if (l.args.length === 0) throw configError(l.where, 'system: missing system name');
      if (l.args.length > 1) throw configError(l.where, `system: extra arguments after "${l.args[0]}"`);
      const base = cloneSettings(defaults);
      cur = { ...base, name: l.args[0], aliases: [], alternates: [], where: l.where };
      systems.push(cur);
      block = cur;
      st = { seen: new Set() };
      continue;
    }
    if (l.keyword === 'alternate') {
      if (!cur) {
        // File-wide default alternates are not implemented: later lines until `system` are skipped.
        warnings.push(`${l.where}: keyword "alternate" not supported in the defaults`);
        inDefaultAlternate = true;
        continue;
      }
      const alt: UucpAlternate = { ...cloneSettings(cur), alternateName: l.args[0], where: l.where };
      cur.alternates.push(alt);
      block = alt;
      st = { seen: new Set() };
      continue;
    }
    if (inDefaultAlternate && !cur) continue;
    if (l.keyword === 'alias') {
      if (!cur) throw configError(l.where, 'alias: before the first system command');
      if (l.args.length === 0) throw configError(l.where, 'alias: missing name');
      cur.aliases.push(...l.args);
      continue;
    }
    const target = block ?? defaults;
    if (applySysKeyword(target, st, l, warnings)) continue;
    // Taylor keywords we do not implement (timegrade, callback, forward, ...) and
    // misspelt keywords alike: a warning, the rest of the file still counts.
    unsupported(warnings, l);
  }
  return { systems, defaults };
}

function truncMatch(given: string, known: string): boolean {
  if (given === known) return true;
  // A name cut to 7 or 14 characters by an old UUCP: compare the prefix only.
  if ((given.length === 7 || given.length === 14) && known.length > given.length) return known.startsWith(given);
  if ((known.length === 7 || known.length === 14) && given.length > known.length) return given.startsWith(known);
  return false;
}

/** Finds a system by exact name, then alias, then 7/14-character truncated name or alias. */
export function findSystem(systems: Map<string, UucpSystem>, name: string): UucpSystem | undefined {
  const exact = systems.get(name);
  if (exact) return exact;
  for (const s of systems.values()) if (s.aliases.includes(name)) return s;
  for (const s of systems.values()) {
    if (truncMatch(name, s.name)) return s;
    if (s.aliases.some((a) => truncMatch(name, a))) return s;
  }
  return undefined;
}
