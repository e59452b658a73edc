// The contract between uuxqt and the commands it carries out in-process. uuxqt
// knows nothing of mail: whoever runs it (the mail side: inject/uuxqt.ts)
// passes a table of handlers by command name (rmail, rsmtp, ...); a command
// not in the table runs as a program from the system's command-path.

/** One execution request, as a handler sees it (already checked: permitted, files present). */
export interface ExecRequest {
  /** The C line's command name. */
  command: string;
  /** Its arguments. */
  args: string[];
  /** The system the request came from (its spool directory's name). */
  system: string;
  /** The X. file's name, for logs. */
  name: string;
  /** The U line's user. */
  user?: string;
  /** The I line's file name as the request gives it, for messages. */
  stdin?: string;
  /** The standard input's path in the spool, if the request has one. */
  inputFile?: string;
  /** Size of the standard input (0 without one). */
  inputSize(): Promise<number>;
  /** The first `upTo` bytes of the standard input (all of it by default). */
  readInput(upTo?: number): Promise<Buffer>;
}

/** ok: done (ids: queue ids accepted); fail: refused for good (the requester is told); temp: left for the next run. */
export type ExecResult =
  | { kind: 'ok'; detail: string; id?: string; ids?: string[] }
  | { kind: 'fail'; reason: string; stderr?: string }
  | { kind: 'temp'; reason: string };

export interface ExecHandler {
  run(req: ExecRequest): Promise<ExecResult>;
  /** An error mail about this command carries its input back (the message or batch that did not get through). */
  returnsInput?: boolean;
  /**
   * The input is a batch that may be packed: an error mail shows it as this
   * returns it (the raw bytes themselves when not packed), and one too big to
   * show is left out whole, never cut.
   */
  unpack?(raw: Buffer, where?: string): Promise<Buffer>;
}

/** Handlers by command name. */
export type ExecHandlers = ReadonlyMap<string, ExecHandler>;
