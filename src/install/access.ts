// Whether the gateway account can run this package: the installed wrappers
// exec node on the package's files as whoever calls them (uuxqt runs rmail as
// uucp), so every directory above them must be searchable and the files
// readable by that account. Worked out from owner, group and mode bits
// (supplementary groups are not looked at, so a doubt is reported, not hidden).
import { statSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../config/locations.js';
import type { Account } from './accounts.js';

function allows(file: string, who: Account, bit: 4 | 1): boolean {
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) return false;
  if (who.uid === 0) return true;
  const shift = st.uid === who.uid ? 6 : st.gid === who.gid ? 3 : 0;
  return ((st.mode >> shift) & bit) !== 0;
}

/** Why `who` cannot read `file` (a directory above it not searchable, or the file itself), or null. */
export function unreadableBy(file: string, who: Account, bit: 4 | 1 = 4): string | null {
  const dirs: string[] = [];
  for (let d = path.dirname(file); ; d = path.dirname(d)) {
    dirs.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of dirs) if (!allows(d, who, 1)) return `${d} is not searchable by ${who.name} (chmod o+x ${d})`;
  if (!allows(file, who, bit)) return `${file} is not ${bit === 4 ? 'readable' : 'executable'} by ${who.name} (chmod o+${bit === 4 ? 'r' : 'x'} ${file})`;
  return null;
}

/** Why the gateway account could not run the installed commands, or null. */
export function packageUnreadable(who: Account): string | null {
  const files: Array<[string, 4 | 1]> = [
    [process.execPath, 1],
    [path.join(PACKAGE_ROOT, 'bin/uugate'), 4],
    [path.join(PACKAGE_ROOT, 'dist/bundle/uugate.js'), 4],
    [path.join(PACKAGE_ROOT, 'node_modules'), 1],
  ];
  for (const [f, bit] of files) {
    const why = unreadableBy(f, who, bit);
    if (why) return `the installed commands run this package as ${who.name}, who cannot use it: ${why}`;
  }
  return null;
}
