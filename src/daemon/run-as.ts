// Whom a daemon started by root becomes once its ports are bound (docs/privileges.md).
import type { Gateway } from '../runtime/gateway.js';
import { dropPrivileges, gatewayAccount, runningAsRoot } from '../util/privileges.js';

/**
 * The afterListen step for runDaemon: nothing for an unprivileged start. Root
 * without gateway_user is the one-user set-up of a checkout (`npm start` as
 * root): it stays root and says so; an installed host always names the account.
 */
export async function privilegeDrop(gw: Gateway): Promise<(() => string | undefined) | undefined> {
  if (!runningAsRoot()) return undefined;
  if (!gw.cfg.gateway_user) return () => 'warning: gateway_user is not set: messages are handled as root (set it on a real host: docs/privileges.md)';
  const a = await gatewayAccount(gw.cfg.gateway_user);
  if (a.uid === 0) return () => 'warning: gateway_user is root: messages are handled as root (for a test host only)';
  return () => {
    dropPrivileges(a);
    return `running as ${a.name} (uid ${a.uid}, gid ${a.gid})`;
  };
}
