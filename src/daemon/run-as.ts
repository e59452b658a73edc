// Whom a daemon started by root becomes once its ports are bound (docs/privileges.md).
import type { Gateway } from '../runtime/gateway.js';
import { dropPrivileges, gatewayAccount, rootNeedsGatewayUser, runningAsRoot } from '../util/privileges.js';

/** The afterListen step for runDaemon: nothing for an unprivileged start; refuses root without gateway_user. */
export async function privilegeDrop(gw: Gateway): Promise<(() => string | undefined) | undefined> {
  if (!runningAsRoot()) return undefined;
  if (!gw.cfg.gateway_user) throw rootNeedsGatewayUser();
  const a = await gatewayAccount(gw.cfg.gateway_user);
  if (a.uid === 0) return () => 'warning: gateway_user is root: messages are handled as root (for a test host only)';
  return () => {
    dropPrivileges(a);
    return `running as ${a.name} (uid ${a.uid}, gid ${a.gid})`;
  };
}
