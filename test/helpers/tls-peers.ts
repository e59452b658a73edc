// Test fixtures for TLS and AUTH: a throwaway self-signed certificate made by
// openssl, password hashes made by Dovecot's own doveadm.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface CertPair {
  cert: string;
  key: string;
}

/** A self-signed certificate for localhost (and 127.0.0.1), valid one day, in `dir`. */
export function selfSignedCert(dir: string, name = 'server'): CertPair {
  const cert = path.join(dir, `${name}-cert.pem`);
  const key = path.join(dir, `${name}-key.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

/** `{SCHEME}hash` for `password`, as `doveadm pw` writes it. */
export function doveadmHash(scheme: 'SHA512-CRYPT' | 'BLF-CRYPT', password: string): string {
  return execFileSync('doveadm', ['pw', '-s', scheme, '-p', password], { encoding: 'utf8' }).trim();
}

/** A passwd-file with `users` (name → {SCHEME}hash) in `dir`. */
export function passwdFile(dir: string, users: Record<string, string>): string {
  const file = path.join(dir, 'passwd');
  writeFileSync(file, Object.entries(users).map(([u, h]) => `${u}:${h}::::::\n`).join(''), { mode: 0o600 });
  return file;
}
