// The password source the configuration names for SMTP AUTH: auth_dovecot
// (Dovecot's socket) before auth_passwd_file.
import type { MailConfig } from '../config/mail-config.js';
import { PasswdFile } from '../config/passwd-file.js';
import type { Authenticator } from './auth.js';
import { dovecotAuthenticator } from './auth-dovecot.js';

/** The configured password source, or undefined when AUTH is not set up. */
export function openAuthenticator(cfg: MailConfig): Authenticator | undefined {
  const { auth_dovecot: socket, auth_passwd_file: file } = cfg;
  if (socket) return dovecotAuthenticator(socket);
  if (file) {
    const pw = new PasswdFile(file);
    return { check: async (user, password) => ((await pw.verify(user, password)) ? { result: 'ok', user } : { result: 'fail' }) };
  }
  return undefined;
}
