// TLS for the SMTP server: the certificate and key (tls_certificate, tls_key,
// PEM files, trusted like the rest of the configuration), the STARTTLS upgrade
// of a connection (RFC 3207), and how a TLS session is named in Received: and
// the log, after Postfix: `TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)`.
import net from 'node:net';
import tls from 'node:tls';
import type { MailConfig } from '../config/mail-config.js';
import { configError } from '../util/errors.js';
import { readTrustedFile } from '../util/trusted-file.js';

/** The server's TLS context, or undefined when no certificate is configured. */
export async function loadServerTls(cfg: MailConfig): Promise<tls.SecureContext | undefined> {
  if (!cfg.tls_certificate && !cfg.tls_key) return undefined;
  if (!cfg.tls_certificate || !cfg.tls_key) throw configError(`${cfg.configDir}/uugate.conf`, 'tls_certificate and tls_key go together');
  const [cert, key] = await Promise.all([readTrustedFile(cfg.tls_certificate), readTrustedFile(cfg.tls_key)]);
  if (cert === undefined) throw configError(cfg.tls_certificate, 'certificate file not found (tls_certificate)');
  if (key === undefined) throw configError(cfg.tls_key, 'key file not found (tls_key)');
  try {
    return tls.createSecureContext({ cert, key });
  } catch (err) {
    throw configError(cfg.tls_certificate, `unusable certificate or key: ${(err as Error).message}`);
  }
}

/**
 * Starts the server side of a TLS handshake on `socket`; resolves with the
 * secured socket, rejects when the handshake fails or takes over `timeoutMs`.
 */
export function upgradeToTls(socket: net.Socket, context: tls.SecureContext, timeoutMs: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: context });
    const timer = setTimeout(() => secure.destroy(new Error('TLS handshake timed out')), timeoutMs);
    secure.once('secure', () => {
      clearTimeout(timer);
      secure.off('error', fail);
      resolve(secure);
    });
    const fail = (err: Error): void => {
      clearTimeout(timer);
      secure.destroy();
      reject(err);
    };
    secure.once('error', fail);
  });
}

/** `TLSv1.3 with cipher NAME (256/256 bits)`. */
export function describeTls(s: tls.TLSSocket): string {
  const c = s.getCipher();
  const name = c.standardName || c.name;
  const bits = cipherBits(name);
  return `${s.getProtocol() ?? 'TLS'} with cipher ${name}${bits ? ` (${bits}/${bits} bits)` : ''}`;
}

/** The symmetric key size a cipher suite's name says (AES_256, CHACHA20 → 256). */
function cipherBits(name: string): number | undefined {
  const m = /AES_?(128|256)|CHACHA20/.exec(name);
  return m ? Number(m[1] ?? 256) : undefined;
}
