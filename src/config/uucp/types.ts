// The Taylor UUCP configuration as the rest of uugate sees it, once parsed
// (the parsers are beside this file, one per configuration file; load.ts reads
// a whole uucp/ directory).

export type PortType = 'direct' | 'modem' | 'tcp' | 'stdin' | 'pipe';

export interface ProtocolParams {
  /** Every `protocol-parameter` line, per protocol letter, args kept raw. */
  raw: Record<string, string[][]>;
  /** Parsed `protocol-parameter g window N` / `packet-size N`. */
  g: { window?: number; packetSize?: number };
}

export interface UucpPort {
  name: string;
  type: PortType;
  device?: string;
  speed?: number;
  /** Dialer name (or the first word of an inline dialer definition). */
  dialer?: string;
  /** `dialer x y z` with several words: the inline dialer definition, raw. */
  dialerInline?: string[];
  service?: string;
  address?: string;
  /** Command and arguments of a `pipe` port. */
  command?: string[];
  /** The line passes carrier detect (DCD): default true for modem ports, false for direct ones. */
  carrier?: boolean;
  hardflow?: boolean;
  lockname?: string;
  protocol?: string;
  protocolParams: ProtocolParams;
  /** Other recognised port keywords, raw. */
  raw: Record<string, string[][]>;
  where: string;
}

export interface UucpDialer {
  name: string;
  chat: string[];
  chatTimeout?: number;
  chatFail: string[];
  complete?: string;
  abort?: string;
  completeChat?: string[];
  abortChat?: string[];
  dtrToggle?: string[];
  /** `carrier false`: the modem does not raise DCD on connect (default true). */
  carrier?: boolean;
  /** Seconds to wait for DCD after the chat (default 60). */
  carrierWait?: number;
  /** What `=` (wait for a dial tone) and `-` (pause) in a phone number become. */
  dialtone?: string;
  pause?: string;
  /** Every keyword of the entry as written (for the dialer code to interpret). */
  raw: Record<string, string[][]>;
  where: string;
  /** `file:line` of each keyword's last line in the entry. */
  whereOf?: Record<string, string>;
}

/** Settings that make up one calling choice (the system itself or an alternate). */
export interface UucpSystemSettings {
  callLogin?: string;
  callPassword?: string;
  chat: string[];
  chatTimeout: number;
  chatFail: string[];
  /** Port name from `port NAME`. */
  port?: string;
  /** `port type tcp` etc. in the sys file: an anonymous port defined inline. */
  inlinePort?: UucpPort;
  phone?: string;
  address?: string;
  service?: string;
  speed?: number;
  /** `time` strings as written (first arg of each `time` line). */
  time: string[];
  /** Retry time in minutes from `time x N`, or from `retry-time N`. */
  retryTime?: number;
  /** The retry time came from a `time` line (Taylor: a fixed wait, no backoff). */
  retryFixed?: boolean;
  /** `poll` cron expressions (our extension: call at these times even without work). */
  poll: string[];
  /** `file:line` of the last `poll` and `chat` lines (for errors found later). */
  pollWhere?: string;
  chatWhere?: string;
  protocol?: string;
  protocolParams: ProtocolParams;
  commands: string[];
  commandPath?: string[];
  maxRemoteDebug: string[];
  myname?: string;
  calledLogin?: string;
  calledLoginSystems: string[];
  localSend: string[];
  remoteSend: string[];
  localReceive: string[];
  remoteReceive: string[];
  maxRetries: number;
  successWait?: number;
  sequence: boolean;
  pubdir?: string;
}

export interface UucpAlternate extends UucpSystemSettings {
  /** Name given on the `alternate` line, if any. */
  alternateName?: string;
  where: string;
}

export interface UucpSystem extends UucpSystemSettings {
  name: string;
  aliases: string[];
  alternates: UucpAlternate[];
  where: string;
}

export interface UucpMainConfig {
  nodename?: string;
  pubdir?: string;
  spool?: string;
  lockdir?: string;
}

export interface UucpConfig {
  dir: string;
  main: UucpMainConfig;
  systems: Map<string, UucpSystem>;
  ports: Map<string, UucpPort>;
  dialers: Map<string, UucpDialer>;
  /** login name -> password, from `passwd`. */
  passwd: Map<string, string>;
  /** system -> { login, password }, from `call`. */
  call: Map<string, { login: string; password: string }>;
  /** dialcode -> digits, from `dialcode`. */
  dialcodes: Map<string, string>;
  warnings: string[];
  /** Looks a system up by name or alias, allowing 7/14-character truncation. */
  findSystem(name: string): UucpSystem | undefined;
}
