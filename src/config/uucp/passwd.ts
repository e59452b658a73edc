// The `passwd` file: the logins callers may use.
import { parsePairs } from './lines.js';

/** `login password` lines. */
export const parsePasswdFile = (text: string, file: string): Map<string, string> =>
  parsePairs(text, file, (login) => `missing password for login "${login}"`);
