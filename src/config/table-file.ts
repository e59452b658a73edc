// Table files: config/users, config/autoturn, config/hosts, config/routers. One
// entry per line, fields separated by white space, `#` to the end of the line a
// comment, blank lines ignored. A bad line is reported as `file:line: what`.
import { promises as fsp } from 'node:fs';
import { configError } from '../util/errors.js';

export interface TableLine {
  fields: string[];
  /** The line without its comment, trimmed (for error messages). */
  text: string;
  /** `file:line`, counting from 1. */
  where: string;
  line: number;
}

/** The lines of `text` (read from `file`) that hold an entry. */
export function tableLines(text: string, file: string): TableLine[] {
  const out: TableLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line) out.push({ fields: line.split(/\s+/), text: line, where: `${file}:${i + 1}`, line: i + 1 });
  });
  return out;
}

/** A table file's text; undefined when there is none; a configuration error (exit 78) when it cannot be read. */
export async function readTableFile(file: string): Promise<string | undefined> {
  return fsp.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw configError(file, `cannot read: ${err.message}`);
  });
}
