// The main `config` file: only the few keywords the gateway uses.
import { splitConfigLines, str, unsupported } from './lines.js';
import type { UucpMainConfig } from './types.js';

/** The main `config` file: only the few keywords the gateway uses. */
export function parseMainConfig(text: string, file: string, warnings: string[]): UucpMainConfig {
  const c: UucpMainConfig = {};
  for (const l of splitConfigLines(text, file)) {
    switch (l.keyword) {
      case 'nodename': case 'hostname': case 'uuname': c.nodename = str(l); break;
      case 'pubdir': c.pubdir = str(l); break;
      case 'spool': c.spool = str(l); break;
      case 'lockdir': c.lockdir = str(l); break;
      default: unsupported(warnings, l);
    }
  }
  return c;
}
