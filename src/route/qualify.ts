// smail's qualify file: which domain to append to a host name without a dot.
//
//   # host     domain
//   ernie      sesame.example
//   *          uucp
//
// One `host domain` pair per line, '#' to end of line is a comment, blank
// lines are ignored. The first line (in file order) whose host equals the name
// (ignoring case), or is `*`, gives the domain. Only names without a dot are
// qualified; a rule whose host has a dot could never apply and is an error.
// A missing file means no qualification. Errors read `file:line: what`.

import { configError } from '../util/errors.js';
import { readTrustedFile } from '../util/trusted-file.js';

export interface QualifyRule {
  /** Lower-cased host, or '*'. */
  host: string;
  domain: string;
  line: number;
}

const NAME_RE = /^[A-Za-z0-9_-]+$/;
const DOMAIN_RE = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

export function parseQualify(text: string, file: string): QualifyRule[] {
  const rules: QualifyRule[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const where = `${file}:${i + 1}`;
    const hash = lines[i]!.indexOf('#');
    const body = (hash >= 0 ? lines[i]!.slice(0, hash) : lines[i]!).trim();
    if (body === '') continue;
    const f = body.split(/\s+/);
    if (f.length !== 2) throw configError(where, `expected "host domain", got ${f.length} field(s)`);
    const host = f[0]!;
    let domain = f[1]!;
    if (domain.startsWith('.')) domain = domain.slice(1);
    if (host !== '*') {
      if (host.includes('.')) throw configError(where, `host ${JSON.stringify(host)} has a dot; only unqualified names are qualified`);
      if (!NAME_RE.test(host)) throw configError(where, `invalid host name ${JSON.stringify(host)}`);
    }
    if (!DOMAIN_RE.test(domain)) throw configError(where, `invalid domain ${JSON.stringify(f[1])}`);
    rules.push({ host: host === '*' ? '*' : host.toLowerCase(), domain, line: i + 1 });
  }
  return rules;
}

export class Qualifier {
  readonly rules: readonly QualifyRule[];

  constructor(rules: readonly QualifyRule[] = []) {
    this.rules = rules;
  }

  /** The matching rule's domain, or null (dotted names never match). */
  domainFor(host: string): string | null {
    if (host.includes('.') || host.startsWith('[')) return null;
    const h = host.toLowerCase();
    for (const r of this.rules) if (r.host === '*' || r.host === h) return r.domain;
    return null;
  }

  /** `host.domain`, or null when no rule applies. */
  qualify(host: string): string | null {
    const d = this.domainFor(host);
    return d === null ? null : `${host}.${d}`;
  }

  /** The host qualified, or unchanged. */
  qualifyOrSelf(host: string): string {
    return this.qualify(host) ?? host;
  }
}

/** Reads the qualify file; a missing file gives an empty Qualifier. */
export async function loadQualify(file: string): Promise<Qualifier> {
  const text = await readTrustedFile(file);
  return new Qualifier(text === undefined ? [] : parseQualify(text, file));
}
