// The mail configuration (`config/` directory): uugate.conf settings and the users table.
import path from 'node:path';
import os from 'node:os';
import { bool, duration, int, list, oneOf, parseSettings, str, type Settings } from './conf-file.js';
import { configError } from '../util/errors.js';
import { strictlyWithin } from '../util/paths.js';
import { readTrustedFile } from '../util/trusted-file.js';
import { parseCidrList, parseListen, type ListenAddress } from './cidr.js';
import { tableLines } from './table-file.js';

const SPECS = {
  hostnames: { parse: list, default: [] as string[] },
  visible_name: { parse: str, default: '' },
  visible_domain: { parse: str, default: '' },
  uucp_name: { parse: str, default: '' },
  smart_path: { parse: str, default: '' },
  smart_transport: { parse: str, default: 'uux' },
  auth_domains: { parse: list, default: [] as string[] },
  max_hop_count: { parse: int, default: 20 },
  postmaster: { parse: str, default: 'root' },
  error_copy_postmaster: { parse: bool, default: false, boolean: true },
  delivery_mode: { parse: oneOf('foreground', 'background', 'queued'), default: 'background' as 'foreground' | 'background' | 'queued' },
  queue_only: { parse: bool, default: false, boolean: true },
  queue_lifetime: { parse: duration, default: 7 * 86400 },
  queue_interval: { parse: duration, default: 15 * 60 },
  queue_concurrency: { parse: int, default: 4 },
  local_delivery: { parse: str, default: '' },
  extension_delimiter: { parse: str, default: '-' },
  log_json: { parse: bool, default: false, boolean: true },
  message_size_limit: { parse: int, default: 50 * 1024 * 1024 },
  // The daemon's UUCP call scheduler (src/daemon/call-scheduler.ts).
  max_calls: { parse: int, default: 2 },
  call_check_interval: { parse: duration, default: 60 },
  uucp_listen: { parse: str, default: '' },
  // Routing and rewriting (docs/routing.md).
  uucp_transport: { parse: str, default: 'uux' },
  uucp_domain: { parse: str, default: 'uucp' },
  bang_first: { parse: bool, default: false, boolean: true },
  percent_over_bang: { parse: bool, default: false, boolean: true },
  smtp_route_style: { parse: oneOf('bang-local', 'source-route'), default: 'bang-local' as 'bang-local' | 'source-route' },
  rewrite_headers: { parse: bool, default: true, boolean: true },
  uucp_header_style: { parse: oneOf('domain', 'bang'), default: 'domain' as 'domain' | 'bang' },
  // BSMTP over UUCP (docs/bsmtp.md).
  bsmtp_neighbors: { parse: list, default: [] as string[] },
  bsmtp_no_helo: { parse: list, default: [] as string[] },
  bsmtp_batch_max: { parse: int, default: 100 },
  bsmtp_batch_bytes: { parse: int, default: 1024 * 1024 },
  bsmtp_crlf: { parse: bool, default: false, boolean: true },
  bsmtp_gzip: { parse: list, default: [] as string[] },
  bsmtp_gzip_command: { parse: str, default: 'rgsmtp' },
  // UUCP neighbours (uux or bsmtp) that take only 7-bit mail: 8-bit mail is converted for them (docs/submission.md).
  seven_bit_neighbors: { parse: list, default: [] as string[] },
  // The LAN SMTP server (src/smtp/server.ts) and client transport (src/deliver/smtp.ts).
  smtp_listen: { parse: parseListen, default: [{ host: '127.0.0.1', port: 2525 }] as ListenAddress[] },
  rcpt_domains: { parse: list, default: [] as string[] },
  relay_networks: { parse: parseCidrList, default: ['127.0.0.0/8', '::1/128'] },
  databytes: { parse: int, default: 0 },
  smtp_max_connections: { parse: int, default: 40 },
  // Below smtp_max_connections (checked at load), so that a few addresses cannot take every slot.
  smtp_max_per_client: { parse: int, default: 10 },
  // A whole command line, and silence in DATA (docs/smtp.md "Limits against slow and early clients").
  smtp_timeout: { parse: duration, default: 300 },
  // Bytes a second a message must average on top of smtp_timeout (Postfix's smtpd_min_data_rate); 0: none.
  smtp_min_data_rate: { parse: int, default: 500 },
  // How long the greeting waits; a client that talks first gets 554. 0: greet at once, no check.
  smtp_greeting_delay: { parse: duration, default: 1 },
  smtp_max_recipients: { parse: int, default: 100 },
  smtp_port: { parse: int, default: 25 },
  smtp_connect_timeout: { parse: duration, default: 30 },
  // Who runs what (docs/privileges.md): '' is the user running the command.
  gateway_user: { parse: str, default: '' },
  // May set the envelope sender with sendmail -f (root and gateway_user always may).
  trusted_users: { parse: list, default: [] as string[] },
  // The account programs named in config/aliases run as.
  alias_user: { parse: str, default: 'nobody' },
  // The operator's view (docs/watching.md): metrics and status page; empty: off.
  status_listen: { parse: parseListen, default: [] as ListenAddress[] },
  status_show_addresses: { parse: bool, default: false, boolean: true },
  status_password_file: { parse: str, default: '' },
  // Submission, STARTTLS and AUTH (docs/submission.md). Empty submission_listen: no submission port.
  submission_listen: { parse: parseListen, default: [] as ListenAddress[] },
  tls_certificate: { parse: str, default: '' },
  tls_key: { parse: str, default: '' },
  // AUTH on smtp_listen too (it is always on at submission_listen).
  smtp_auth: { parse: bool, default: false, boolean: true },
  // AUTH offered without TLS, to loopback clients only.
  auth_plaintext: { parse: bool, default: false, boolean: true },
  auth_dovecot: { parse: str, default: '' },
  auth_passwd_file: { parse: str, default: '' },
  // Failed logins per client address before it is disconnected (0: never), and the wait before each failure's reply.
  auth_max_failures: { parse: int, default: 3 },
  auth_failure_delay: { parse: duration, default: 2 },
};

export type MailSettings = Settings<typeof SPECS>;

export interface LocalUser {
  name: string; // lower-cased
  destination: string; // absolute path; ends in '/' for a maildir
  kind: 'maildir' | 'mbox';
}

export interface MailConfig extends MailSettings {
  configDir: string;
  spoolDir: string;
  /** Primary name of this host (first of hostnames, else the OS hostname). */
  primaryName: string;
  users: Map<string, LocalUser>;
}

export function parseMailSettings(text: string, file: string): MailSettings {
  return parseSettings(text, file, SPECS);
}

/** Parses `config/users`: `name destination` per line (destination/ = maildir). */
export function parseUsers(text: string, file: string, spoolDir: string): Map<string, LocalUser> {
  const users = new Map<string, LocalUser>();
  for (const { fields: parts, text: line, where } of tableLines(text, file)) {
    if (parts.length !== 2) throw configError(where, `expected "name destination", got "${line}"`);
    const user = localDestination(parts[0].toLowerCase(), parts[1], spoolDir);
    if (!user) throw configError(where, `"${parts[0]}" would lead outside the directory of "${parts[1]}"`);
    users.set(user.name, user);
  }
  return users;
}

/**
 * A destination ending in '/' is a maildir, anything else an mbox (qmail's convention).
 * A `%s` destination must stay strictly inside the directory the name is put in
 * (`mail/%s` inside mail/): undefined when the name would lead elsewhere.
 */
export function localDestination(name: string, dest: string, spoolDir: string): LocalUser | undefined {
  const abs = path.resolve(spoolDir, dest.replaceAll('%s', name));
  const at = dest.indexOf('%s');
  if (at >= 0 && !strictlyWithin(path.dirname(path.resolve(spoolDir, `${dest.slice(0, at)}x`)), abs)) return undefined;
  const maildir = dest.endsWith('/');
  return { name, destination: maildir ? abs + '/' : abs, kind: maildir ? 'maildir' : 'mbox' };
}

/** One address may not hold every connection (unless there is only one). */
function checkConnectionLimits(s: MailSettings, text: string, file: string): void {
  if (s.smtp_max_connections <= 1 || s.smtp_max_per_client < s.smtp_max_connections) return;
  const line = text
    .split('\n')
    .map((l) => /^\s*smtp_max_(per_client|connections)\s*=/.test(l))
    .lastIndexOf(true);
  throw configError(line < 0 ? file : `${file}:${line + 1}`, `smtp_max_per_client (${s.smtp_max_per_client}) must be below smtp_max_connections (${s.smtp_max_connections}), or a few clients can take every connection`);
}

export async function loadMailConfig(configDir: string, spoolDir: string): Promise<MailConfig> {
  const confFile = path.join(configDir, 'uugate.conf');
  const text = await readTrustedFile(confFile);
  if (text === undefined) throw configError(confFile, 'configuration file not found');
  const settings = parseMailSettings(text, confFile);
  checkConnectionLimits(settings, text, confFile);
  const usersFile = path.join(configDir, 'users');
  const users = parseUsers((await readTrustedFile(usersFile)) ?? '', usersFile, spoolDir);
  const primaryName = settings.hostnames[0] ?? os.hostname().split('.')[0];
  return {
    ...settings,
    uucp_name: settings.uucp_name || primaryName,
    visible_name: settings.visible_name || primaryName,
    configDir,
    spoolDir,
    primaryName,
    users,
  };
}
