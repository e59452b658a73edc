// Which envelope senders an authenticated client may use: its own address
// (`user@` one of our names, or the login itself when it is an address) and what
// config/senders grants it; anything else is refused 553 5.7.1, so a password
// does not let one user send as another.
import { isLocalHost, type SiteNames } from '../address/rewrite.js';
import type { SendersTable } from '../config/senders.js';
import type { Verdict } from './engine.js';

export function checkSender(addr: string, user: string, table: SendersTable, site: SiteNames): Verdict | undefined {
  if (addr === '') return undefined; // a bounce, as Postfix allows
  const a = addr.toLowerCase();
  const login = user.toLowerCase();
  const at = a.lastIndexOf('@');
  const domain = at < 0 ? '' : a.slice(at + 1);
  const own = login.includes('@') ? a === login : at > 0 && a.slice(0, at) === login && isLocalHost(domain, site);
  const granted = table.get(login);
  if (own || granted?.has(a) || (domain && granted?.has(`@${domain}`))) return undefined;
  return { code: 553, status: '5.7.1', text: `<${addr}>: sender address not owned by user ${user}` };
}
