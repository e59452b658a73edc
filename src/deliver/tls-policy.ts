// TLS towards other SMTP servers, per destination (config/tls_policy, one line
// each: `destination level [ca=FILE]`; `.example.org` covers its subdomains):
//   may      STARTTLS when offered, any certificate, else in clear (the default)
//   encrypt  STARTTLS or nothing: a server without it is deferred
//   verify   as encrypt, and the certificate must verify for the host name we
//            connect to, against the system's CAs or only those in ca=FILE
// A destination is the next hop as the router gave it (config/hosts, smart_path,
// or the domain for the dns router), without a port.
import path from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { configError } from '../util/errors.js';
import { readTrustedFile } from '../util/trusted-file.js';

export type TlsLevel = 'may' | 'encrypt' | 'verify';

export interface TlsPolicy {
  level: TlsLevel;
  /** PEM file of the CAs to verify against (verify only). */
  caFile?: string;
}

export type TlsPolicyTable = Map<string, TlsPolicy>;

const LEVELS = new Set<TlsLevel>(['may', 'encrypt', 'verify']);

export function parseTlsPolicy(text: string, file: string, configDir: string): TlsPolicyTable {
  const table: TlsPolicyTable = new Map();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const [dest, level, ...opts] = line.split(/\s+/);
    const where = `${file}:${i + 1}`;
    if (!level || !LEVELS.has(level as TlsLevel)) throw configError(where, `expected "destination may|encrypt|verify [ca=FILE]", got "${line}"`);
    const policy: TlsPolicy = { level: level as TlsLevel };
    for (const o of opts) {
      if (!o.startsWith('ca=') || level !== 'verify') throw configError(where, `unknown option "${o}" (only ca=FILE, with verify)`);
      policy.caFile = path.resolve(configDir, o.slice(3));
    }
    table.set(dest.toLowerCase(), policy);
  });
  return table;
}

export async function loadTlsPolicy(configDir: string): Promise<TlsPolicyTable> {
  const file = path.join(configDir, 'tls_policy');
  return parseTlsPolicy((await readTrustedFile(file)) ?? '', file, configDir);
}

/** The policy for a destination host: its own line, else the nearest `.domain` line, else may. */
export function policyFor(table: TlsPolicyTable, host: string): TlsPolicy {
  const h = host.toLowerCase().replace(/\.$/, '');
  const own = table.get(h);
  if (own) return own;
  for (let dot = h.indexOf('.'); dot >= 0; dot = h.indexOf('.', dot + 1)) {
    const p = table.get(h.slice(dot));
    if (p) return p;
  }
  return { level: 'may' };
}

/** nodemailer SMTPConnection options for a policy (the CA file read now, so a missing one defers with its name). */
export async function connectionTls(policy: TlsPolicy): Promise<{ opportunisticTLS: boolean; requireTLS: boolean; tls: ConnectionOptions }> {
  if (policy.level === 'may') return { opportunisticTLS: true, requireTLS: false, tls: { rejectUnauthorized: false } };
  if (policy.level === 'encrypt') return { opportunisticTLS: false, requireTLS: true, tls: { rejectUnauthorized: false } };
  let ca: string | undefined;
  if (policy.caFile) {
    ca = await readTrustedFile(policy.caFile);
    if (ca === undefined) throw configError(policy.caFile, 'CA file not found (config/tls_policy ca=)');
  }
  return { opportunisticTLS: false, requireTLS: true, tls: { rejectUnauthorized: true, ...(ca ? { ca } : {}) } };
}
