// Directors: what a local address turns into. An address straight from the
// envelope is expanded through config/aliases, .forward files and config/lists
// (route/aliases/expand.ts does the recursion, loop checks and the security rules);
// what comes out of an expansion is delivered without being expanded again.
// Programs and files are honoured only from trusted sources (the aliases file).
import { statSync } from 'node:fs';
import path from 'node:path';
import type { MailConfig } from '../config/mail-config.js';
import { expandAddress, type Delivery, type ExpansionResult } from './aliases/expand.js';
import { splitCommand, type AliasTable } from './aliases/parse.js';
import { directUser } from './users-director.js';
import { GatewayError } from '../util/errors.js';
import { readTrustedFile } from '../util/trusted-file.js';
import { failRoute, type ChildRecipient, type Provenance, type RouteDecision } from './types.js';

export interface DirectorContext {
  cfg: MailConfig;
  aliases: AliasTable;
}

export async function expandLocal(ctx: DirectorContext, address: string): Promise<ExpansionResult> {
  return expandAddress(address, {
    aliases: ctx.aliases,
    readFile: (p, kind) => readAddressFile(ctx.cfg, p, kind),
    forwardPath: (user) => forwardPath(ctx.cfg, user),
    listPath: (name) => (safeName(name) ? path.join(ctx.cfg.configDir, 'lists', name.toLowerCase()) : null),
  });
}

/**
 * Include, list and forward files, trusted like all configuration; a user's
 * .forward (outside config/forward) may also belong to the owner of its
 * directory, the user's maildir. ENOENT keeps its code for the caller.
 */
async function readAddressFile(cfg: MailConfig, file: string, kind: 'include' | 'forward' | 'list'): Promise<string> {
  const userFile = kind === 'forward' && path.dirname(file) !== path.join(cfg.configDir, 'forward');
  const text = await readTrustedFile(file, { userFile });
  if (text === undefined) throw Object.assign(new Error(`${file}: no such file`), { code: 'ENOENT' });
  return text;
}

/**
 * A name's forward file: config/forward/NAME, else `.forward` inside the user's
 * maildir, else (for USER-EXT, qmail style) the nearest USER-…-default rule.
 */
function forwardPath(cfg: MailConfig, name: string): string | null {
  if (!safeName(name)) return null;
  const lname = name.toLowerCase();
  const own = path.join(cfg.configDir, 'forward', lname);
  if (isFile(own)) return own;
  const u = cfg.users.get(lname);
  if (u) return u.kind === 'maildir' ? path.join(u.destination, '.forward') : null;
  return extensionRule(cfg, lname);
}

/** Names that may become a file name under config/: word characters, `.` and `-`, never leading `.`. */
const safeName = (name: string): boolean => /^[\w-][\w.-]*$/.test(name);

const isFile = (p: string): boolean => !!statSync(p, { throwIfNoEntry: false })?.isFile();

/**
 * qmail-style extension addresses: USER-A-B (USER in config/users, `-` being
 * `extension_delimiter`) is handled by config/forward/USER-A-default, else
 * USER-default, as qmail tries .qmail-a-default then .qmail-default. Without
 * such a rule the address stays unknown: the feature costs nothing until a user
 * writes one.
 */
function extensionRule(cfg: MailConfig, lname: string): string | null {
  const d = cfg.extension_delimiter;
  const at = d ? lname.indexOf(d) : -1;
  if (at <= 0 || !cfg.users.has(lname.slice(0, at))) return null;
  const parts = lname.split(d);
  for (let keep = parts.length - 1; keep >= 1; keep--) {
    const rule = path.join(cfg.configDir, 'forward', [...parts.slice(0, keep), 'default'].join(d));
    if (isFile(rule)) return rule;
  }
  return null;
}

/** Routes a local part: expansion for envelope addresses, then users, programs, files. */
export async function direct(ctx: DirectorContext, localPart: string, provenance: Provenance): Promise<RouteDecision> {
  if (provenance !== 'envelope') return directExpanded(ctx.cfg, localPart, provenance);
  let r: ExpansionResult;
  try {
    r = await expandLocal(ctx, localPart);
  } catch (err) {
    // An unsafe include, list or .forward: deliver nothing through it; the message waits.
    if (err instanceof GatewayError && err.temporary) return failRoute('aliases', err.status, err.message, [], true);
    throw err;
  }
  const self = r.deliveries.length === 1 && r.errors.length === 0 && r.tree.children.length === 0;
  if (self) return directUser(ctx.cfg, localPart);
  if (r.tree.kind === 'error') return failRoute('aliases', '5.1.3', r.tree.error ?? `cannot expand ${localPart}`);
  const children: ChildRecipient[] = [
    ...r.deliveries.map(childOf),
    ...r.errors.map((e) => ({ addr: e.label, provenance: 'aliases' as const, errorsTo: e.errorsTo ?? undefined, error: e.error })),
  ];
  const source = r.tree.children[0]?.provenance;
  const where = source?.file ? ` (${source.file}${source.line ? `:${source.line}` : ''})` : '';
  return { kind: 'expand', children, router: r.tree.kind === 'address' ? 'aliases' : r.tree.kind, why: [`${r.tree.kind} ${localPart}${where}`] };
}

function childOf(d: Delivery): ChildRecipient {
  const provenance: Provenance = d.provenance.kind === 'input' ? 'aliases' : d.provenance.kind;
  const addr = d.kind === 'program' ? `|${d.value}` : d.value;
  return { addr, provenance, errorsTo: d.errorsTo ?? undefined };
}

/** Addresses produced by an expansion: programs and files from trusted sources, else users. */
function directExpanded(cfg: MailConfig, addr: string, provenance: Provenance): RouteDecision {
  const trusted = provenance === 'aliases';
  if (addr.startsWith('|')) {
    if (!trusted) return failRoute('aliases', '5.7.1', `program delivery "${addr}" is not allowed from ${provenance}`);
    const argv = splitCommand(addr.slice(1), `program ${addr}`);
    return { kind: 'deliver', route: { transport: 'pipe', address: addr, argv, router: 'aliases', why: [`program ${argv.join(' ')}`] } };
  }
  if (addr.startsWith('/')) {
    if (!trusted) return failRoute('aliases', '5.7.1', `file delivery "${addr}" is not allowed from ${provenance}`);
    return { kind: 'deliver', route: { transport: 'file', address: addr, destination: addr, router: 'aliases', why: [`file ${addr}`] } };
  }
  return directUser(cfg, addr.replace(/^\\/, ''));
}
