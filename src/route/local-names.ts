// Which host names mean "this host".
import type { MailConfig } from '../config/mail-config.js';

export function localNames(cfg: MailConfig): Set<string> {
  const names = new Set<string>();
  for (const n of [...cfg.hostnames, cfg.visible_name, cfg.uucp_name, cfg.primaryName]) {
    if (!n) continue;
    names.add(n.toLowerCase());
    if (cfg.visible_domain && !n.includes('.')) names.add(`${n}.${cfg.visible_domain}`.toLowerCase());
    if (!n.includes('.')) names.add(`${n}.uucp`.toLowerCase());
  }
  return names;
}
