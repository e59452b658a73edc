// Aliases, :include: files, .forward files and mailing-list files: parsing
// (expansion is in expand.ts). Pure functions over the text.
//
// ALIASES FILE (sendmail/smail syntax):
//   # comment                      ('#' at line start or after white space)
//   name: rcpt, rcpt,
//         rcpt                     (a line starting with white space continues)
//   root: \root, admin@example.org
//   news: :include:/etc/mail/news.list
//   bug:  "|/usr/bin/bugtrack --queue mail"
//   log:  /var/log/mail.copy
// Names are case-insensitive. Each recipient is an address, `\user` (local,
// do not alias again), `:include:/path`, `|command args` or `"|command args"`
// (a program, split into argv with shell-like quoting but never run by a
// shell), or `/path` (append to a file). A duplicate name is an error.
// Errors read `file:line: what`.
//
// .FORWARD, LIST AND INCLUDE FILES: the same recipients separated by commas
// or newlines, with '#' comments.
//
import { configError, GatewayError } from '../../util/errors.js';
import { AddressError } from '../../address/errors.js';
import { decompose } from '../../address/parse.js';

export type ItemKind = 'address' | 'include' | 'program' | 'file';

export interface AliasItem {
  kind: ItemKind;
  /** Address, include/file path, or program command line (unsplit). */
  value: string;
  /** For programs: the argument vector. */
  argv?: string[];
  /** `\user`: deliver locally without aliasing again. */
  noAlias?: boolean;
  file: string;
  line: number;
}

export interface AliasEntry {
  /** Name as written. */
  name: string;
  items: AliasItem[];
  file: string;
  line: number;
}

/** Keyed by lower-cased name. */
export type AliasTable = Map<string, AliasEntry>;

// ---------------------------------------------------------------------------
// Program argument splitting

/**
 * Splits a command line into argv: white space separates, '...' is literal,
 * "..." allows \" and \\, a backslash outside quotes escapes the next
 * character. No expansion of any kind. Throws GatewayError (config).
 */
export function splitCommand(cmd: string, where = 'command'): string[] {
  const argv: string[] = [];
  let cur = '';
  let inArg = false;
  let i = 0;
  while (i < cmd.length) {
    const c = cmd[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inArg) argv.push(cur);
      cur = '';
      inArg = false;
      i++;
      continue;
    }
    inArg = true;
    if (c === "'") {
      const j = cmd.indexOf("'", i + 1);
      if (j < 0) throw configError(where, 'unterminated \' in command');
      cur += cmd.slice(i + 1, j);
      i = j + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= cmd.length) throw configError(where, 'unterminated " in command');
        const d = cmd[i]!;
        if (d === '"') break;
        if (d === '\\' && (cmd[i + 1] === '"' || cmd[i + 1] === '\\')) {
          cur += cmd[i + 1];
          i += 2;
          continue;
        }
        cur += d;
        i++;
      }
      i++;
    } else if (c === '\\') {
      if (i + 1 >= cmd.length) throw configError(where, 'backslash at end of command');
      cur += cmd[i + 1];
      i += 2;
    } else {
      cur += c;
      i++;
    }
  }
  if (inArg) argv.push(cur);
  return argv;
}

// ---------------------------------------------------------------------------
// Recipient lists

/** Removes a '#' comment (at line start or after white space, outside quotes). */
function stripComment(line: string): string {
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && q) i++;
    else if (c === '"') q = !q;
    else if (c === '#' && !q && (i === 0 || line[i - 1] === ' ' || line[i - 1] === '\t' || line[i - 1] === ','))
      return line.slice(0, i);
  }
  return line;
}

/** Splits one line of recipients at commas outside quotes, <> and (). */
function splitLine(text: string, where: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  let angle = 0;
  let paren = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (q) {
      cur += c;
      if (c === '\\' && i + 1 < text.length) cur += text[++i];
      else if (c === '"') q = false;
      continue;
    }
    if (c === '"') q = true;
    else if (c === '<') angle++;
    else if (c === '>') angle = Math.max(0, angle - 1);
    else if (c === '(') paren++;
    else if (c === ')') paren = Math.max(0, paren - 1);
    else if (c === ',' && angle === 0 && paren === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  if (q) throw configError(where, 'unterminated quoted string');
  out.push(cur);
  return out.map((s) => s.trim()).filter((s) => s !== '');
}

export function unquote(s: string): string {
  return s.slice(1, -1).replace(/\\(.)/g, '$1');
}

/** Classifies one recipient as written. Throws GatewayError (config) with where. */
export function parseItem(raw: string, file: string, line: number): AliasItem {
  const where = `${file}:${line}`;
  let s = raw.trim();
  const whole = /^"(?:[^"\\]|\\.)*"$/.test(s);
  if (whole) {
    const inner = unquote(s);
    if (inner.startsWith('|') || inner.startsWith('/')) s = inner;
  }
  if (s.startsWith('|')) {
    const command = s.slice(1).trim();
    if (command === '') throw configError(where, 'empty program');
    return { kind: 'program', value: command, argv: splitCommand(command, where), file, line };
  }
  if (s.startsWith('/')) return { kind: 'file', value: s, file, line };
  if (/^:include:/i.test(s)) {
    const path = s.slice(':include:'.length).trim();
    if (!path.startsWith('/')) throw configError(where, `:include: needs an absolute path, got ${JSON.stringify(path)}`);
    return { kind: 'include', value: path, file, line };
  }
  let noAlias = false;
  if (s.startsWith('\\')) {
    noAlias = true;
    s = s.slice(1);
  }
  // `Name <addr>` and `addr (comment)`.
  const angle = /<([^<>]*)>/.exec(s);
  if (angle) s = angle[1]!.trim();
  else s = s.replace(/\([^()]*\)/g, '').trim();
  try {
    decompose(s);
  } catch (err) {
    if (err instanceof AddressError) throw configError(where, `bad address ${JSON.stringify(raw)}: ${err.message}`);
    throw err;
  }
  return noAlias ? { kind: 'address', value: s, noAlias, file, line } : { kind: 'address', value: s, file, line };
}

/** Parses a .forward, list or include file: recipients by comma or newline. */
export function parseAddressFile(text: string, file: string): AliasItem[] {
  const items: AliasItem[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const body = stripComment(lines[i]!.replace(/\r$/, ''));
    for (const piece of splitLine(body, `${file}:${i + 1}`)) items.push(parseItem(piece, file, i + 1));
  }
  return items;
}

/** Parses an aliases file. Throws GatewayError (EX_CONFIG) `file:line: what`. */
export function parseAliases(text: string, file: string): AliasTable {
  const table: AliasTable = new Map();
  const lines = text.split('\n');
  let cur: AliasEntry | null = null;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const where = `${file}:${lineNo}`;
    const raw = lines[i]!.replace(/\r$/, '');
    if (raw.startsWith('#')) continue;
    const body = stripComment(raw);
    if (body.trim() === '') continue;
    if (body[0] === ' ' || body[0] === '\t') {
      if (!cur) throw configError(where, 'continuation line with no alias above it');
      for (const piece of splitLine(body, where)) cur.items.push(parseItem(piece, file, lineNo));
      continue;
    }
    const colon = body.indexOf(':');
    if (colon < 0) throw configError(where, 'expected "name: recipients"');
    const name = body.slice(0, colon).trim();
    if (name === '' || /[\s,"]/.test(name)) throw configError(where, `invalid alias name ${JSON.stringify(name)}`);
    const key = name.toLowerCase();
    const prev = table.get(key);
    if (prev) throw configError(where, `duplicate alias ${JSON.stringify(name)} (first at line ${prev.line})`);
    cur = { name, items: [], file, line: lineNo };
    table.set(key, cur);
    for (const piece of splitLine(body.slice(colon + 1), where)) cur.items.push(parseItem(piece, file, lineNo));
  }
  for (const e of table.values())
    if (e.items.length === 0) throw configError(`${file}:${e.line}`, `alias ${JSON.stringify(e.name)} has no recipients`);
  return table;
}
