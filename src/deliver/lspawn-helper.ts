// The lspawn helper (after qmail-lspawn): the only part of uugate that keeps
// root once the daemon has dropped it, with one job: start a delivery into a
// mailbox as the account that owns it (runtime/lspawn-deliver.ts, which also
// obeys the account's .forward). It trusts the daemon (its parent, over
// the IPC channel) to name the account, mailbox kind and path; it checks that
// the account exists and is not root, and runs the delivery child
// or the alias program, with that account's uid and gid
// (a home it does not own alone gets nothing, as with qmail-getpw),
// so the child can do only what the account itself may. It never parses a
// message or an address.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../config/locations.js';
import { lookupAccount } from '../util/accounts.js';
import { isLspawnRequest, type LspawnReply, type LspawnRequest } from './lspawn-protocol.js';
import { ProgramError, runProgram } from './local.js';

// A separate entry point (above this layer: it reads the account's .forward), run by file name.
const DELIVER = path.join(PACKAGE_ROOT, 'dist/src/runtime/lspawn-deliver.js');

/** Only these reach a child: the message's sender and recipient, and where the gateway is (for its sendmail). */
const PASSED = ['SENDER', 'RECIPIENT', 'UUGATE_CONFIG', 'UUGATE_UUCP', 'UUGATE_SPOOL'];
const childEnv = (req: LspawnRequest): Record<string, string> => ({ PATH: '/usr/bin:/bin', ...Object.fromEntries(PASSED.filter((k) => k in req.env).map((k) => [k, req.env[k]])) });

async function handle(req: LspawnRequest): Promise<LspawnReply> {
  const fail = (text: string, temporary: boolean): LspawnReply => ({ id: req.id, ok: false, temporary, text });
  const a = await lookupAccount(req.account);
  if (!a) return fail(`no Unix account "${req.account}"`, false);
  if (a.uid === 0) return fail(`will not deliver as root ("${req.account}")`, false);
  if (req.kind === 'program')
    return runProgram(req.argv!, childEnv(req), [req.data], { uid: a.uid, gid: a.gid }).then(
      (text): LspawnReply => ({ id: req.id, ok: true, temporary: false, text }),
      (err: unknown) => fail((err as Error).message, err instanceof ProgramError && err.temporary),
    );
  const path_ = req.path!;
  // As qmail-getpw: a home the account does not own, or that others may write, is no place for its mail.
  if (path_.startsWith('~/')) {
    const home = statSync(a.home, { throwIfNoEntry: false });
    if (!home?.isDirectory()) return fail(`${a.name}'s home ${a.home} is not a directory`, true);
    if (home.uid !== a.uid || home.mode & 0o022) return fail(`${a.name}'s home ${a.home} is not ${a.name}'s alone (owner uid ${home.uid}, mode ${(home.mode & 0o777).toString(8)})`, false);
  }
  const file = path_.startsWith('~/') ? path.join(a.home, path_.slice(2)) + (path_.endsWith('/') ? '/' : '') : path_;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [DELIVER, req.kind, file], { uid: a.uid, gid: mailGroup(req.kind, file) ?? a.gid, cwd: '/', env: childEnv(req), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.stdin.on('error', () => undefined);
    child.on('error', (err) => resolve(fail(`cannot start a delivery as ${a.name}: ${err.message}`, true)));
    child.on('close', (code, signal) => {
      const text = out.trim() || `delivery as ${a.name} ${signal ? `killed by ${signal}` : `exited ${code}`}`;
      resolve(code === 0 ? { id: req.id, ok: true, temporary: false, text } : fail(text, code !== 77));
    });
    child.stdin.end(req.data);
  });
}

/**
 * An mbox in a root-owned directory its group may write (Debian's /var/mail,
 * root:mail 2775) is written with that group, as Debian's delivery agents
 * (setgid mail) do: the account alone may not create a file or a lock there.
 */
function mailGroup(kind: string, file: string): number | undefined {
  if (kind !== 'mbox') return undefined;
  const st = statSync(path.dirname(file), { throwIfNoEntry: false });
  return st?.isDirectory() && st.uid === 0 && st.gid !== 0 && st.mode & 0o020 ? st.gid : undefined;
}

process.on('message', (m: unknown) => {
  if (!isLspawnRequest(m)) return void process.send!({ id: (m as { id?: number })?.id ?? -1, ok: false, temporary: false, text: 'malformed lspawn request' });
  void handle({ ...m, data: Buffer.from(m.data) }).then((reply) => process.send!(reply));
});
// The daemon gone, there is nobody to serve.
process.on('disconnect', () => process.exit(0));
