// The maildrop file (docs/privileges.md "The maildrop"): what a local user's
// sendmail or rmail leaves for the daemon's pickup. It imports nothing but
// Node's Buffer, so the sendmail client that writes it starts fast.
//
//   uugate-maildrop 1 {"command":"sendmail","recipients":[...],...}\n   header line: the request (JSON)
//   <message bytes, exactly as read from stdin>
//   \nuugate-end <N>\n                                                  end marker: N = message bytes
//
// A drop without the header line, without the end marker or whose count does not
// match (a writer killed half way, a file someone made by hand) is no drop.
// Who sent it is not in the file: the pickup takes that from the file's owner.

/** The maildrop directory in the spool, and the pickup's pid file in it (how sendmail knows a daemon is there). */
export const MAILDROP = 'maildrop';
export const PICKUP_PID = 'pickup.pid';
/** Where the pickup puts what it will not deliver (gateway user only). */
export const MAILDROP_REJECTED = 'maildrop-rejected';

export const DROP_MAGIC = 'uugate-maildrop 1 ';

export interface DropRequest {
  command: 'sendmail' | 'rmail';
  recipients: string[];
  fromHeaders?: boolean; // sendmail -t
  ignoreDots?: boolean; // sendmail -i / -oi
  sender?: string; // -f: honoured only for trusted users
  fullName?: string; // -F
}

export const dropHead = (req: DropRequest): Buffer => Buffer.from(`${DROP_MAGIC}${JSON.stringify(req)}\n`, 'utf8');

export const dropTrailer = (messageBytes: number): Buffer => Buffer.from(`\nuugate-end ${messageBytes}\n`, 'latin1');

const TRAILER = /\nuugate-end (\d{1,15})\n$/;
const isStr = (v: unknown): v is string => typeof v === 'string';

/** The request and message of a complete drop, or why `buf` is not one. */
export function decodeDrop(buf: Buffer): { req: DropRequest; message: Buffer } | { problem: string } {
  if (buf.toString('latin1', 0, DROP_MAGIC.length) !== DROP_MAGIC) return { problem: 'no maildrop header line' };
  const nl = buf.indexOf(0x0a);
  if (nl < 0) return { problem: 'header line not ended' };
  const tail = TRAILER.exec(buf.toString('latin1', Math.max(nl, buf.length - 40)));
  if (!tail) return { problem: `no end marker: truncated at byte ${buf.length}` };
  const message = buf.subarray(nl + 1, buf.length - tail[0].length);
  if (message.length !== Number(tail[1])) return { problem: `end marker counts ${tail[1]} message bytes, the file holds ${message.length}: truncated` };
  let req: DropRequest;
  try {
    req = JSON.parse(buf.toString('utf8', DROP_MAGIC.length, nl)) as DropRequest;
  } catch {
    return { problem: 'header line is not JSON' };
  }
  const ok =
    (req?.command === 'sendmail' || req?.command === 'rmail') &&
    Array.isArray(req.recipients) &&
    req.recipients.every(isStr) &&
    [req.sender, req.fullName].every((v) => v === undefined || isStr(v)) &&
    [req.fromHeaders, req.ignoreDots].every((v) => v === undefined || typeof v === 'boolean');
  return ok ? { req, message } : { problem: 'header line is not a maildrop request' };
}
