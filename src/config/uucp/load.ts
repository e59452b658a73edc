// Reads a Taylor UUCP configuration directory: the `sys`, `port`, `dial`,
// `passwd`, `call`, `dialcode` and (optionally) `config` files of a `uucp/`
// directory, each one only if trusted (util/trusted-file.ts), each parsed by
// its own file beside this one.
import path from 'node:path';
import { configError } from '../../util/errors.js';
import { readTrustedFile } from '../../util/trusted-file.js';
import { parseCallFile } from './call.js';
import { parseDialFile } from './dial.js';
import { parseDialcodeFile } from './dialcode.js';
import { parseMainConfig } from './main-config.js';
import { parsePasswdFile } from './passwd.js';
import { parsePortFile } from './port.js';
import { findSystem, parseSysFile } from './sys.js';
import type { UucpConfig, UucpDialer, UucpPort, UucpSystem } from './types.js';

/**
 * Reads a Taylor configuration directory (`sys`, `port`, `dial`, `passwd`, `call`,
 * `config`; all optional). `call-login *` / `call-password *` and missing call
 * credentials are filled from `call`.
 */
export async function loadUucpConfig(dir: string): Promise<UucpConfig> {
  const warnings: string[] = [];
  const f = (n: string): string => path.join(dir, n);
  const [sysT, portT, dialT, passwdT, callT, mainT, dialcodeT] = await Promise.all(
    ['sys', 'port', 'dial', 'passwd', 'call', 'config', 'dialcode'].map((n) => readTrustedFile(f(n))),
  );
  const main = mainT !== undefined ? parseMainConfig(mainT, f('config'), warnings) : {};
  const call = callT !== undefined ? parseCallFile(callT, f('call')) : new Map<string, { login: string; password: string }>();
  const passwd = passwdT !== undefined ? parsePasswdFile(passwdT, f('passwd')) : new Map<string, string>();

  const systems = new Map<string, UucpSystem>();
  if (sysT !== undefined) {
    for (const s of parseSysFile(sysT, f('sys'), warnings).systems) {
      if (systems.has(s.name)) throw configError(s.where, `system "${s.name}" defined twice`);
      systems.set(s.name, s);
    }
  }
  for (const s of systems.values()) {
    for (const block of [s, ...s.alternates]) {
      const c = call.get(s.name) ?? s.aliases.map((a) => call.get(a)).find(Boolean);
      if (block.callLogin === '*' || block.callLogin === undefined) {
        if (c) block.callLogin = c.login;
        else if (block.callLogin === '*') {
          warnings.push(`${s.where}: call-login * but system "${s.name}" is not in ${f('call')}`);
          block.callLogin = undefined;
        }
      }
      if (block.callPassword === '*' || block.callPassword === undefined) {
        if (c) block.callPassword = c.password;
        else if (block.callPassword === '*') {
          warnings.push(`${s.where}: call-password * but system "${s.name}" is not in ${f('call')}`);
          block.callPassword = undefined;
        }
      }
    }
  }

  const ports = new Map<string, UucpPort>();
  if (portT !== undefined) {
    for (const p of parsePortFile(portT, f('port'), warnings)) {
      // Taylor allows several ports with one name (tried in turn); we keep the first.
      if (ports.has(p.name)) warnings.push(`${p.where}: second port named "${p.name}" ignored`);
      else ports.set(p.name, p);
    }
  }
  const dialers = new Map<string, UucpDialer>();
  if (dialT !== undefined) {
    for (const d of parseDialFile(dialT, f('dial'), warnings)) {
      if (dialers.has(d.name)) throw configError(d.where, `dialer "${d.name}" defined twice`);
      dialers.set(d.name, d);
    }
  }

  for (const s of systems.values()) {
    if (s.port && !ports.has(s.port) && portT !== undefined)
      warnings.push(`${s.where}: system "${s.name}" uses port "${s.port}", which is not in ${f('port')}`);
  }

  return {
    dir,
    main,
    systems,
    ports,
    dialers,
    passwd,
    call,
    dialcodes: dialcodeT !== undefined ? parseDialcodeFile(dialcodeT, f('dialcode')) : new Map(),
    warnings,
    findSystem: (name: string) => findSystem(systems, name),
  };
}

/** The configuration as a process holds it: read on first use, then kept. */
export type UucpConfigSource = () => Promise<UucpConfig>;

/**
 * Reads `dir` once, when first asked, and hands every later caller the same
 * result. A read that fails (a file refused by the trust check, a syntax
 * error) is not kept: the next caller reads again, so fixing the file needs
 * no restart.
 */
export function uucpConfigOnce(dir: string): UucpConfigSource {
  let loading: Promise<UucpConfig> | undefined;
  return () => {
    loading ??= loadUucpConfig(dir).catch((err: unknown) => {
      loading = undefined;
      throw err;
    });
    return loading;
  };
}
