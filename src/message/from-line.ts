// UUCP envelope lines (RFC 976 §2.4): `From path date [remote from host]` and the
// older stacked `>From` lines. The envelope sender is built as rmail does: each
// line contributes a hop (its "remote from" host, or else the address up to its
// last '!'), and the user comes from the last line.
import { dataError } from '../util/errors.js';

export interface FromLines {
  /** Bang-path sender, `<>` for an empty one; undefined when there was no From_ line. */
  sender?: string;
  /** Number of bytes the From_ lines occupied at the start of the input. */
  length: number;
}

export function parseFromLines(data: Buffer): FromLines {
  const hops: string[] = [];
  let user: string | undefined;
  let pos = 0;
  let lineNo = 0;
  for (;;) {
    const nl = data.indexOf(0x0a, pos);
    const end = nl < 0 ? data.length : nl;
    const line = data.toString('latin1', pos, end).replace(/\r$/, '');
    const m = /^>?From /.exec(line);
    if (!m) break;
    lineNo++;
    const hop = parseOne(line.slice(m[0].length), lineNo);
    if (hop.system) hops.push(hop.system);
    user = hop.user;
    pos = nl < 0 ? data.length : nl + 1;
  }
  if (user === undefined) return { length: 0 };
  return { sender: hops.length ? `${hops.join('!')}!${user}` : user, length: pos };
}

function parseOne(rest: string, lineNo: number): { system?: string; user: string } {
  const where = `From_ line ${lineNo}`;
  const addr = rest.split(/\s+/)[0] ?? '';
  if (!addr) throw dataError(`corrupted From_ line: no sender address in "From ${rest}"`, where);
  const remote = /\bremote from (\S+)/.exec(rest);
  if (remote) return { system: remote[1], user: addr };
  if (addr.startsWith('!')) throw dataError(`sender address starts with '!': "${addr}"`, where);
  const bang = addr.lastIndexOf('!');
  if (bang < 0) return { user: addr };
  const user = addr.slice(bang + 1);
  if (!user) throw dataError(`sender address ends with '!': "${addr}"`, where);
  return { system: addr.slice(0, bang), user };
}
