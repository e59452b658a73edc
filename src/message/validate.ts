// Checks raw message bytes before they are accepted: what RFC 5322 forbids and we
// refuse outright (NUL bytes, lines over 998 characters, empty messages).
import { dataError } from '../util/errors.js';

export const MAX_LINE = 998;

export function validateMessage(data: Buffer): void {
  if (data.length === 0) throw dataError('empty message (no header and no body)');
  const nul = data.indexOf(0);
  if (nul >= 0) throw dataError(`message contains a NUL byte at byte offset ${nul}`);
  let line = 1;
  let start = 0;
  while (start < data.length) {
    const nl = data.indexOf(0x0a, start);
    const end = nl < 0 ? data.length : nl;
    const len = end - start - (end > start && data[end - 1] === 0x0d ? 1 : 0);
    if (len > MAX_LINE)
      throw dataError(`line ${line} is ${len} characters long (limit ${MAX_LINE}), at byte offset ${start}`);
    start = end + 1;
    line++;
  }
}
