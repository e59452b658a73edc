// The paths router: pathalias output searched by binary search on the file.
import type { PathsDb } from './paths.js';
import type { RemoteMatch, RemoteRouter } from './remote.js';

export function pathsRouter(db: PathsDb, transport: string): RemoteRouter {
  return {
    name: 'paths',
    async match(target): Promise<RemoteMatch | null> {
      const m = await db.lookup(target);
      if (!m) return null;
      const why = [`${db.file}: "${m.key}" → ${m.path}${m.full ? '' : ` (partial match, ${m.matchedLength} characters)`}`];
      if (m.blocked) return { router: 'paths', length: m.matchedLength, full: false, transport, nextHop: '', route: [], why, blocked: true };
      if (m.nextHop === null) return { router: 'paths', length: m.matchedLength, full: true, transport: '', nextHop: '', route: [], why, local: true };
      return { router: 'paths', length: m.matchedLength, full: m.full, transport, nextHop: m.nextHop, route: m.route, why };
    },
  };
}
