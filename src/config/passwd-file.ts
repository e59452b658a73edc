// Dovecot's passwd-file format for SMTP AUTH without Dovecot: one user a line,
// `user:{SCHEME}hash`, more colon-separated fields after it ignored (uid, gid,
// home... are Dovecot's userdb fields). Schemes: SHA512-CRYPT and SHA256-CRYPT
// (`$6$`/`$5$`, the `unixcrypt` package) and BLF-CRYPT (bcrypt `$2y$`/`$2b$`,
// `bcryptjs`); a hash without {SCHEME} is recognised by its prefix. The file is
// read again when it changes, so a new password works at once.
import { promises as fsp } from 'node:fs';
import bcrypt from 'bcryptjs';
import { verify as verifyCrypt } from 'unixcrypt';
import { configError } from '../util/errors.js';
import { readTrustedFile } from '../util/trusted-file.js';

type Scheme = 'SHA512-CRYPT' | 'SHA256-CRYPT' | 'BLF-CRYPT';

const PREFIXES: Array<[string, Scheme]> = [
  ['$6$', 'SHA512-CRYPT'],
  ['$5$', 'SHA256-CRYPT'],
  ['$2', 'BLF-CRYPT'],
];

interface Entry {
  scheme: Scheme;
  hash: string;
}

/** Parses the file: user (as written, compared case-sensitively, as Dovecot does) → scheme and hash. */
export function parsePasswdFile(text: string, file: string): Map<string, Entry> {
  const users = new Map<string, Entry>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const [user, field = ''] = line.split(':');
    const m = /^(?:\{([A-Z0-9.-]+)\})?(.+)$/i.exec(field);
    const scheme = (m?.[1]?.toUpperCase() ?? PREFIXES.find(([p]) => m?.[2].startsWith(p))?.[1]) as Scheme | undefined;
    if (!user || !m) throw configError(`${file}:${i + 1}`, 'expected "user:{SCHEME}hash"');
    if (!scheme || !PREFIXES.some(([, s]) => s === scheme)) throw configError(`${file}:${i + 1}`, `password scheme ${m[1] ?? '(none)'} not supported; use {SHA512-CRYPT} or {BLF-CRYPT}`);
    users.set(user, { scheme, hash: m[2] });
  });
  return users;
}

export class PasswdFile {
  private users = new Map<string, Entry>();
  private mtime = -1;

  constructor(private readonly file: string) {}

  /** True when `password` is `user`'s. */
  async verify(user: string, password: string): Promise<boolean> {
    const e = (await this.load()).get(user);
    if (!e) return false;
    if (e.scheme === 'BLF-CRYPT') return bcrypt.compare(password, e.hash);
    return verifyCrypt(password, e.hash);
  }

  private async load(): Promise<Map<string, Entry>> {
    const st = await fsp.stat(this.file).catch(() => undefined);
    if (st?.mtimeMs === this.mtime) return this.users;
    const text = await readTrustedFile(this.file);
    if (text === undefined) throw configError(this.file, 'passwd-file not found (auth_passwd_file)');
    this.users = parsePasswdFile(text, this.file);
    this.mtime = st?.mtimeMs ?? -1;
    return this.users;
  }
}
