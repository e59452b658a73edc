// Envelope and UUCP address parsing: one step of "which host gets this next".
//
// PRECEDENCE (smail3 parse_address, RFC 976 section 3), highest first:
//
//   form                 kind        target  remainder
//   @a,@b:user@c         'route'     a       @b:user@c
//   @b:user@c            'route'     b       user@c
//   rest@host            'domain'    host    rest        (the LAST unquoted '@')
//   host!rest            'bang'      host    rest        (the FIRST unquoted '!')
//   rest%host            'percent'   host    rest        (the LAST unquoted '%')
//   user                 'local'     ''      user
//
// So `a!b@c` is `(a!b)@c`: it goes to c, and c alone interprets `a!b`. RFC 822
// and RFC 976 agree on that; RFC 976 calls the old UUCP reading `a!(b@c)`
// incompatible but real sites did it, so `bangFirst: true` selects it (the
// first '!' then beats '@'; route-addrs still come first).
//
// `%` has the lowest precedence (RFC 1123 5.2.16: only the final '@' host may
// interpret it), so `a!b%c` goes to a with remainder `b%c`. smail's
// `switch_percent_and_bang` lets '%' beat '!' instead (`(a!b)%c`); that is
// `percentOverBang: true` here. Neither changes anything for addresses that do
// not mix '!' and '%'.
//
// Quoted strings ("a!b"@c), backslash escapes and domain literals ([1.2.3.4])
// hide separators. One pair of surrounding <> is removed. Comments, unquoted
// white space, control characters, and unquoted `<>()[],;:` in the local part
// are rejected. Every rejection is an AddressError; nothing else is thrown.

import { AddressError } from './errors.js';

export type AddressKind = 'route' | 'domain' | 'bang' | 'percent' | 'local';

export interface ParseOptions {
  /** Read `a!user@b` as `a!(user@b)` (old UUCP). Default false (RFC 976). */
  bangFirst?: boolean;
  /** smail's switch_percent_and_bang: `a!b%c` = `(a!b)%c`. Default false. */
  percentOverBang?: boolean;
}

export interface ParsedAddress {
  /** The address with surrounding white space and one pair of <> removed. */
  input: string;
  kind: AddressKind;
  /** The next destination host; '' for kind 'local'. */
  target: string;
  /** What the target is asked to deliver to. For 'local' the whole user. */
  remainder: string;
}

/** The whole address decomposed: the hosts in travel order, then the user. */
export interface RouteList {
  hosts: string[];
  /** Separator that introduced each host (same length as hosts). */
  kinds: Exclude<AddressKind, 'local'>[];
  user: string;
}

export const MAX_ADDRESS_LENGTH = 4096;

const HOST_RE = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?$/;
const LITERAL_RE = /^\[[^[\]\\\s]*\]$/;

/** True for a syntactically valid host: a dotted name or a domain literal. */
export function isValidHost(h: string): boolean {
  return h.length > 0 && h.length <= 255 && (HOST_RE.test(h) || LITERAL_RE.test(h));
}

/** The envelope null address `<>` (or an empty string). */
export function isNullAddress(s: string): boolean {
  const t = s.trim();
  return t === '' || t === '<>';
}

interface Seps {
  firstBang: number;
  lastAt: number;
  lastPct: number;
  firstComma: number;
  firstColon: number;
}

/**
 * Finds separator positions outside quoted strings, escapes and domain
 * literals, and checks the characters. Throws AddressError.
 */
function scan(s: string, whole: string): Seps {
  const seps: Seps = { firstBang: -1, lastAt: -1, lastPct: -1, firstComma: -1, firstColon: -1 };
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw new AddressError('control character in address', whole);
    switch (s[i]) {
      case '"': {
        i++;
        for (;;) {
          if (i >= s.length) throw new AddressError('unterminated quoted string', whole);
          const q = s.charCodeAt(i);
          if (q < 0x20 && q !== 0x09) throw new AddressError('control character in address', whole);
          if (s[i] === '\\') {
            if (i + 1 >= s.length) throw new AddressError('backslash at end of address', whole);
            i += 2;
            continue;
          }
          if (s[i] === '"') break;
          i++;
        }
        break;
      }
      case '\\':
        if (i + 1 >= s.length) throw new AddressError('backslash at end of address', whole);
        if (s.charCodeAt(i + 1) < 0x20) throw new AddressError('control character in address', whole);
        i++;
        break;
      case '[': {
        const j = s.indexOf(']', i);
        if (j < 0) throw new AddressError('unterminated domain literal', whole);
        i = j;
        break;
      }
      case '!':
        if (seps.firstBang < 0) seps.firstBang = i;
        break;
      case '@':
        seps.lastAt = i;
        break;
      case '%':
        seps.lastPct = i;
        break;
      case ',':
        if (seps.firstComma < 0) seps.firstComma = i;
        break;
      case ':':
        if (seps.firstColon < 0) seps.firstColon = i;
        break;
      case ' ':
      case '\t':
        throw new AddressError('white space in address', whole);
      case '<':
      case '>':
        throw new AddressError('misplaced angle bracket', whole);
      case '(':
      case ')':
        throw new AddressError('comments are not allowed in an envelope address', whole);
      case ']':
        throw new AddressError('misplaced "]"', whole);
      case ';':
        throw new AddressError('";" in address', whole);
    }
    i++;
  }
  return seps;
}

function checkHost(h: string, whole: string): string {
  if (h === '') throw new AddressError('empty host name', whole);
  if (!isValidHost(h)) throw new AddressError(`invalid host name ${JSON.stringify(h)}`, whole);
  return h;
}

function stripBrackets(raw: string): string {
  let s = raw.trim();
  if (s.startsWith('<') && s.endsWith('>') && s.length >= 2) s = s.slice(1, -1).trim();
  return s;
}

/** One parsing step on an already-unbracketed string. */
function step(s: string, whole: string, opts: ParseOptions): ParsedAddress {
  if (s === '') throw new AddressError('empty address', whole);
  const seps = scan(s, whole);

  if (s[0] === '@') {
    // route-addr: @a,@b:user@c. ',' or ':' ends the first host, whichever comes first.
    const c = seps.firstComma;
    const k = seps.firstColon;
    let end: number;
    if (c >= 0 && (k < 0 || c < k)) end = c;
    else if (k >= 0) end = k;
    else throw new AddressError('route-addr without ":"', whole);
    const target = checkHost(s.slice(1, end), whole);
    const remainder = s.slice(end + 1);
    if (s[end] === ',' && remainder[0] !== '@') throw new AddressError('"," in route not followed by "@host"', whole);
    if (s[end] === ':' && (remainder === '' || remainder[0] === '@'))
      throw new AddressError('route-addr without a mailbox after ":"', whole);
    return { input: s, kind: 'route', target, remainder };
  }
  if (seps.firstComma >= 0) throw new AddressError('"," in address', whole);
  if (seps.firstColon >= 0) throw new AddressError('":" outside a route-addr', whole);

  const bang = (): ParsedAddress => {
    const i = seps.firstBang;
    if (i === 0) throw new AddressError('address starts with "!"', whole);
    const target = checkHost(s.slice(0, i), whole);
    const remainder = s.slice(i + 1);
    if (remainder === '') throw new AddressError('nothing after "!"', whole);
    return { input: s, kind: 'bang', target, remainder };
  };
  const at = (): ParsedAddress => {
    const i = seps.lastAt;
    const remainder = s.slice(0, i);
    if (remainder === '') throw new AddressError('nothing before "@"', whole);
    return { input: s, kind: 'domain', target: checkHost(s.slice(i + 1), whole), remainder };
  };
  const pct = (): ParsedAddress => {
    const i = seps.lastPct;
    const remainder = s.slice(0, i);
    if (remainder === '') throw new AddressError('nothing before "%"', whole);
    return { input: s, kind: 'percent', target: checkHost(s.slice(i + 1), whole), remainder };
  };

  if (seps.lastAt >= 0) {
    if (opts.bangFirst && seps.firstBang >= 0 && seps.firstBang < seps.lastAt) return bang();
    return at();
  }
  if (seps.firstBang >= 0) {
    if (opts.percentOverBang && seps.lastPct >= 0) return pct();
    return bang();
  }
  if (seps.lastPct >= 0) return pct();
  return { input: s, kind: 'local', target: '', remainder: s };
}

/**
 * Decomposes an address completely (validating every part) and returns every
 * step. steps[0] is the first hop; the last step is always kind 'local'.
 */
export function decompose(raw: string, opts: ParseOptions = {}): ParsedAddress[] {
  if (typeof raw !== 'string') throw new AddressError('address is not a string', String(raw));
  if (raw.length > MAX_ADDRESS_LENGTH) throw new AddressError('address too long', raw);
  const whole = raw;
  let s = stripBrackets(raw);
  const steps: ParsedAddress[] = [];
  for (;;) {
    const p = step(s, whole, opts);
    steps.push(p);
    if (p.kind === 'local') return steps;
    s = p.remainder;
  }
}

/** Parses one envelope address: the first hop and what remains. */
export function parseAddress(raw: string, opts: ParseOptions = {}): ParsedAddress {
  return decompose(raw, opts)[0]!;
}

/** The inverse of parseAddress for one step. */
export function formatAddress(p: Pick<ParsedAddress, 'kind' | 'target' | 'remainder'>): string {
  switch (p.kind) {
    case 'route':
      return `@${p.target}${p.remainder.startsWith('@') ? ',' : ':'}${p.remainder}`;
    case 'domain':
      return `${p.remainder}@${p.target}`;
    case 'bang':
      return `${p.target}!${p.remainder}`;
    case 'percent':
      return `${p.remainder}%${p.target}`;
    case 'local':
      return p.remainder;
  }
}

/** The "route list" view: every host in travel order, then the user. */
export function routeList(raw: string, opts: ParseOptions = {}): RouteList {
  const steps = decompose(raw, opts);
  const last = steps[steps.length - 1]!;
  const rest = steps.slice(0, -1);
  return {
    hosts: rest.map((p) => p.target),
    kinds: rest.map((p) => p.kind as Exclude<AddressKind, 'local'>),
    user: last.remainder,
  };
}

/** `h1!h2!user` (or `user` for no hosts). */
export function formatBang(hosts: readonly string[], user: string): string {
  return hosts.length ? `${hosts.join('!')}!${user}` : user;
}

/** `@h1,@h2:user@h3` (source route), `user@h` for one host, `user` for none. */
export function formatSourceRoute(hosts: readonly string[], user: string): string {
  if (hosts.length === 0) return user;
  const last = hosts[hosts.length - 1]!;
  if (hosts.length === 1) return `${user}@${last}`;
  return `${hosts.slice(0, -1).map((h) => `@${h}`).join(',')}:${user}@${last}`;
}

/** True if the local part (or user) contains an unquoted '!', '@' or '%'. */
export function hasRouting(s: string): boolean {
  try {
    return decompose(s).length > 1;
  } catch {
    return false;
  }
}
