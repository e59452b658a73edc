// Where configuration and spool live: flags beat environment variables, which beat
// the package's embedded defaults (config/, uucp/, spool/ beside package.json).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Locations {
  configDir: string;
  uucpDir: string;
  spoolDir: string;
}

/** The package root: the nearest directory above this file holding package.json (works compiled or bundled). */
export const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, 'package.json'))) return d;
    if (path.dirname(d) === d) return dir;
  }
}

export function resolveLocations(
  flags: { config?: string; uucp?: string; spool?: string },
  env: NodeJS.ProcessEnv = process.env,
): Locations {
  const pick = (flag: string | undefined, envName: string, def: string): string =>
    path.resolve(flag ?? env[envName] ?? path.join(PACKAGE_ROOT, def));
  return {
    configDir: pick(flags.config, 'UUGATE_CONFIG', 'config'),
    uucpDir: pick(flags.uucp, 'UUGATE_UUCP', 'uucp'),
    spoolDir: pick(flags.spool, 'UUGATE_SPOOL', 'spool'),
  };
}
