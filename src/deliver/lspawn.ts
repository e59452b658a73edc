// Deliveries into system accounts' mailboxes (local_delivery=~/Maildir/ or
// /var/mail/%s), written as the account through the lspawn helper: started by
// root before a command gives root up (startLspawn), then asked per delivery
// over its IPC channel. Without a helper (the command was not started by root)
// such a delivery waits in the queue.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PACKAGE_ROOT } from '../config/locations.js';
import { localTransport, programEnv, ProgramError, runProgram } from './local.js';
import type { LspawnReply, LspawnRequest } from './lspawn-protocol.js';

let helper: ChildProcess | undefined;
let nextId = 0;
const pending = new Map<number, (r: LspawnReply) => void>();

/** Forks the helper; call as root, before dropping privileges. */
export function startLspawn(): void {
  if (helper) return;
  // The plain build's file: the bundle holds this module but not the helper.
  const h = fork(path.join(PACKAGE_ROOT, 'dist/src/deliver/lspawn-helper.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  h.on('message', (r: LspawnReply) => {
    pending.get(r.id)?.(r);
    pending.delete(r.id);
    if (!pending.size) h.channel?.unref();
  });
  h.on('exit', () => {
    helper = undefined;
    for (const [id, done] of pending) done({ id, ok: false, temporary: true, text: 'the lspawn helper exited' });
    pending.clear();
  });
  h.channel?.unref(); // an idle helper keeps no command alive
  h.unref();
  helper = h;
}

function ask(req: Omit<LspawnRequest, 'id'>): Promise<LspawnReply> {
  const h = helper;
  if (!h) return Promise.resolve({ id: -1, ok: false, temporary: true, text: 'delivery as a system account needs the lspawn helper: the daemon or runq started by root' });
  const id = ++nextId;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    h.channel?.ref();
    h.send({ ...req, id });
  });
}

/** `local_delivery` names system accounts' mailboxes: in their home (~/) or an absolute path outside the spool. */
export const isAccountMailbox = (dest: string, spoolDir: string): boolean =>
  dest.startsWith('~/') || (path.isAbsolute(dest) && path.relative(spoolDir, dest).startsWith('..'));

/** Where this gateway's configuration and spool are: an account's .forward sends on through them. */
export type GatewayPlaces = { configDir: string; uucpDir: string; spoolDir: string };
const placesEnv = (p: GatewayPlaces): Record<string, string> => ({ UUGATE_CONFIG: p.configDir, UUGATE_UUCP: p.uucpDir, UUGATE_SPOOL: p.spoolDir });

export const createAccountTransport = (places: GatewayPlaces) =>
  localTransport('account', async (job, r, parts) => {
    const dest = r.route.destination!;
    const kind = dest.endsWith('/') ? 'maildir' : 'mbox';
    const reply = await ask({ account: r.route.account!, kind, path: dest, env: { ...programEnv(job, r), ...placesEnv(places) }, data: Buffer.concat(parts) });
    if (!reply.ok) throw new ProgramError(reply.text, reply.temporary);
    return reply.text;
  });

/**
 * Programs named in config/aliases: run as alias_user through the helper when
 * there is one (a command root started); otherwise as whoever runs the queue.
 */
export const aliasPipeTransport = (aliasUser: string, places: GatewayPlaces) =>
  localTransport('pipe', async (job, r, parts) => {
    if (!helper) return runProgram(r.route.argv!, programEnv(job, r), parts);
    const reply = await ask({ account: aliasUser, kind: 'program', argv: r.route.argv!, env: { ...programEnv(job, r), ...placesEnv(places) }, data: Buffer.concat(parts) });
    if (!reply.ok) throw new ProgramError(reply.text, reply.temporary);
    return `${reply.text} as ${aliasUser}`;
  });
