// What reading a BSMTP batch reports, independent of who reads it (inject/bsmtp-reader.ts
// runs the batch through the SMTP engine): the summary, its exit status, the
// problems as `rsmtp` prints them, and where in the batch (line numbers, the
// command at an offset) a problem is.
import { EX } from '../util/errors.js';

const LF = 0x0a;

export interface BsmtpProblem {
  /** Line of the batch where the message (or the problem) starts, counting from 1. */
  line: number;
  sender?: string;
  what: string;
  /** Queue id of the bounce sent about it, if any. */
  bounce?: string;
}

export interface BsmtpSummary {
  /** Queue ids of the messages accepted (bounces not included). */
  accepted: string[];
  /** Queue ids of the bounces this batch caused. */
  bounces: string[];
  problems: BsmtpProblem[];
  truncated: boolean;
  /** Set when reading stopped at a temporary failure. */
  temporary?: string;
  /** Byte offset of the first unacknowledged message (with `temporary`). */
  restOffset?: number;
}

export function bsmtpExitCode(s: BsmtpSummary): number {
  if (s.temporary) return EX.TEMPFAIL;
  return s.problems.length ? EX.DATAERR : EX.OK;
}

/** One line per problem, as `rsmtp` prints them on stderr. */
export function formatProblems(s: BsmtpSummary): string {
  const lines = s.problems.map((p) => `line ${p.line}: ${p.sender !== undefined ? `<${p.sender}>: ` : ''}${p.what}${p.bounce ? ` (bounced as ${p.bounce})` : ''}`);
  if (s.temporary) lines.push(`temporary failure, nothing accepted from byte ${s.restOffset} on: ${s.temporary}`);
  return lines.map((l) => `${l}\n`).join('');
}

/** The command line at `offset`, shortened for a report. */
export function commandAt(input: Buffer, offset: number): string {
  const nl = input.indexOf(LF, offset);
  const end = Math.min(nl < 0 ? input.length : nl, offset + 80);
  return input.toString('latin1', offset, end).replace(/\r$/, '');
}

/** Line numbers (from 1) of byte offsets in `input`, counted from the offset asked for last. */
export function lineCounter(input: Buffer): (offset: number) => number {
  let at = 0;
  let line = 1;
  const lfs = (from: number, to: number): number => {
    let n = 0;
    for (let i = input.indexOf(LF, from); i >= 0 && i < to; i = input.indexOf(LF, i + 1)) n++;
    return n;
  };
  return (offset) => {
    line += offset >= at ? lfs(at, offset) : -lfs(offset, at);
    at = offset;
    return line;
  };
}

