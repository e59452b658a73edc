// Reads smail-style configuration files: `name=value`, `+flag`, `-flag`, `#` comments.
// Every setting is declared in a table with its parser, so unknown keys and bad
// values are reported as `file:line: what is wrong` (exit 78).
import { configError } from '../util/errors.js';

export type SettingParser<T> = (value: string) => T;

export interface SettingSpec<T> {
  parse: SettingParser<T>;
  default: T;
  boolean?: boolean;
}

export const str: SettingParser<string> = (v) => v;
export const list: SettingParser<string[]> = (v) => v.split(':').map((s) => s.trim()).filter(Boolean);
export const int: SettingParser<number> = (v) => {
  if (!/^\d+$/.test(v)) throw new Error(`expected a whole number, got "${v}"`);
  return Number(v);
};
export const bool: SettingParser<boolean> = (v) => {
  if (/^(true|yes|on|1)$/i.test(v)) return true;
  if (/^(false|no|off|0)$/i.test(v)) return false;
  throw new Error(`expected a boolean, got "${v}"`);
};
const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
/** Durations such as `7d`, `15m`, `1d12h`, or plain seconds; returns seconds. */
export const duration: SettingParser<number> = (v) => {
  if (/^\d+$/.test(v)) return Number(v);
  if (!/^(\d+[smhdw])+$/i.test(v)) throw new Error(`expected a duration such as 15m or 7d, got "${v}"`);
  let total = 0;
  for (const [, n, u] of v.matchAll(/(\d+)([smhdw])/gi)) total += Number(n) * UNIT[u.toLowerCase()];
  return total;
};
export const oneOf =
  <T extends string>(...choices: T[]): SettingParser<T> =>
  (v) => {
    if (!(choices as string[]).includes(v)) throw new Error(`expected one of ${choices.join(', ')}, got "${v}"`);
    return v as T;
  };

type Specs = Record<string, SettingSpec<unknown>>;
export type Settings<S extends Specs> = { [K in keyof S]: S[K]['default'] };

/** Parses `text` (from `file`) against the spec table. */
export function parseSettings<S extends Specs>(text: string, file: string, specs: S): Settings<S> {
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(specs)) out[k] = s.default;
  text.split('\n').forEach((raw, i) => {
    const where = `${file}:${i + 1}`;
    const line = raw.replace(/\s*#.*$/, '').trim();
    if (!line) return;
    const m = /^([+-])([A-Za-z_][\w]*)$/.exec(line) ?? /^([A-Za-z_][\w]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw configError(where, `cannot parse "${raw.trim()}" (expected name=value, +flag or -flag)`);
    const flag = m[1] === '+' || m[1] === '-';
    const key = flag ? m[2] : m[1];
    const spec = specs[key];
    if (!spec) throw configError(where, `unknown setting "${key}"`);
    if (flag && !spec.boolean) throw configError(where, `"${key}" is not a boolean; use ${key}=value`);
    try {
      out[key] = flag ? m[1] === '+' : spec.parse(unquote(m[2]));
    } catch (err) {
      throw configError(where, `${key}: ${(err as Error).message}`);
    }
  });
  return out as Settings<S>;
}

function unquote(v: string): string {
  const m = /^"(.*)"$/.exec(v);
  return m ? m[1] : v;
}
