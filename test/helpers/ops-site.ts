// A gateway site for the operator's view tests: a daemon with the status
// listener, SMTP and a UUCP TCP listener, and a Taylor UUCP site "hub" that
// calls it; helpers to send one message each way in, and to read the metrics.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, makeSite, runProgram, UUGATE, type Site } from './site.js';
import { giveToUucp, runTaylor, spawnTaylor, taylorLog, taylorSite, tempRoot, UUCICO, UUX, type TaylorSite } from './taylor.js';

export interface OpsSite {
  site: Site;
  hub: TaylorSite;
  statusPort: number;
  smtpPort: number;
  /** Where Taylor's hub answers when we call it (taylorListens). */
  hubPort: number;
  base: string;
}

export async function opsSite(conf: Record<string, string | boolean> = {}): Promise<OpsSite> {
  const [statusPort, smtpPort, uucpPort, hubPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const site = makeSite({
    conf: {
      delivery_mode: 'background',
      status_listen: `127.0.0.1:${statusPort}`,
      smtp_listen: `127.0.0.1:${smtpPort}`,
      smtp_greeting_delay: '0',
      uucp_listen: `127.0.0.1:${uucpPort}`,
      ...conf,
    },
  });
  // hub calls us (Uhub); we call hub only when told (uucico -S), at Taylor listening on hubPort.
  writeFileSync(
    path.join(site.uucp, 'sys'),
    `system hub\ncalled-login Uhub\ncommands rmail\nprotocol g\ntime never\naddress 127.0.0.1\nport type tcp\nport service ${hubPort}\ncall-login Uleaf\ncall-password pwleaf\nchat ogin: \\L word: \\P\n`,
  );
  writeFileSync(path.join(site.uucp, 'passwd'), 'Uhub pwops\n');
  const root = await tempRoot('uuops-');
  const hub = await taylorSite(root, 'hub', {
    sys: `system leaf\ntime any\nport TCPLEAF\naddress 127.0.0.1\ncall-login Uhub\ncall-password pwops\nchat ogin: \\L word: \\P\nprotocol g\ncalled-login Uleaf\ncommands rmail\ncommand-path ${path.join(root, 'hub/bin')}\n`,
    port: `port TCPLEAF\ntype tcp\nservice ${uucpPort}\n`,
    passwd: 'Uleaf pwleaf\n',
  });
  giveToUucp(root);
  return { site, hub, statusPort, smtpPort, hubPort, base: `http://127.0.0.1:${statusPort}/` };
}

export interface RunningDaemon {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts `uugate daemon`; resolves once its start-up summary is out. */
export async function startOpsDaemon(site: Site): Promise<RunningDaemon> {
  const child = spawn(process.execPath, [UUGATE, 'daemon'], { env: site.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      out += d;
      if (/\n {2}status: .*\n/.test(out)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`daemon exited ${code}: ${out}`)));
  });
  return {
    child,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Taylor's uux queues `rmail alice` for leaf, and Taylor's uucico delivers it to the daemon. */
export async function sendThroughTaylor(o: OpsSite, subject: string): Promise<void> {
  const q = runTaylor(UUX, ['-I', o.hub.conf, '-r', '-', 'leaf!rmail', 'alice'], `From carol Sun Dec  6 10:00:00 2026 remote from hub\nSubject: ${subject}\n\nOver Taylor UUCP.\n`);
  if (q.status !== 0) throw new Error(`uux: ${q.stderr}`);
  const code = await spawnTaylor(UUCICO, ['-I', o.hub.conf, '-D', '-q', '-S', 'leaf']).done;
  if (code !== 0) throw new Error(`Taylor uucico exited ${code}: ${await taylorLog(o.hub)}`);
}

/** One message over SMTP (swaks) to `to`; resolves with swaks' exit code. */
export async function sendBySmtp(o: OpsSite, to: string, subject: string): Promise<number | null> {
  const r = await runProgram('/usr/bin/swaks', ['--server', `127.0.0.1:${o.smtpPort}`, '--from', 'dave@lan.example.org', '--to', to, '--header', `Subject: ${subject}`, '--body', 'Over SMTP.']);
  return r.code;
}

/** The value of one sample in the exposition text, or undefined. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m && m[1] === name && want.every((w) => (m[2] ?? '').split(',').includes(w))) return Number(m[3]);
  }
  return undefined;
}

export async function fetchText(url: string, init?: RequestInit): Promise<string> {
  const r = await fetch(url, init);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.text();
}

export async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
