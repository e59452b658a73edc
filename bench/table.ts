// Bench tables: each benchmark returns rows (plain objects); this prints them aligned.
export type Row = Record<string, string | number>;

export interface BenchResult {
  title: string;
  rows: Row[];
  notes?: string[];
}

export function formatTable(r: BenchResult): string {
  const cols = [...new Set(r.rows.flatMap((row) => Object.keys(row)))];
  const cell = (v: string | number | undefined): string => (v === undefined ? '' : typeof v === 'number' ? fmt(v) : v);
  const widths = cols.map((c) => Math.max(c.length, ...r.rows.map((row) => cell(row[c]).length)));
  const line = (vals: string[]): string => `| ${vals.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  return [
    `## ${r.title}`,
    line(cols),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...r.rows.map((row) => line(cols.map((c) => cell(row[c])))),
    ...(r.notes ?? []).map((n) => `- ${n}`),
    '',
  ].join('\n');
}

function fmt(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
