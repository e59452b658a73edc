// Unknown local users and local parts that name a path are refused at submission
// when the router can tell at once (exit 67), so rmail's caller (uuxqt) returns the error to the sender and
// nothing is queued for a name that cannot exist here.
import { openRouter } from './routing.js';
import { uniqueAddresses } from '../address/unique.js';
import { GatewayError, EX } from '../util/errors.js';
import type { Gateway } from './gateway.js';

export async function refuseUnknownLocalUsers(gw: Gateway, recipients: string[]): Promise<void> {
  const { router, close } = await openRouter(gw);
  const unknown: string[] = [];
  let status = '5.1.1';
  try {
    for (const addr of uniqueAddresses(recipients)) {
      const d = await router.route({ addr, provenance: 'envelope' });
      // The reason names the local part; the address leads only when it differs.
      if (d.kind !== 'fail' || d.temporary || (d.status !== '5.1.1' && d.status !== '5.1.3')) continue;
      if (!unknown.length) status = d.status;
      unknown.push(d.reason.includes(`"${addr}"`) ? d.reason : `${addr}: ${d.reason}`);
    }
  } finally {
    await close();
  }
  if (unknown.length) throw new GatewayError(unknown.join('; '), { exitCode: EX.NOUSER, status });
}
