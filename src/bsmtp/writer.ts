// Writing batched SMTP (docs/bsmtp.md "Batch format"), as smail's bsmtp transport and
// Exim's use_bsmtp write it:
//
//   HELO <name>               (left out for peers that want hbsmtp-style batches)
//   MAIL FROM:<sender>
//   RCPT TO:<addr>            (one per recipient)
//   DATA
//   <message, dot-stuffed>
//   .
//   ...                       (more transactions)
//   QUIT                      (only with HELO)
//
// Lines end in LF (smail's and Exim's default) or CRLF (`crlf`). The message's
// own line endings are normalised to the batch's; a last line without a newline
// gets one, so "." always stands on a line of its own.

export interface BsmtpStyle {
  crlf?: boolean;
}

const DOT = 0x2e;
const LF = 0x0a;
const CR = 0x0d;

/** The message with every line ended by `eol` and lines starting with "." doubled. */
export function dotStuff(data: Buffer, crlf = false): Buffer {
  const out: Buffer[] = [];
  const eol = crlf ? CRLF : NL;
  let start = 0;
  while (start < data.length) {
    const nl = data.indexOf(LF, start);
    const end = nl < 0 ? data.length : nl;
    const textEnd = end > start && data[end - 1] === CR ? end - 1 : end;
    if (data[start] === DOT) out.push(DOTB);
    out.push(data.subarray(start, textEnd), eol);
    start = end + 1;
  }
  return Buffer.concat(out);
}

/** One transaction: MAIL, RCPT..., DATA, the stuffed message, ".". */
export function bsmtpTransaction(sender: string, recipients: string[], data: Buffer, style: BsmtpStyle = {}): Buffer {
  const eol = style.crlf ? '\r\n' : '\n';
  const head = [`MAIL FROM:<${sender}>`, ...recipients.map((r) => `RCPT TO:<${r}>`), 'DATA'].join(eol) + eol;
  return Buffer.concat([Buffer.from(head, 'latin1'), dotStuff(data, style.crlf), Buffer.from(`.${eol}`, 'latin1')]);
}

/** A whole batch: optional HELO, the transactions, QUIT when there was a HELO. */
export function bsmtpBatch(transactions: Buffer[], opts: BsmtpStyle & { helo?: string }): Buffer {
  const eol = opts.crlf ? '\r\n' : '\n';
  if (!opts.helo) return Buffer.concat(transactions);
  return Buffer.concat([Buffer.from(`HELO ${opts.helo}${eol}`, 'latin1'), ...transactions, Buffer.from(`QUIT${eol}`, 'latin1')]);
}

/** Why an address cannot be written in MAIL FROM:<>/RCPT TO:<>, or undefined. */
export function badBsmtpAddress(addr: string): string | undefined {
  if (/[<>\s\0-\x1f\x7f]/.test(addr)) return `address "${addr}" contains a blank, a control character or an angle bracket and cannot be written in a BSMTP command`;
  if (addr.length > 256) return `address "${addr.slice(0, 40)}…" is longer than 256 characters`;
  return undefined;
}

const NL = Buffer.from('\n');
const CRLF = Buffer.from('\r\n');
const DOTB = Buffer.from('.');
