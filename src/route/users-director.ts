// The user director: local parts found in config/users (or served by the
// local_delivery default) go to their maildir or mbox; postmaster and
// MAILER-DAEMON always resolve, to the `postmaster` setting when not listed.
import { localDestination, type MailConfig } from '../config/mail-config.js';
import { unsafeLocalPart } from '../address/local-part.js';
import { failRoute, type RouteDecision } from './types.js';
import { isAccountMailbox } from '../deliver/lspawn.js';

export function directUser(cfg: MailConfig, localPart: string): RouteDecision {
  const name = localPart.toLowerCase();
  const unsafe = unsafeLocalPart(name);
  if (unsafe) return failRoute('user', '5.1.3', unsafe);
  if (!cfg.users.has(name) && cfg.local_delivery && isAccountMailbox(cfg.local_delivery, cfg.spoolDir)) {
    const destination = cfg.local_delivery.replaceAll('%s', name);
    return { kind: 'deliver', route: { transport: 'account', address: `${name}@${cfg.visible_name}`, destination, account: name, router: 'user', why: [`local_delivery=${cfg.local_delivery}: the mailbox of system account ${name}, written as that account`] } };
  }
  const user = cfg.users.get(name) ?? (cfg.local_delivery ? localDestination(name, cfg.local_delivery, cfg.spoolDir) : undefined);
  if (user) {
    const why = [cfg.users.has(name) ? `user ${name} in ${cfg.configDir}/users` : `local_delivery=${cfg.local_delivery}`];
    return { kind: 'deliver', route: { transport: user.kind, address: `${name}@${cfg.visible_name}`, destination: user.destination, router: 'user', why } };
  }
  // localDestination refuses only a name that would leave local_delivery's directory.
  if (cfg.local_delivery) return failRoute('user', '5.1.3', `local part "${localPart}" would lead outside the directory of local_delivery=${cfg.local_delivery}`);
  if ((name === 'postmaster' || name === 'mailer-daemon') && cfg.postmaster.toLowerCase() !== name) {
    return { kind: 'expand', children: [{ addr: cfg.postmaster, provenance: 'aliases' }], router: 'user', why: [`${name} → postmaster setting ${cfg.postmaster}`] };
  }
  return failRoute('user', '5.1.1', `unknown local user "${localPart}"`, [`not in ${cfg.configDir}/users and no local_delivery default`]);
}
