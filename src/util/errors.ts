// One error type for the whole gateway: it carries the sysexits code, whether the
// failure is temporary, an RFC 3463 enhanced status code and where it happened.

export const EX = {
  OK: 0,
  USAGE: 64,
  DATAERR: 65,
  NOINPUT: 66,
  NOUSER: 67,
  NOHOST: 68,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  OSERR: 71,
  CANTCREAT: 73,
  IOERR: 74,
  TEMPFAIL: 75,
  PROTOCOL: 76,
  NOPERM: 77,
  CONFIG: 78,
} as const;

export interface GatewayErrorOptions {
  exitCode?: number;
  temporary?: boolean;
  status?: string; // enhanced status code, e.g. "5.1.1"
  where?: string; // file:line, address, byte offset
  cause?: unknown;
}

export class GatewayError extends Error {
  readonly exitCode: number;
  readonly temporary: boolean;
  readonly status: string;
  readonly where?: string;

  constructor(message: string, opts: GatewayErrorOptions = {}) {
    super(opts.where ? `${opts.where}: ${message}` : message, { cause: opts.cause });
    this.name = 'GatewayError';
    this.exitCode = opts.exitCode ?? (opts.temporary ? EX.TEMPFAIL : EX.SOFTWARE);
    this.temporary = opts.temporary ?? this.exitCode === EX.TEMPFAIL;
    this.status = opts.status ?? (this.temporary ? '4.3.0' : '5.3.0');
    this.where = opts.where;
  }
}

export const configError = (where: string, message: string): GatewayError =>
  new GatewayError(message, { exitCode: EX.CONFIG, where, status: '4.3.5', temporary: false });

export const usageError = (message: string): GatewayError =>
  new GatewayError(message, { exitCode: EX.USAGE, status: '5.5.4' });

export const dataError = (message: string, where?: string): GatewayError =>
  new GatewayError(message, { exitCode: EX.DATAERR, where, status: '5.6.0' });

/** Maps a Node system error to a temporary or "can't create" GatewayError. */
export function fromSystemError(err: unknown, what: string): GatewayError {
  if (err instanceof GatewayError) return err;
  const code = (err as NodeJS.ErrnoException)?.code ?? '';
  const msg = `${what}: ${(err as Error)?.message ?? String(err)}`;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOTDIR')
    return new GatewayError(msg, { exitCode: EX.CANTCREAT, temporary: true, status: '4.3.0', cause: err });
  return new GatewayError(msg, { exitCode: EX.TEMPFAIL, temporary: true, status: '4.3.0', cause: err });
}
