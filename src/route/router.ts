// The router chain: decides for each recipient whether it is local (directors)
// or remote (routers), and which transport and next hop take it.
import type { MailConfig } from '../config/mail-config.js';
import { localNames } from './local-names.js';
import { directUser } from './users-director.js';
import { failRoute, type AddressRouter, type RouteDecision, type RouteRequest } from './types.js';

interface Target {
  host?: string;
  rest: string; // what the host should see
}

/** Splits off the first routing hop: `user@host` (last @) before `host!rest` (first !). */
function splitTarget(addr: string): Target {
  const a = addr.replace(/^<(.*)>$/, '$1');
  const at = a.lastIndexOf('@');
  if (at > 0) return { host: a.slice(at + 1), rest: a.slice(0, at) };
  const bang = a.indexOf('!');
  if (bang > 0) return { host: a.slice(0, bang), rest: a.slice(bang + 1) };
  return { rest: a };
}

export function createRouter(cfg: MailConfig): AddressRouter {
  const local = localNames(cfg);
  const route = async (req: RouteRequest): Promise<RouteDecision> => {
    let t = splitTarget(req.addr);
    while (t.host && local.has(t.host.toLowerCase())) t = splitTarget(t.rest);
    if (!t.host) return directUser(cfg, t.rest);
    return smartHost(cfg, `${t.host}!${t.rest}`);
  };
  return { route };
}

function smartHost(cfg: MailConfig, bang: string): RouteDecision {
  if (!cfg.smart_path) return failRoute('smart_host', '5.1.2', `no route to ${bang}`, ['no router matched and smart_path is not set']);
  const [next, ...via] = cfg.smart_path.split('!');
  return {
    kind: 'deliver',
    route: {
      transport: cfg.smart_transport,
      nextHop: next,
      address: [...via, bang].join('!'),
      router: 'smart_host',
      why: [`smart_path=${cfg.smart_path} via ${cfg.smart_transport}`],
    },
  };
}
