// The certificate `uugate install` makes when none is configured: STARTTLS on
// smtp_listen and submission_listen needs one (src/smtp/tls.ts), and a
// self-signed pair lets a small site start; mail programs warn about it until
// the administrator puts a CA-signed pair in its place (docs/install.md).
// openssl makes it; nothing here touches key material itself.
import { execFileSync } from 'node:child_process';
import { lstatSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GatewayError, EX } from '../util/errors.js';
import type { Account } from './accounts.js';
import type { Layout } from './layout.js';

export const certFiles = (l: Layout): { dir: string; cert: string; key: string } => {
  const dir = path.join(l.configDir, 'tls');
  return { dir, cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
};

/** openssl's arguments for a self-signed pair for `name`, valid ten years. */
export const opensslArgs = (name: string, cert: string, key: string): string[] =>
  ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-days', '3650', '-keyout', key, '-out', cert];

/**
 * The action that makes the pair in etc/uugate/tls/ (key 0640 root:gateway
 * group, certificate 0644) and names it in uugate.conf; none when the file
 * names a certificate already or the default files exist (those are never
 * overwritten; without the settings they are taken as switched off).
 */
export function selfSignedAction(l: Layout, confFile: string, configured: boolean, user: string, gateway: () => Account): { say: string; run: () => Promise<void> } | undefined {
  const f = certFiles(l);
  if (configured || lstatSync(f.cert, { throwIfNoEntry: false }) || lstatSync(f.key, { throwIfNoEntry: false })) return undefined;
  const name = os.hostname();
  return {
    say: `make a self-signed certificate for CN=${name}: ${f.cert} (0644 root:root) and its key ${f.key} (0640 root, ${user}'s group), by openssl ${opensslArgs(name, f.cert, f.key).join(' ')}; set tls_certificate and tls_key in ${confFile}`,
    run: async () => {
      await fsp.mkdir(f.dir, { mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      // Made in a private directory, then linked into place: the key is never
      // readable by others, and a file that appeared meanwhile is not replaced.
      const tmp = await fsp.mkdtemp(path.join(f.dir, '.new-'));
      try {
        const cert = path.join(tmp, 'cert.pem');
        const key = path.join(tmp, 'key.pem');
        try {
          execFileSync('openssl', opensslArgs(name, cert, key), { stdio: ['ignore', 'ignore', 'pipe'] });
        } catch (err) {
          throw new GatewayError(`openssl could not make a certificate: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`, { exitCode: EX.OSERR });
        }
        await fsp.chown(key, 0, gateway().gid);
        await fsp.chmod(key, 0o640);
        await fsp.chown(cert, 0, 0);
        await fsp.chmod(cert, 0o644);
        await fsp.link(key, f.key);
        await fsp.link(cert, f.cert);
      } finally {
        await fsp.rm(tmp, { recursive: true, force: true });
      }
      await fsp.appendFile(confFile, `\n# A self-signed pair made by uugate install; replace it with your own (docs/install.md).\ntls_certificate=${f.cert}\ntls_key=${f.key}\n`);
    },
  };
}
