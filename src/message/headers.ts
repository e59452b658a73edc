// Minimal RFC 5322 header handling on raw bytes: split header and body, find and
// add fields, without ever re-encoding the body. Header text is treated as latin1
// so that 8-bit bytes survive a round trip unchanged.

export interface SplitMessage {
  /** Header block including the final line break of the last field, without the blank line. */
  header: string;
  /** Everything after the blank line (may be empty). */
  body: Buffer;
  /** The separator found: '\n', '\r\n' or '' when the message had no header/body separator. */
  separator: string;
}

export const FIELD = /^[\x21-\x39\x3b-\x7e]+:/;

/**
 * Splits a message at the first empty line. A first line that is not a header field means
 * the message has no header at all; a non-field line inside the header ends it (sendmail's
 * repair: the rest becomes body), reported through `separator === ''`.
 */
export function splitMessage(data: Buffer): SplitMessage {
  let pos = 0;
  let lastWasField = false;
  while (pos < data.length) {
    const nl = data.indexOf(0x0a, pos);
    const end = nl < 0 ? data.length : nl + 1;
    const line = data.toString('latin1', pos, end).replace(/\r?\n$/, '');
    if (line === '') {
      return { header: data.toString('latin1', 0, pos), body: data.subarray(end), separator: data.toString('latin1', pos, end) };
    }
    const continuation = /^[ \t]/.test(line) && lastWasField;
    if (!continuation && !FIELD.test(line)) {
      return { header: data.toString('latin1', 0, pos), body: data.subarray(pos), separator: '' };
    }
    lastWasField = true;
    pos = end;
  }
  return { header: data.toString('latin1'), body: Buffer.alloc(0), separator: '' };
}

/** Returns the unfolded values of every field named `name` (case-insensitive). */
export function getFields(header: string, name: string): string[] {
  const out: string[] = [];
  const lower = name.toLowerCase();
  for (const field of fields(header)) {
    const colon = field.indexOf(':');
    if (field.slice(0, colon).trim().toLowerCase() === lower) out.push(field.slice(colon + 1).replace(/\r?\n[ \t]/g, ' ').trim());
  }
  return out;
}

/** Splits a header block into whole fields (each with its continuation lines). */
export function fields(header: string): string[] {
  const out: string[] = [];
  for (const line of header.split(/(?<=\n)/)) {
    if (/^[ \t]/.test(line) && out.length) out[out.length - 1] += line;
    else if (line) out.push(line);
  }
  return out;
}

export function hasField(header: string, name: string): boolean {
  return getFields(header, name).length > 0;
}

/** Removes every field named `name`. */
export function removeFields(header: string, name: string): string {
  const lower = name.toLowerCase();
  return fields(header)
    .filter((f) => f.slice(0, f.indexOf(':')).trim().toLowerCase() !== lower)
    .join('');
}

/** Joins header and body back into message bytes, restoring a separator. */
export function joinMessage(header: string, body: Buffer, eol = '\n'): Buffer {
  const h = header && !header.endsWith('\n') ? header + eol : header;
  return Buffer.concat([Buffer.from(h + eol, 'latin1'), body]);
}

/** The line ending a message uses (CRLF if its first line ends so). */
export function lineEnding(data: Buffer): string {
  const nl = data.indexOf(0x0a);
  return nl > 0 && data[nl - 1] === 0x0d ? '\r\n' : '\n';
}
