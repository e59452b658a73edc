// What sending and receiving files share once a protocol runs (session-files.ts
// puts them together): the line's command exchange, the system and the features
// agreed, the session's counters, and the fields of the file commands.
import type { UucpSystem } from '../config/uucp/types.js';
import { EX, GatewayError } from '../util/errors.js';
import type { ProgressSink } from './progress.js';
import type { Protocol } from './protocol/protocol.js';
import type { PathPolicy } from './spool/remote-path.js';
import type { Trace } from './trace.js';

export interface TransferStats {
  bytesSent: number;
  bytesReceived: number;
  filesSent: number;
  filesReceived: number;
  /** Execution (X.) files that arrived, directly or made from E commands. */
  execReceived: number;
}

export const emptyStats = (): TransferStats => ({ bytesSent: 0, bytesReceived: 0, filesSent: 0, filesReceived: 0, execReceived: 0 });

export interface TransferEnv {
  spoolDir: string;
  pubdir: string;
  localName: string;
  trace: Trace;
  log: (message: string) => void;
  progress?: ProgressSink;
}

export type Outcome = 'done' | 'keep';

export const protocolError = (m: string): GatewayError => new GatewayError(m, { exitCode: EX.PROTOCOL, temporary: true });

/** A size field: hex with 0x (Taylor ≥ 1.04), else decimal; -1 when absent or garbled. */
export function parseSize(s: string | undefined): number {
  if (s === undefined) return -1;
  if (/^0x[0-9a-f]+$/i.test(s)) return parseInt(s.slice(2), 16);
  if (/^\d+$/.test(s)) return parseInt(s, 10);
  return -1;
}

/** Splits a received S/E/R/X command (SVR4's `dummy` word before the size is skipped). */
export function fields(cmd: string): string[] {
  const f = cmd.split(/[ \t]+/).filter((w) => w !== '');
  if ((f[0] === 'S' || f[0] === 'E') && f[8] === 'dummy') f.splice(8, 1);
  return f;
}

export const opts = (s: string | undefined): string => (s ?? '').replace(/^-/, '');

/** The line and the session a sender and a receiver work on. */
export class TransferLink {
  constructor(
    protected readonly proto: Protocol,
    protected readonly sys: UucpSystem,
    protected readonly features: number,
    protected readonly env: TransferEnv,
    readonly stats: TransferStats,
  ) {}

  protected get pubdir(): string {
    return this.sys.pubdir ?? this.env.pubdir;
  }

  protected policy(allowed: string[]): PathPolicy {
    return { spoolDir: this.env.spoolDir, system: this.sys.name, pubdir: this.pubdir, allowed };
  }

  protected async send(cmd: string): Promise<void> {
    this.env.trace.log('uucp-proto', `sending "${cmd}"`);
    await this.proto.sendCommand(cmd);
  }

  async read(what: string): Promise<string> {
    const c = await this.proto.readCommand();
    this.env.trace.log('uucp-proto', `got "${c}" (${what})`);
    return c;
  }
}
