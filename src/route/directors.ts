// Directors: what a local address turns into. An address straight from the
// envelope is expanded through config/aliases, .forward files and config/lists
// (route/aliases.ts does the recursion, loop checks and the security rules);
// what comes out of an expansion is delivered without being expanded again.
// Programs and files are honoured only from trusted sources (the aliases file).
import { promises as fsp, statSync } from 'node:fs';
import path from 'node:path';
import type { MailConfig } from '../config/mail-config.js';
import { expandAddress, splitCommand, type Delivery, type ExpansionResult, type AliasTable } from './aliases.js';
import { directUser } from './users-director.js';
import { failRoute, type ChildRecipient, type Provenance, type RouteDecision } from './types.js';

export interface DirectorContext {
  cfg: MailConfig;
  aliases: AliasTable;
}

export async function expandLocal(ctx: DirectorContext, address: string): Promise<ExpansionResult> {
  return expandAddress(address, {
    aliases: ctx.aliases,
    readFile: (p) => fsp.readFile(p, 'utf8'),
    stat: (p) => fsp.stat(p),
    forwardPath: (user) => forwardPath(ctx.cfg, user),
    listPath: (name) => (/^[\w.-]+$/.test(name) ? path.join(ctx.cfg.configDir, 'lists', name.toLowerCase()) : null),
  });
}

/** A user's .forward: config/forward/USER, else `.forward` inside the user's maildir. */
function forwardPath(cfg: MailConfig, user: string): string | null {
  if (!/^[\w.-]+$/.test(user)) return null;
  const own = path.join(cfg.configDir, 'forward', user.toLowerCase());
  const u = cfg.users.get(user.toLowerCase());
  const inMaildir = u?.kind === 'maildir' ? path.join(u.destination, '.forward') : null;
  return statSync(own, { throwIfNoEntry: false })?.isFile() ? own : inMaildir;
}

/** Routes a local part: expansion for envelope addresses, then users, programs, files. */
export async function direct(ctx: DirectorContext, localPart: string, provenance: Provenance): Promise<RouteDecision> {
  if (provenance !== 'envelope') return directExpanded(ctx.cfg, localPart, provenance);
  const r = await expandLocal(ctx, localPart);
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
