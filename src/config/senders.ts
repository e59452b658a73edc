// config/senders: which envelope senders an authenticated user may use besides
// their own address (Postfix's smtpd_sender_login_maps, turned around: one
// line per user). `user address address...`; `@domain` allows a whole domain.
import path from 'node:path';
import { configError } from '../util/errors.js';
import { readTrustedFile } from '../util/trusted-file.js';

/** Login name (lower case) → addresses and @domains (lower case). */
export type SendersTable = Map<string, Set<string>>;

export function parseSenders(text: string, file: string): SendersTable {
  const table: SendersTable = new Map();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const [user, ...addrs] = line.split(/\s+/);
    if (!addrs.length || addrs.some((a) => !a.includes('@'))) throw configError(`${file}:${i + 1}`, 'expected "user address..." (addresses with @, or @domain)');
    const set = table.get(user.toLowerCase()) ?? new Set<string>();
    for (const a of addrs) set.add(a.toLowerCase());
    table.set(user.toLowerCase(), set);
  });
  return table;
}

export async function loadSenders(configDir: string): Promise<SendersTable> {
  const file = path.join(configDir, 'senders');
  return parseSenders((await readTrustedFile(file)) ?? '', file);
}
