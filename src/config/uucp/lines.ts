// The grammar every Taylor configuration file shares (Taylor "Configuration
// File Format"), and the value helpers the per-file parsers use:
//   - one `keyword args...` per line, args split on blanks;
//   - `#` starts a comment unless written `\#` (which leaves a `#`);
//   - a line ending in `\` continues on the next line, joined with nothing between;
//   - booleans: y/Y/t/T true, n/N/f/F false (trailing characters ignored).
//
// Diagnostics: a keyword we do not implement is a warning `file:line: keyword "x"
// not supported` (collected in `warnings`); a malformed value throws configError
// (exit 78) with `file:line`.
import { configError } from '../../util/errors.js';
import type { ProtocolParams } from './types.js';

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

export function num(l: ConfigLine, idx = 0, opts: { min?: number; max?: number } = {}): number {
  const s = l.args[idx];
  if (s === undefined) throw configError(l.where, `${l.keyword}: missing number`);
  if (!/^-?\d+$/.test(s)) throw configError(l.where, `${l.keyword}: bad number "${s}"`);
  const n = Number.parseInt(s, 10);
  if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max))
    throw configError(l.where, `${l.keyword}: ${n} out of range`);
  return n;
}

export function bool(l: ConfigLine, idx = 0): boolean {
  const s = l.args[idx];
  if (s === undefined) throw configError(l.where, `${l.keyword}: missing boolean`);
  if (/^[yYtT]/.test(s)) return true;
  if (/^[nNfF]/.test(s)) return false;
  throw configError(l.where, `${l.keyword}: bad boolean "${s}"`);
}

export function str(l: ConfigLine): string {
  if (l.args.length === 0) throw configError(l.where, `${l.keyword}: missing argument`);
  return l.args[0];
}

export function unsupported(warnings: string[], l: ConfigLine): void {
  warnings.push(`${l.where}: keyword "${l.keyword}" not supported`);
}

export function addRaw(raw: Record<string, string[][]>, l: ConfigLine): void {
  (raw[l.keyword] ??= []).push(l.args);
}

export function emptyProtocolParams(): ProtocolParams {
  return { raw: {}, g: {} };
}

export function cloneProtocolParams(p: ProtocolParams): ProtocolParams {
  const raw: Record<string, string[][]> = {};
  for (const [k, v] of Object.entries(p.raw)) raw[k] = v.map((a) => [...a]);
  return { raw, g: { ...p.g } };
}

export function protocolParameter(p: ProtocolParams, l: ConfigLine): void {
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

/** `key value` lines; `missing` words the error for a key alone on its line. */
export function parsePairs(text: string, file: string, missing: (key: string) => string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of splitConfigLines(text, file)) {
    if (l.args.length < 1) throw configError(l.where, missing(l.keyword));
    m.set(l.keyword, l.args[0]);
  }
  return m;
}
