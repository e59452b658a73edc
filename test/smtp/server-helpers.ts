// A test site with our SMTP server started in-process on a free loopback port.
import { readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { makeSite, flags, type Site, type SiteOptions } from '../helpers/site.js';
import { loadGateway, type Gateway } from '../../src/runtime/gateway.js';
import { startSmtpServer, type RunningSmtpServer, type SmtpServerOptions } from '../../src/smtp/server.js';

export interface ServedSite {
  site: Site;
  gw: Gateway;
  srv: RunningSmtpServer;
  port: number;
  close(): Promise<void>;
}

/** The greeting comes at once (smtp_greeting_delay=0) unless `conf` says otherwise: these clients wait for it. */
export async function serve(opts: SiteOptions & { sys?: string; server?: SmtpServerOptions } = {}): Promise<ServedSite> {
  const site = makeSite({ ...opts, conf: { smtp_greeting_delay: '0', ...opts.conf } });
  if (opts.sys) writeFileSync(path.join(site.uucp, 'sys'), opts.sys);
  const gw = await loadGateway(flags(site));
  const srv = await startSmtpServer(gw, { listen: [{ host: '127.0.0.1', port: 0 }], ...opts.server });
  return { site, gw, srv, port: srv.addresses[0].port, close: () => srv.close() };
}

/** Files anywhere in the spool's tmp/, incoming/ and queue/ (what has been queued). */
export function queuedFiles(site: Site): string[] {
  return ['tmp', 'incoming', 'queue'].flatMap((d) => {
    try {
      return readdirSync(path.join(site.spool, d)).map((n) => `${d}/${n}`);
    } catch {
      return [];
    }
  });
}

export interface SwaksResult {
  code: number;
  out: string;
}

/** Runs swaks against 127.0.0.1:port (asynchronously: the server runs in this process). */
export function swaks(port: number, args: string[], input?: string | Buffer): Promise<SwaksResult> {
  return new Promise((resolve) => {
    const child = execFile('swaks', ['--server', '127.0.0.1', '--port', String(port), '--timeout', '20', ...args], { encoding: 'latin1', maxBuffer: 1 << 26 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
    if (input !== undefined) child.stdin!.end(input);
    else child.stdin!.end();
  });
}

/**
 * A raw SMTP client: waits for the greeting, then sends `input` (as given, in
 * one write or in `chunks`) and collects everything until the server closes or
 * `until` matches the transcript. `stepwise`: each piece waits for a reply to
 * the one before (the output ending in a last reply line).
 */
export function rawSession(port: number, input: Array<string | Buffer>, opts: { until?: RegExp; timeoutMs?: number; closeAfter?: boolean; host?: string; stepwise?: boolean } = {}): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress: opts.host });
    let out = '';
    let sent = false;
    let step = 0;
    const finish = (): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(out);
    };
    const timer = setTimeout(finish, opts.timeoutMs ?? 5000);
    sock.on('data', (d) => {
      out += d.toString('latin1');
      if (opts.stepwise) {
        if (step < input.length && /(?:^|\n)\d{3} [^\r\n]*\r\n$/.test(out)) sock.write(input[step++]);
      } else if (!sent && /^220 /m.test(out)) {
        sent = true;
        for (const piece of input) sock.write(piece);
        if (opts.closeAfter) setTimeout(finish, 300);
      }
      if (opts.until?.test(out)) finish();
    });
    sock.on('error', () => undefined);
    sock.on('close', finish);
  });
}

/** Reply lines (code + text) of a transcript. */
export const replies = (transcript: string): string[] => transcript.split('\r\n').filter(Boolean);
