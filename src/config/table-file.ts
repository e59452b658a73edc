// Table files: config/users, config/autoturn, config/hosts, config/routers. One
// entry per line, fields separated by white space, `#` to the end of the line a
// comment, blank lines ignored. A bad line is reported as `file:line: what`.

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
