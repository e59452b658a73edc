// Taylor UUCP configuration reader: the `sys`, `port`, `dial`, `passwd`, `call`
// and (optionally) `config` files of a `uucp/` directory, in Taylor's own format.
//
// File format (Taylor "Configuration File Format"):
//   - one `keyword args...` per line, args split on blanks;
//   - `#` starts a comment unless written `\#` (which leaves a `#`);
//   - a line ending in `\` continues on the next line, joined with nothing between;
//   - booleans: y/Y/t/T true, n/N/f/F false (trailing characters ignored).
// sys file: keywords before the first `system` are defaults for every system in the
// file; `alternate` starts another choice for the current system.
//
// Diagnostics: a keyword we do not implement is a warning `file:line: keyword "x"
// not supported` (collected in `warnings`); a malformed value throws configError
// (exit 78) with `file:line`.
import path from 'node:path';
import { configError } from '../util/errors.js';
import { readTrustedFile } from '../util/trusted-file.js';

// ---------------------------------------------------------------- types

export type PortType = 'direct' | 'modem' | 'tcp' | 'stdin' | 'pipe';

export interface ProtocolParams {
  /** Every `protocol-parameter` line, per protocol letter, args kept raw. */
  raw: Record<string, string[][]>;
  /** Parsed `protocol-parameter g window N` / `packet-size N`. */
  g: { window?: number; packetSize?: number };
}

export interface UucpPort {
  name: string;
  type: PortType;
  device?: string;
  speed?: number;
  /** Dialer name (or the first word of an inline dialer definition). */
  dialer?: string;
  /** `dialer x y z` with several words: the inline dialer definition, raw. */
  dialerInline?: string[];
  service?: string;
  address?: string;
  /** Command and arguments of a `pipe` port. */
  command?: string[];
  /** The line passes carrier detect (DCD): default true for modem ports, false for direct ones. */
  carrier?: boolean;
  hardflow?: boolean;
  lockname?: string;
  protocol?: string;
  protocolParams: ProtocolParams;
  /** Other recognised port keywords, raw. */
  raw: Record<string, string[][]>;
  where: string;
}

export interface UucpDialer {
  name: string;
  chat: string[];
  chatTimeout?: number;
  chatFail: string[];
  complete?: string;
  abort?: string;
  completeChat?: string[];
  abortChat?: string[];
  dtrToggle?: string[];
  /** `carrier false`: the modem does not raise DCD on connect (default true). */
  carrier?: boolean;
  /** Seconds to wait for DCD after the chat (default 60). */
  carrierWait?: number;
  /** What `=` (wait for a dial tone) and `-` (pause) in a phone number become. */
  dialtone?: string;
  pause?: string;
  /** Every keyword of the entry as written (for the dialer code to interpret). */
  raw: Record<string, string[][]>;
  where: string;
  /** `file:line` of each keyword's last line in the entry. */
  whereOf?: Record<string, string>;
}

/** Settings that make up one calling choice (the system itself or an alternate). */
export interface UucpSystemSettings {
  callLogin?: string;
  callPassword?: string;
  chat: string[];
  chatTimeout: number;
  chatFail: string[];
  /** Port name from `port NAME`. */
  port?: string;
  /** `port type tcp` etc. in the sys file: an anonymous port defined inline. */
  inlinePort?: UucpPort;
  phone?: string;
  address?: string;
  service?: string;
  speed?: number;
  /** `time` strings as written (first arg of each `time` line). */
  time: string[];
  /** Retry time in minutes from `time x N`, or from `retry-time N`. */
  retryTime?: number;
  /** The retry time came from a `time` line (Taylor: a fixed wait, no backoff). */
  retryFixed?: boolean;
  /** `poll` cron expressions (our extension: call at these times even without work). */
  poll: string[];
  /** `file:line` of the last `poll` and `chat` lines (for errors found later). */
  pollWhere?: string;
  chatWhere?: string;
  protocol?: string;
  protocolParams: ProtocolParams;
  commands: string[];
  commandPath?: string[];
  maxRemoteDebug: string[];
  myname?: string;
  calledLogin?: string;
  calledLoginSystems: string[];
  localSend: string[];
  remoteSend: string[];
  localReceive: string[];
  remoteReceive: string[];
  maxRetries: number;
  successWait?: number;
  sequence: boolean;
  pubdir?: string;
}

export interface UucpAlternate extends UucpSystemSettings {
  /** Name given on the `alternate` line, if any. */
  alternateName?: string;
  where: string;
}

export interface UucpSystem extends UucpSystemSettings {
  name: string;
  aliases: string[];
  alternates: UucpAlternate[];
  where: string;
}

export interface UucpMainConfig {
  nodename?: string;
  pubdir?: string;
  spool?: string;
  lockdir?: string;
}

export interface UucpConfig {
  dir: string;
  main: UucpMainConfig;
  systems: Map<string, UucpSystem>;
  ports: Map<string, UucpPort>;
  dialers: Map<string, UucpDialer>;
  /** login name -> password, from `passwd`. */
  passwd: Map<string, string>;
  /** system -> { login, password }, from `call`. */
  call: Map<string, { login: string; password: string }>;
  /** dialcode -> digits, from `dialcode`. */
  dialcodes: Map<string, string>;
  warnings: string[];
  /** Looks a system up by name or alias, allowing 7/14-character truncation. */
  findSystem(name: string): UucpSystem | undefined;
}

// ---------------------------------------------------------------- line reader

export interface ConfigLine {
  keyword: string;
  args: string[];
  /** `file:line` of the first physical line. */
  where: string;
  /** Everything after the keyword, comments removed, blanks kept. */
  rest: string;
}

/** Removes a comment, honouring `\#` (a literal `#`) and `\\#` (a literal `\#`). */
function stripComment(line: string): string {
  let out = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && line[i + 1] === '\\' && line[i + 2] === '#') {
      out += '\\#';
      i += 2;
    } else if (c === '\\' && line[i + 1] === '#') {
      out += '#';
      i += 1;
    } else if (c === '#') {
      break;
    } else {
      out += c;
    }
  }
  return out;
}

/** Splits a Taylor configuration file into logical lines. Pure. */
export function splitConfigLines(text: string, file: string): ConfigLine[] {
  const phys = text.split(/\r?\n/);
  const out: ConfigLine[] = [];
  for (let i = 0; i < phys.length; i++) {
    const start = i + 1;
    let line = phys[i];
    while (line.endsWith('\\') && i + 1 < phys.length) {
      line = line.slice(0, -1) + phys[++i];
    }
    const body = stripComment(line).trim();
    if (body === '') continue;
    const m = /^(\S+)\s*(.*)$/.exec(body)!;
    const rest = m[2];
    out.push({ keyword: m[1], args: rest === '' ? [] : rest.split(/\s+/), where: `${file}:${start}`, rest });
  }
  return out;
}

// ---------------------------------------------------------------- value helpers

function num(l: ConfigLine, idx = 0, opts: { min?: number; max?: number } = {}): number {
  const s = l.args[idx];
  if (s === undefined) throw configError(l.where, `${l.keyword}: missing number`);
  if (!/^-?\d+$/.test(s)) throw configError(l.where, `${l.keyword}: bad number "${s}"`);
  const n = Number.parseInt(s, 10);
  if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max))
    throw configError(l.where, `${l.keyword}: ${n} out of range`);
  return n;
}

function bool(l: ConfigLine, idx = 0): boolean {
  const s = l.args[idx];
  if (s === undefined) throw configError(l.where, `${l.keyword}: missing boolean`);
  if (/^[yYtT]/.test(s)) return true;
  if (/^[nNfF]/.test(s)) return false;
  throw configError(l.where, `${l.keyword}: bad boolean "${s}"`);
}

function str(l: ConfigLine): string {
  if (l.args.length === 0) throw configError(l.where, `${l.keyword}: missing argument`);
  return l.args[0];
}

function unsupported(warnings: string[], l: ConfigLine): void {
  warnings.push(`${l.where}: keyword "${l.keyword}" not supported`);
}

function addRaw(raw: Record<string, string[][]>, l: ConfigLine): void {
  (raw[l.keyword] ??= []).push(l.args);
}

function emptyProtocolParams(): ProtocolParams {
  return { raw: {}, g: {} };
}

function cloneProtocolParams(p: ProtocolParams): ProtocolParams {
  const raw: Record<string, string[][]> = {};
  for (const [k, v] of Object.entries(p.raw)) raw[k] = v.map((a) => [...a]);
  return { raw, g: { ...p.g } };
}

function protocolParameter(p: ProtocolParams, l: ConfigLine): void {
  if (l.args.length < 2) throw configError(l.where, 'protocol-parameter: need a protocol letter and a parameter');
  const [proto, param] = l.args;
  if (proto.length !== 1) throw configError(l.where, `protocol-parameter: bad protocol "${proto}"`);
  (p.raw[proto] ??= []).push(l.args.slice(1));
  if (proto === 'g') {
    if (param === 'window') p.g.window = num(l, 2, { min: 1, max: 7 });
    else if (param === 'packet-size') {
      const n = num(l, 2, { min: 32, max: 4096 });
      if ((n & (n - 1)) !== 0) throw configError(l.where, `protocol-parameter g packet-size: ${n} is not a power of two`);
      p.g.packetSize = n;
    }
  }
}

// ---------------------------------------------------------------- sys file

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

// ---------------------------------------------------------------- port file

function newPort(name: string, where: string): UucpPort {
  return { name, type: 'modem', protocolParams: emptyProtocolParams(), raw: {}, where };
}

const PORT_TYPES: ReadonlySet<string> = new Set(['direct', 'modem', 'tcp', 'stdin', 'pipe']);

function applyPortKeyword(p: UucpPort, l: ConfigLine, warnings: string[]): boolean {
  switch (l.keyword) {
    case 'type': {
      const t = str(l);
      if (!PORT_TYPES.has(t)) {
        if (t === 'tli') warnings.push(`${l.where}: port type "tli" not supported`);
        else throw configError(l.where, `type: unknown port type "${t}"`);
      } else p.type = t as PortType;
      return true;
    }
    case 'device': p.device = str(l); return true;
    case 'speed': case 'baud': p.speed = num(l, 0, { min: 0 }); return true;
    case 'dialer':
      p.dialer = str(l);
      if (l.args.length > 1) p.dialerInline = [...l.args];
      return true;
    case 'service': p.service = str(l); return true;
    case 'address': p.address = str(l); return true;
    case 'command': if (l.args.length === 0) throw configError(l.where, 'command: missing program'); p.command = [...l.args]; return true;
    case 'carrier': p.carrier = bool(l); return true;
    case 'hardflow': p.hardflow = bool(l); return true;
    case 'lockname': p.lockname = str(l); return true;
    case 'protocol': p.protocol = str(l); return true;
    case 'protocol-parameter': protocolParameter(p.protocolParams, l); return true;
    case 'dial-device': case 'dialer-sequence': case 'seven-bit': case 'reliable': case 'half-duplex':
    case 'speed-range': case 'baud-range':
      addRaw(p.raw, l);
      return true;
    default: return false;
  }
}

/** Parses a Taylor `port` file. */
export function parsePortFile(text: string, file: string, warnings: string[]): UucpPort[] {
  const ports: UucpPort[] = [];
  let cur: UucpPort | undefined;
  for (const l of splitConfigLines(text, file)) {
    if (l.keyword === 'port') {
      if (l.args.length !== 1) throw configError(l.where, 'port: need exactly one port name');
      cur = newPort(l.args[0], l.where);
      ports.push(cur);
      continue;
    }
    if (!cur) throw configError(l.where, `${l.keyword}: before the first port command`);
    if (!applyPortKeyword(cur, l, warnings)) unsupported(warnings, l);
  }
  return ports;
}

// ---------------------------------------------------------------- dial file

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

// ---------------------------------------------------------------- passwd, call, config

/** `key value` lines; `missing` words the error for a key alone on its line. */
function parsePairs(text: string, file: string, missing: (key: string) => string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of splitConfigLines(text, file)) {
    if (l.args.length < 1) throw configError(l.where, missing(l.keyword));
    m.set(l.keyword, l.args[0]);
  }
  return m;
}

/** `login password` lines. */
export const parsePasswdFile = (text: string, file: string): Map<string, string> =>
  parsePairs(text, file, (login) => `missing password for login "${login}"`);

/** Taylor's `dialcode` file: `CODE digits` lines (\T turns phone `NY5551234` into the digits for NY + 5551234). */
export const parseDialcodeFile = (text: string, file: string): Map<string, string> =>
  parsePairs(text, file, (code) => `missing the digits for dialcode "${code}"`);

/** `system login password` lines. */
export function parseCallFile(text: string, file: string): Map<string, { login: string; password: string }> {
  const m = new Map<string, { login: string; password: string }>();
  for (const l of splitConfigLines(text, file)) {
    if (l.args.length < 2) throw configError(l.where, `need "system login password" for "${l.keyword}"`);
    m.set(l.keyword, { login: l.args[0], password: l.args[1] });
  }
  return m;
}

/** The main `config` file: only the few keywords the gateway uses. */
export function parseMainConfig(text: string, file: string, warnings: string[]): UucpMainConfig {
  const c: UucpMainConfig = {};
  for (const l of splitConfigLines(text, file)) {
    switch (l.keyword) {
      case 'nodename': case 'hostname': case 'uuname': c.nodename = str(l); break;
      case 'pubdir': c.pubdir = str(l); break;
      case 'spool': c.spool = str(l); break;
      case 'lockdir': c.lockdir = str(l); break;
      default: unsupported(warnings, l);
    }
  }
  return c;
}

// ---------------------------------------------------------------- lookup

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

// ---------------------------------------------------------------- loader

/**
 * Reads a Taylor configuration directory (`sys`, `port`, `dial`, `passwd`, `call`,
 * `config`; all optional). `call-login *` / `call-password *` and missing call
 * credentials are filled from `call`.
 */
export async function loadUucpConfig(dir: string): Promise<UucpConfig> {
  const warnings: string[] = [];
  const f = (n: string): string => path.join(dir, n);
  const [sysT, portT, dialT, passwdT, callT, mainT, dialcodeT] = await Promise.all(
    ['sys', 'port', 'dial', 'passwd', 'call', 'config', 'dialcode'].map((n) => readTrustedFile(f(n))),
  );
  const main = mainT !== undefined ? parseMainConfig(mainT, f('config'), warnings) : {};
  const call = callT !== undefined ? parseCallFile(callT, f('call')) : new Map<string, { login: string; password: string }>();
  const passwd = passwdT !== undefined ? parsePasswdFile(passwdT, f('passwd')) : new Map<string, string>();

  const systems = new Map<string, UucpSystem>();
  if (sysT !== undefined) {
    for (const s of parseSysFile(sysT, f('sys'), warnings).systems) {
      if (systems.has(s.name)) throw configError(s.where, `system "${s.name}" defined twice`);
      systems.set(s.name, s);
    }
  }
  for (const s of systems.values()) {
    for (const block of [s, ...s.alternates]) {
      const c = call.get(s.name) ?? s.aliases.map((a) => call.get(a)).find(Boolean);
      if (block.callLogin === '*' || block.callLogin === undefined) {
        if (c) block.callLogin = c.login;
        else if (block.callLogin === '*') {
          warnings.push(`${s.where}: call-login * but system "${s.name}" is not in ${f('call')}`);
          block.callLogin = undefined;
        }
      }
      if (block.callPassword === '*' || block.callPassword === undefined) {
        if (c) block.callPassword = c.password;
        else if (block.callPassword === '*') {
          warnings.push(`${s.where}: call-password * but system "${s.name}" is not in ${f('call')}`);
          block.callPassword = undefined;
        }
      }
    }
  }

  const ports = new Map<string, UucpPort>();
  if (portT !== undefined) {
    for (const p of parsePortFile(portT, f('port'), warnings)) {
      // Taylor allows several ports with one name (tried in turn); we keep the first.
      if (ports.has(p.name)) warnings.push(`${p.where}: second port named "${p.name}" ignored`);
      else ports.set(p.name, p);
    }
  }
  const dialers = new Map<string, UucpDialer>();
  if (dialT !== undefined) {
    for (const d of parseDialFile(dialT, f('dial'), warnings)) {
      if (dialers.has(d.name)) throw configError(d.where, `dialer "${d.name}" defined twice`);
      dialers.set(d.name, d);
    }
  }

  for (const s of systems.values()) {
    if (s.port && !ports.has(s.port) && portT !== undefined)
      warnings.push(`${s.where}: system "${s.name}" uses port "${s.port}", which is not in ${f('port')}`);
  }

  return {
    dir,
    main,
    systems,
    ports,
    dialers,
    passwd,
    call,
    dialcodes: dialcodeT !== undefined ? parseDialcodeFile(dialcodeT, f('dialcode')) : new Map(),
    warnings,
    findSystem: (name: string) => findSystem(systems, name),
  };
}
