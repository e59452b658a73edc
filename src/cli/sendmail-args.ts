// sendmail's historical option syntax (-oi, -bm, -F name, -fsender, -odq, -oem …)
// does not fit a modern option parser, so it is parsed here by hand.
import { usageError } from '../util/errors.js';

export type SendmailMode = 'deliver' | 'print-queue' | 'run-queue' | 'smtp' | 'batch-smtp' | 'test-route' | 'verify';

export interface SendmailArgs {
  mode: SendmailMode;
  fromHeaders: boolean;
  ignoreDots: boolean;
  sender?: string;
  fullName?: string;
  verbose: boolean;
  recipients: string[];
  locations: LocationArgs;
}

const MODES: Record<string, SendmailMode> = { m: 'deliver', p: 'print-queue', s: 'smtp', S: 'batch-smtp', t: 'test-route', v: 'verify' };
// Options that take a value, attached (-fsender) or as the next word (-f sender).
const WITH_VALUE = new Set(['f', 'F', 'r', 'N', 'R', 'V', 'X', 'B', 'L', 'h', 'C', 'p']);

export type LocationArgs = { config?: string; uucp?: string; spool?: string };

/** Consumes `--config DIR` / `--spool=DIR` style flags at argv[i]; returns how many words it took. */
export function takeLocationFlag(argv: string[], i: number, into: LocationArgs): number {
  const m = /^--(config|uucp|spool)(?:=(.*))?$/.exec(argv[i]);
  if (!m) return 0;
  const value = m[2] ?? argv[i + 1];
  if (value === undefined) throw usageError(`${argv[i]} needs a directory`);
  into[m[1] as keyof LocationArgs] = value;
  return m[2] === undefined ? 2 : 1;
}

export function parseSendmailArgs(argv: string[]): SendmailArgs {
  const a: SendmailArgs = { mode: 'deliver', fromHeaders: false, ignoreDots: false, verbose: false, recipients: [], locations: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') { a.recipients.push(...argv.slice(i + 1)); break; }
    const taken = takeLocationFlag(argv, i, a.locations);
    if (taken) { i += taken - 1; continue; }
    if (!arg.startsWith('-') || arg === '-') { a.recipients.push(arg); continue; }
    const flag = arg[1];
    const attached = arg.slice(2);
    const value = (): string => {
      const v = attached || argv[++i];
      if (v === undefined) throw usageError(`option -${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case 't': a.fromHeaders = true; break;
      case 'i': a.ignoreDots = true; break;
      case 'v': a.verbose = true; break;
      case 'b':
        if (!MODES[attached]) throw usageError(`unsupported mode -b${attached}`);
        a.mode = MODES[attached];
        break;
      case 'q': a.mode = 'run-queue'; break;
      case 'o': if (attached === 'i') a.ignoreDots = true; break; // -oem, -odq, -oee…: accepted, not needed
      case 'f': case 'r': a.sender = value(); break;
      case 'F': a.fullName = value(); break;
      default:
        if (WITH_VALUE.has(flag)) value();
        else if (!'UGnemd'.includes(flag)) throw usageError(`unknown option ${arg}`);
    }
  }
  return a;
}

/** rmail [--config DIR] [--uucp DIR] [--spool DIR] recipient... */
export function parseRmailArgs(argv: string[]): { recipients: string[]; locations: LocationArgs } {
  const locations: LocationArgs = {};
  const recipients: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const taken = takeLocationFlag(argv, i, locations);
    if (taken) i += taken - 1;
    else if (argv[i] === '--') {
      recipients.push(...argv.slice(i + 1));
      break;
    } else if (argv[i] === '-h' || argv[i] === '--help') throw usageError('usage: rmail [--config DIR] [--uucp DIR] [--spool DIR] recipient ...');
    else recipients.push(argv[i]);
  }
  return { recipients, locations };
}
