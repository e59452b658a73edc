// Between the daemon (the gateway user) and the lspawn helper (root), over the
// helper's IPC channel (docs/privileges.md "System accounts"). A request names
// an account, the kind of mailbox and its path (or a program), the sender and
// recipient as opaque strings, and carries the message with its Return-Path
// and Delivered-To: the helper only starts a child as the account and hands
// them over; it reads no mail.

export interface LspawnRequest {
  id: number;
  account: string;
  kind: 'maildir' | 'mbox' | 'program';
  /** maildir, mbox: absolute, or `~/...` inside the account's home directory. */
  path?: string;
  /** program: what to run (no shell). */
  argv?: string[];
  /** SENDER and RECIPIENT, for a program or the account's own .forward. */
  env: Record<string, string>;
  data: Buffer;
}

export interface LspawnReply {
  id: number;
  ok: boolean;
  temporary: boolean;
  text: string;
}

const strings = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** The request's fields have the right types (the helper trusts nothing else about it). */
export function isLspawnRequest(m: unknown): m is LspawnRequest {
  const r = m as LspawnRequest;
  if (typeof r !== 'object' || r === null || !Number.isInteger(r.id) || !((r.data as unknown) instanceof Uint8Array)) return false;
  if (typeof r.account !== 'string' || !/^[a-z_][a-z0-9_.-]*\$?$/i.test(r.account)) return false;
  if (typeof r.env !== 'object' || r.env === null || !strings(Object.values(r.env))) return false;
  if (r.kind === 'program') return strings(r.argv) && r.argv!.length > 0;
  return (r.kind === 'maildir' || r.kind === 'mbox') && typeof r.path === 'string' && (r.path.startsWith('/') || r.path.startsWith('~/')) && !r.path.split('/').includes('..');
}
