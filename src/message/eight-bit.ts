// 8-bit mail for a next hop that takes only 7-bit (an SMTP server without
// 8BITMIME): each MIME leaf whose body has bytes over 127 is re-encoded as
// quoted-printable, or base64 when it is not text or has lines a 7-bit path
// cannot carry, and its Content-Transfer-Encoding says so (RFC 6152 3, as
// Sendmail, Exim and Postfix do). A message without MIME headers becomes
// text/plain; charset=unknown-8bit (RFC 1428). What cannot be converted (8-bit
// bytes in a header, or in a part that claims to be encoded already) is
// reported, for a bounce. mailsplit walks the MIME tree, libqp and libbase64
// encode; parts without 8-bit bytes are passed on unchanged.
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Joiner, Splitter, type MimeNode, type SplitChunk } from 'mailsplit';
import * as libqp from 'libqp';
import * as libbase64 from 'libbase64';
import { lineEnding } from './headers.js';

/** Longest line quoted-printable is used for (RFC 5322's limit less room for the soft breaks it adds). */
const QP_LINE_LIMIT = 998;

export function hasEightBit(data: Buffer): boolean {
  return data.some((b) => b >= 0x80);
}

/** The message with only 7-bit bytes, or why it cannot be had. */
export async function toSevenBit(data: Buffer): Promise<{ data: Buffer } | { error: string }> {
  const out: Buffer[] = [];
  const converter = new SevenBitParts();
  try {
    await pipeline(
      Readable.from([data]),
      new Splitter(),
      converter,
      new Joiner(),
      async (joined: AsyncIterable<Buffer>) => {
        for await (const b of joined) out.push(b);
      },
    );
  } catch (err) {
    return { error: (err as Error).message };
  }
  // mailsplit and the encoders write CRLF; a message kept with LF line ends (our spool's) stays so.
  const joined = Buffer.concat(out);
  return { data: lineEnding(data) === '\n' ? Buffer.from(joined.toString('latin1').replace(/\r\n/g, '\n'), 'latin1') : joined };
}

class SevenBitParts extends Transform {
  /** The leaf whose body is being collected. */
  private leaf: MimeNode | undefined;
  private body: Buffer[] = [];

  constructor() {
    super({ objectMode: true });
  }

  override _transform(chunk: SplitChunk, _enc: BufferEncoding, done: TransformCallback): void {
    if (chunk.type === 'body') {
      this.body.push(chunk.value);
      return done();
    }
    try {
      this.endLeaf();
      if (chunk.type === 'node') this.startNode(chunk);
      else this.push(chunk);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.endLeaf();
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  private startNode(node: MimeNode): void {
    if (hasEightBit(node.getHeaders())) throw new Error(`8-bit bytes in the ${node.root ? 'message' : 'MIME part'} header; it cannot be made 7-bit`);
    if (node.multipart || node.contentType === 'message/rfc822') {
      // A container is as 7-bit as its parts will be (RFC 2045 6.4: only 7bit, 8bit or binary).
      if (node.encoding && node.encoding !== '7bit') setHeader(node, 'Content-Transfer-Encoding', '7bit');
      this.push(node);
      return;
    }
    this.leaf = node;
  }

  private endLeaf(): void {
    const node = this.leaf;
    if (!node) return;
    this.leaf = undefined;
    const body = Buffer.concat(this.body);
    this.body = [];
    if (!hasEightBit(body)) {
      this.push(node);
      if (body.length) this.push({ type: 'body', value: body, node });
      return;
    }
    if (node.encoding === 'base64' || node.encoding === 'quoted-printable') throw new Error(`8-bit bytes in a part declared ${node.encoding}`);
    if (node.root && !node.headers.hasHeader('Content-Type')) {
      setHeader(node, 'MIME-Version', '1.0');
      setHeader(node, 'Content-Type', 'text/plain; charset=unknown-8bit');
    }
    const qp = (!node.contentType || node.contentType.startsWith('text/')) && !body.includes(0) && longestLine(body) <= QP_LINE_LIMIT;
    setHeader(node, 'Content-Transfer-Encoding', qp ? 'quoted-printable' : 'base64');
    // Inside a multipart the line end before the next boundary is the boundary's; the body itself needs one.
    const encoded = qp ? libqp.wrap(libqp.encode(body), 76) : libbase64.wrap(libbase64.encode(body), 76) + (node.root ? '\n' : '');
    this.push(node);
    this.push({ type: 'body', value: Buffer.from(encoded, 'latin1'), node });
  }
}

/** Replaces a header where it is, or adds it at the end of the block (never above the trace headers). */
function setHeader(node: MimeNode, key: string, value: string): void {
  if (node.headers.hasHeader(key)) node.headers.update(key, value);
  else node.headers.add(key, value, Infinity);
}

function longestLine(body: Buffer): number {
  let max = 0;
  for (let at = 0; at < body.length; ) {
    const nl = body.indexOf(0x0a, at);
    const end = nl < 0 ? body.length : nl;
    max = Math.max(max, end - at);
    at = end + 1;
  }
  return max;
}
