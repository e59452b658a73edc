// RFC 5322 header address lists: parsing (email-addresses for the RFC 5322
// grammar, with a tolerant tokenizer for what real UUCP mail carries, such as
// bare bang paths `From: a!b!user (Name)` that the RFC grammar rejects) and
// in-place rewriting of From/Sender/To/Cc/Reply-To (+ Resent-*).
//
// Rewriting works on the raw header block and splices only the address specs:
// display names, comments, folding, line endings, other headers and the body
// (anything after the first empty line) are left byte for byte as they were.

import emailAddresses from 'email-addresses';
import { AddressError } from './errors.js';
import { rewriteHeaderAddress, type HeaderStyle, type SiteNames } from './rewrite.js';

export interface HeaderAddress {
  /** The addr-spec (route-addr included, comments and folding removed). */
  address: string;
  /** Display name as written (decoded from quotes when email-addresses parsed it), or null. */
  display: string | null;
  /** Name of the enclosing group, or null. */
  group: string | null;
}

/** An element of an address list with its place in the field value. */
export interface AddressSpan extends HeaderAddress {
  /** Offsets in the value of the text to replace when rewriting the address. */
  start: number;
  end: number;
  /** True if written as `<...>`. */
  angle: boolean;
}

/**
 * Removes folding and the white space RFC 5322's obsolete syntax allows around
 * '@', '.' (and '!', '%', ',', ':'), outside quoted strings. Other white space
 * is kept, so `joe smith` stays invalid instead of becoming `joesmith`.
 */
function squeeze(raw: string): string {
  return raw
    .split(/("(?:[^"\\]|\\.)*")/)
    .map((part, i) => (i % 2 ? part : part.replace(/[\r\n]+/g, ' ').replace(/\s*([@.!%,:])\s*/g, '$1')))
    .join('')
    .trim();
}

const isWsp = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';

/**
 * Tolerant tokenizer for an address-list field value. Never throws; elements
 * with no address text (e.g. empty list members, `group:;`) are skipped.
 */
export function scanAddressList(value: string): AddressSpan[] {
  const out: AddressSpan[] = [];
  let group: string | null = null;
  let elemStart = 0;
  // per element state
  let angleOpen = -1;
  let angleStart = -1;
  let angleEnd = -1;
  let atoms: Array<[number, number]> = [];
  let atomStart = -1;

  const closeAtom = (i: number): void => {
    if (atomStart >= 0) {
      atoms.push([atomStart, i]);
      atomStart = -1;
    }
  };
  const finish = (i: number): void => {
    closeAtom(i);
    if (angleStart >= 0 && angleEnd >= 0) {
      const address = squeeze(value.slice(angleStart, angleEnd));
      const displayRaw = value.slice(elemStart, angleOpen).trim();
      if (address !== '')
        out.push({ address, display: displayRaw || null, group, start: angleStart, end: angleEnd, angle: true });
    } else if (atoms.length) {
      let joined = '';
      atoms.forEach(([a, b], k) => {
        joined += (k > 0 && a > atoms[k - 1]![1] ? ' ' : '') + value.slice(a, b);
      });
      const address = squeeze(joined);
      out.push({
        address,
        display: null,
        group,
        start: atoms[0]![0],
        end: atoms[atoms.length - 1]![1],
        angle: false,
      });
    }
    angleOpen = angleStart = angleEnd = -1;
    atoms = [];
    elemStart = i + 1;
  };

  let i = 0;
  while (i < value.length) {
    const c = value[i]!;
    if (c === '"') {
      if (atomStart < 0) atomStart = i;
      i++;
      while (i < value.length && value[i] !== '"') i += value[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    if (c === '(') {
      closeAtom(i);
      let depth = 0;
      while (i < value.length) {
        if (value[i] === '\\') i++;
        else if (value[i] === '(') depth++;
        else if (value[i] === ')' && --depth === 0) break;
        i++;
      }
      i++;
      continue;
    }
    if (c === '<') {
      closeAtom(i);
      angleOpen = i;
      let j = i + 1;
      while (j < value.length && value[j] !== '>') {
        if (value[j] === '"') {
          j++;
          while (j < value.length && value[j] !== '"') j += value[j] === '\\' ? 2 : 1;
        }
        j++;
      }
      // Trim white space inside the brackets from the replaced span.
      let a = i + 1;
      let b = Math.min(j, value.length);
      while (a < b && isWsp(value[a]!)) a++;
      while (b > a && isWsp(value[b - 1]!)) b--;
      angleStart = a;
      angleEnd = b;
      atoms = [];
      i = j + 1;
      continue;
    }
    if (c === '[') {
      if (atomStart < 0) atomStart = i;
      while (i < value.length && value[i] !== ']') i++;
      i++;
      continue;
    }
    if (c === ',') {
      finish(i);
      i++;
      continue;
    }
    if (c === ':' && angleStart < 0 && group === null) {
      // group name: the atoms so far
      closeAtom(i);
      group = value.slice(elemStart, i).trim();
      atoms = [];
      elemStart = i + 1;
      i++;
      continue;
    }
    if (c === ';' && group !== null) {
      finish(i);
      group = null;
      i++;
      continue;
    }
    if (isWsp(c)) {
      closeAtom(i);
      i++;
      continue;
    }
    if (atomStart < 0) atomStart = i;
    i++;
  }
  finish(value.length);
  return out;
}

/**
 * Parses an address-list header value (From/To/Cc/Reply-To/...). The RFC 5322
 * parser (email-addresses) supplies decoded display names when it accepts the
 * value; the tokenizer supplies the addresses (so source routes and bare bang
 * paths survive). Never throws.
 */
export function parseHeaderAddresses(value: string): HeaderAddress[] {
  const spans = scanAddressList(value);
  let parsed: ReturnType<typeof emailAddresses.parseAddressList> = null;
  try {
    parsed = emailAddresses.parseAddressList({ input: value.replace(/\r?\n(?=[ \t])/g, ''), rfc6532: true });
  } catch {
    parsed = null;
  }
  const names: Array<string | null> = [];
  if (parsed) {
    for (const a of parsed) {
      if (a.type === 'group') for (const m of a.addresses) names.push(m.name);
      else names.push(a.name);
    }
  }
  const useNames = parsed !== null && names.length === spans.length;
  return spans.map((s, i) => ({
    address: s.address,
    display: useNames ? names[i]! : s.display,
    group: s.group,
  }));
}

export const ADDRESS_FIELDS: readonly string[] = [
  'from',
  'sender',
  'to',
  'cc',
  'reply-to',
  'resent-from',
  'resent-sender',
  'resent-to',
  'resent-cc',
  'resent-reply-to',
];

export interface HeaderField {
  /** Field name as written, or null for a line that is not a field (e.g. From_). */
  name: string | null;
  /** Offset of the field's first byte in the block. */
  start: number;
  /** Offset just after the ':' (null-name lines: = start). */
  valueStart: number;
  /** Offset of the end of the value: before the field's final line ending. */
  valueEnd: number;
  /** Offset after the final line ending. */
  end: number;
}

/**
 * Splits a raw header block into fields; folded lines (starting with SP/HT)
 * belong to the field above. Stops at the first empty line: the returned
 * `bodyStart` is the offset of that empty line (block.length if none).
 */
export function splitHeaderFields(block: string): { fields: HeaderField[]; bodyStart: number } {
  const fields: HeaderField[] = [];
  let pos = 0;
  let cur: HeaderField | null = null;
  while (pos < block.length) {
    const nl = block.indexOf('\n', pos);
    const lineEnd = nl < 0 ? block.length : nl + 1;
    let contentEnd = nl < 0 ? block.length : nl;
    if (contentEnd > pos && block[contentEnd - 1] === '\r') contentEnd--;
    if (contentEnd === pos) return { fields, bodyStart: pos };
    const c = block[pos];
    if ((c === ' ' || c === '\t') && cur) {
      cur.valueEnd = contentEnd;
      cur.end = lineEnd;
    } else {
      const colon = block.indexOf(':', pos);
      const m = colon >= 0 && colon < contentEnd ? /^[!-9;-~]+[ \t]*$/.exec(block.slice(pos, colon)) : null;
      cur = m
        ? { name: block.slice(pos, colon).trim(), start: pos, valueStart: colon + 1, valueEnd: contentEnd, end: lineEnd }
        : { name: null, start: pos, valueStart: pos, valueEnd: contentEnd, end: lineEnd };
      fields.push(cur);
    }
    pos = lineEnd;
  }
  return { fields, bodyStart: block.length };
}

export interface HeaderRewriteOptions {
  site: SiteNames;
  /** 'domain' (Internet form, the default) or 'bang' (relative to our UUCP name). */
  style?: HeaderStyle;
  /** Lower-case field names to rewrite; default ADDRESS_FIELDS. */
  fields?: readonly string[];
  /** Custom per-address mapping; default rewriteHeaderAddress(addr, site, style). */
  map?: (address: string, field: string) => string;
}

/** Rewrites the addresses in one field value; unparseable addresses are left alone. */
export function rewriteAddressValue(value: string, map: (address: string) => string): string {
  const spans = scanAddressList(value);
  let out = '';
  let last = 0;
  let changed = false;
  for (const s of spans) {
    let repl: string;
    try {
      repl = map(s.address);
    } catch (err) {
      if (err instanceof AddressError) continue;
      throw err;
    }
    if (repl === s.address && value.slice(s.start, s.end) === s.address) continue;
    out += value.slice(last, s.start) + repl;
    last = s.end;
    changed = true;
  }
  return changed ? out + value.slice(last) : value;
}

/**
 * Rewrites the address fields of a raw header block (anything from the first
 * empty line on is returned untouched).
 */
export function rewriteHeaders(block: string, opts: HeaderRewriteOptions): string {
  const wanted = new Set((opts.fields ?? ADDRESS_FIELDS).map((f) => f.toLowerCase()));
  const style = opts.style ?? 'domain';
  const { fields } = splitHeaderFields(block);
  let out = '';
  let last = 0;
  for (const f of fields) {
    if (!f.name || !wanted.has(f.name.toLowerCase())) continue;
    const name = f.name.toLowerCase();
    const value = block.slice(f.valueStart, f.valueEnd);
    const map = opts.map
      ? (a: string) => opts.map!(a, name)
      : (a: string) => rewriteHeaderAddress(a, opts.site, style);
    const nv = rewriteAddressValue(value, map);
    if (nv === value) continue;
    out += block.slice(last, f.valueStart) + nv;
    last = f.valueEnd;
  }
  return last === 0 ? block : out + block.slice(last);
}
