// Syntax of the SMTP commands our server takes apart: the path of MAIL FROM and
// RCPT TO with its ESMTP parameters (RFC 5321 4.1.2), and the EHLO/HELO name.
// No SMTPUTF8 is offered, so everything outside printable ASCII is refused.
// Addresses without a domain are taken only where asked for (`unqualified`):
// local submission and UUCP neighbours send them (`bob`, `hub!zed`), as Exim
// takes them from -bs and -bS; a network client must qualify its addresses.

import { isValidHost } from '../address/parse.js';

export interface PathArg {
  /** The address between the brackets, source route dropped; '' for <>. */
  path: string;
  /** ESMTP parameters as given (`SIZE=1234`, `BODY=8BITMIME`). */
  params: string[];
}

const MAX_PATH = 254;
const PRINTABLE = /^[!-~]+$/;
const SOURCE_ROUTE = /^@[^:<>]+:/;

/**
 * `FROM:<a@b> SIZE=10` (keyword FROM) → its path and parameters; undefined when
 * the syntax is wrong. A space after the colon is tolerated, as everyone does.
 */
export function parsePathArg(arg: string, keyword: 'FROM' | 'TO', unqualified = false): PathArg | undefined {
  const colon = keyword.length;
  if (arg.length <= colon || arg[colon] !== ':' || arg.slice(0, colon).toUpperCase() !== keyword) return undefined;
  const open = skipSpaces(arg, colon + 1);
  const close = arg.indexOf('>', open);
  if (arg[open] !== '<' || close < 0) return undefined;
  const rest = arg.slice(close + 1);
  if (rest !== '' && rest[0] !== ' ') return undefined;
  const path = arg.slice(open + 1, close).replace(SOURCE_ROUTE, '');
  if (path !== '' && !validPath(path, unqualified)) return undefined;
  return { path, params: rest.split(' ').filter(Boolean) };
}

function skipSpaces(s: string, i: number): number {
  while (s[i] === ' ') i++;
  return i;
}

/** local@domain (or a bare local part when `unqualified`), printable ASCII; `postmaster` alone is left to the caller. */
function validPath(path: string, unqualified: boolean): boolean {
  if (path.length > MAX_PATH || !PRINTABLE.test(path) || path.includes('<')) return false;
  const at = path.lastIndexOf('@');
  if (at < 0) return unqualified || path.toLowerCase() === 'postmaster';
  const host = path.slice(at + 1);
  // The address layer's host syntax; an empty literal `[]` names nothing.
  return at > 0 && host !== '[]' && isValidHost(host);
}

/** The name a client gives in EHLO/HELO: one printable word (a domain or an address literal). */
export function validHelo(name: string): boolean {
  return name.length > 0 && name.length <= 255 && PRINTABLE.test(name);
}
