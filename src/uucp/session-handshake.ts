// The UUCP handshake before the packet protocol starts (docs/uucp.md
// "Handshake" and "Feature mask", Taylor manual "UUCP Protocol"; captured from Taylor 1.07):
//
//   called:  \020Shere=NAME\0          (old systems: bare "Shere")
//   caller:  \020SNAME -R -N07\0       options -Q -x -p -v -R -U -N
//   called:  \020ROKN07\0              or ROK, ROK -R, RLCK, RLOGIN, RBADSEQ,
//                                      RCB, "RYou are unknown to me"
//   called:  \020Pg\0                  protocols it offers
//   caller:  \020Ug\0                  the one it picked (UN: none)
//
// Names may arrive cut to 7 or 14 characters (findSystem compares prefixes).
// `-N` carries a feature mask (octal with a leading 0, or 0x hex; bare -N is
// 011); the features used are the intersection with ours. We implement size
// negotiation (01), restart (02) and E commands (04), not quoting (040).
//
// Between two uugate sites (each file then carries a SHA-256, see
// session-files.ts) the caller adds `-Yuugate` to its S line and the called
// side, only then, adds it to its ROK reply. Taylor's called side reads the S
// options with getopt("N::p:Q:RU:v:x:") and ignores letters it does not know
// (Y u g a t e are none of them); Taylor callers never see it in a reply.
import { GatewayError, EX } from '../util/errors.js';
import type { UucpConfig, UucpSystem } from '../config/uucp/types.js';
import { lockSystem, type LockHandle } from './lock.js';
import { readMessage, writeMessage, type LineReader } from './session-io.js';
import type { Trace } from './trace.js';
import { FEATURE } from './features.js';
import { SUPPORTED_PROTOCOLS } from './protocol/table.js';

export const OUR_FEATURES = FEATURE.SIZES | FEATURE.RESTART | FEATURE.EXEC;
/** The S-line option (and ROK addition) by which uugate sites know each other. */
export const UUGATE_OPTION = '-Yuugate';
/** When neither the system nor the port names protocols: i (windowed, full duplex) when the peer has it, else g. */
export const DEFAULT_PROTOCOLS = 'ig';

export interface Handshake {
  system: UucpSystem;
  /** Features both sides use (a mask of FEATURE bits). */
  features: number;
  /** The peer spoke Taylor's `-N` dialect (so it may be Taylor 1.07, with its 16 KiB bug). */
  taylorPeer: boolean;
  protocol: string;
  /** Minimum grade the caller asked for (-p / -vgrade=). */
  minGrade?: string;
  /** The system lock taken by the called side. */
  lock?: LockHandle;
}

/** Why a handshake failed; `status` maps to a status file code (4 = handshake failed). */
export class HandshakeError extends GatewayError {
  constructor(message: string, readonly reply?: string) {
    super(`handshake: ${message}`, { exitCode: EX.PROTOCOL, temporary: true });
  }
}

export interface HandshakeEnv {
  uucp: UucpConfig;
  localName: string;
  lockDir: string;
  trace: Trace;
  timeoutMs: number;
}

function parseMask(s: string): number {
  if (s === '') return 0o11;
  if (/^0x[0-9a-f]+$/i.test(s)) return parseInt(s.slice(2), 16);
  if (/^[0-7]+$/.test(s)) return parseInt(s, 8);
  return 0;
}

/** The protocols a system may use, in preference order, limited to those we have. */
export function protocolsFor(sys: UucpSystem, portProtocol?: string): string {
  const wanted = sys.protocol ?? portProtocol ?? DEFAULT_PROTOCOLS;
  return [...wanted].filter((c) => SUPPORTED_PROTOCOLS.includes(c)).join('');
}

/** The caller's options after `S<name>`. */
export interface CallerOptions {
  name: string;
  mask?: number;
  restart: boolean;
  seq?: string;
  grade?: string;
  debug?: string;
  ulimit?: string;
  /** The caller announced itself as uugate. */
  uugate: boolean;
}

export function parseCallerMessage(msg: string): CallerOptions {
  const words = msg.slice(1).split(/\s+/).filter(Boolean);
  const o: CallerOptions = { name: words[0] ?? '', restart: false, uugate: false };
  for (const w of words.slice(1)) {
    if (w.startsWith('-N')) o.mask = parseMask(w.slice(2));
    else if (w === '-R') o.restart = true;
    else if (w.startsWith('-Q')) o.seq = w.slice(2);
    else if (w.startsWith('-p')) o.grade = w.slice(2, 3);
    else if (w.startsWith('-vgrade=')) o.grade = w.slice(8, 9);
    else if (w.startsWith('-x')) o.debug = w.slice(2);
    else if (w.startsWith('-U')) o.ulimit = w.slice(2);
    else if (w === UUGATE_OPTION) o.uugate = true;
  }
  return o;
}

// ---------------------------------------------------------------- caller

/** Runs the caller's half; returns what was agreed or throws HandshakeError. */
export async function callerHandshake(line: LineReader, sys: UucpSystem, env: HandshakeEnv, portProtocol?: string): Promise<Handshake> {
  const t = env.trace;
  const read = async (what: string): Promise<string> => {
    const m = await readMessage(line, env.timeoutMs, what);
    t.log('handshake', `got "${m}"`);
    return m;
  };
  const send = (m: string): void => {
    t.log('handshake', `sending "${m}"`);
    writeMessage(line, m);
  };

  let here = await read('waiting for Shere');
  // Anything but Shere before it (a banner in DLE framing) is skipped.
  for (let i = 0; !here.startsWith('Shere') && i < 10; i++) here = await read('waiting for Shere');
  if (!here.startsWith('Shere')) throw new HandshakeError(`expected Shere, got "${here}"`);
  const remote = here.startsWith('Shere=') ? here.slice(6).trim() : '';
  if (remote && env.uucp.findSystem(remote) !== sys) throw new HandshakeError(`called ${sys.name} but ${remote} answered`);

  const myname = sys.myname ?? env.localName;
  send(`S${myname} -R -N0${OUR_FEATURES.toString(8)} ${UUGATE_OPTION}`);
  const reply = await read('waiting for the ROK reply');
  if (!reply.startsWith('ROK')) {
    const why: Record<string, string> = {
      RLCK: 'the remote system has us locked (a call is in progress)',
      RLOGIN: 'the remote system refused our login name',
      RBADSEQ: 'conversation sequence number mismatch',
      RCB: 'the remote system wants to call back',
    };
    throw new HandshakeError(why[reply] ?? `refused: "${reply.slice(1)}"`, reply);
  }
  let features = 0;
  let taylorPeer = false;
  const n = /^ROKN(\S*)/.exec(reply);
  if (n) {
    features = parseMask(n[1]!) & OUR_FEATURES;
    taylorPeer = true;
  }
  if (reply.split(/\s+/).includes(UUGATE_OPTION)) features |= FEATURE.DIGEST;

  const offer = await read('waiting for the protocol list');
  if (!offer.startsWith('P')) throw new HandshakeError(`expected a protocol list, got "${offer}"`);
  const ours = protocolsFor(sys, portProtocol);
  const pick = [...ours].find((c) => offer.slice(1).includes(c));
  if (!pick) {
    send('UN');
    throw new HandshakeError(`no common protocol (we have "${ours}", they offer "${offer.slice(1)}")`);
  }
  send(`U${pick}`);
  return { system: sys, features, taylorPeer, protocol: pick };
}

// ---------------------------------------------------------------- called side

export interface CalledAuth {
  /** Login name the caller used (undefined when the line was trusted, e.g. --stdio). */
  login?: string;
}

/** Runs the called side's half; takes the system lock. Throws HandshakeError after sending a refusal. */
export async function calledHandshake(line: LineReader, env: HandshakeEnv, auth: CalledAuth, portProtocol?: string): Promise<Handshake> {
  const t = env.trace;
  const send = (m: string): void => {
    t.log('handshake', `sending "${m}"`);
    writeMessage(line, m);
  };
  const refuse = (reply: string, why: string): never => {
    send(reply);
    throw new HandshakeError(why, reply);
  };

  // Before we know who calls, answer with our own name (a per-system myname
  // can only apply once the caller is known, as in Taylor).
  send(`Shere=${env.localName}`);
  let msg = await readMessage(line, env.timeoutMs, 'waiting for the caller to identify itself');
  t.log('handshake', `got "${msg}"`);
  for (let i = 0; !msg.startsWith('S') && i < 10; i++) msg = await readMessage(line, env.timeoutMs, 'waiting for the caller');
  if (!msg.startsWith('S')) throw new HandshakeError(`expected S<name>, got "${msg}"`);
  const opts = parseCallerMessage(msg);
  const sys = env.uucp.findSystem(opts.name);
  if (!sys) return refuse('RYou are unknown to me', `unknown system "${opts.name}" called`);
  if (auth.login !== undefined) {
    // A login named by called-login belongs to those systems only.
    const owners = [...env.uucp.systems.values()].filter((s) => s.calledLogin === auth.login);
    if (sys.calledLogin !== undefined ? sys.calledLogin !== auth.login : owners.length > 0)
      return refuse('RLOGIN', `${sys.name} called with login "${auth.login}"`);
  }
  const ours = protocolsFor(sys, portProtocol);
  if (!ours) return refuse('RNo usable protocol', `no protocol we support is configured for ${sys.name}`);
  const locked = await lockSystem(env.lockDir, sys.name);
  if (!locked.ok) return refuse('RLCK', `${sys.name} is locked by process ${locked.busyPid}`);
  try {
    let features = 0;
    // Only a uugate caller hears that we are uugate too.
    const us = opts.uugate ? ` ${UUGATE_OPTION}` : '';
    if (opts.mask !== undefined) {
      features = opts.mask & OUR_FEATURES;
      send(`ROKN0${features.toString(8)}${us}`);
    } else send((opts.restart ? 'ROK -R' : 'ROK') + us);
    if (opts.uugate) features |= FEATURE.DIGEST;
    send(`P${ours}`);
    const u = await readMessage(line, env.timeoutMs, 'waiting for the protocol choice');
    t.log('handshake', `got "${u}"`);
    if (!u.startsWith('U') || u === 'UN' || !ours.includes(u[1] ?? '')) throw new HandshakeError(`no protocol agreed ("${u}")`);
    return { system: sys, features, taylorPeer: opts.mask !== undefined, protocol: u[1]!, minGrade: opts.grade, lock: locked.lock };
  } catch (err) {
    await locked.lock.release();
    throw err;
  }
}

