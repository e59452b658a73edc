// The `call` file: the login and password to give when calling a system
// (a sys entry's `call-login *` / `call-password *`).
import { configError } from '../../util/errors.js';
import { splitConfigLines } from './lines.js';

/** `system login password` lines. */
export function parseCallFile(text: string, file: string): Map<string, { login: string; password: string }> {
  const m = new Map<string, { login: string; password: string }>();
  for (const l of splitConfigLines(text, file)) {
    if (l.args.length < 2) throw configError(l.where, `need "system login password" for "${l.keyword}"`);
    m.set(l.keyword, { login: l.args[0], password: l.args[1] });
  }
  return m;
}
