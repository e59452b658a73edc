// A client of Dovecot's authentication socket (auth_dovecot), so that SMTP AUTH
// takes the same passwords as IMAP; the protocol is summed up in
// docs/submission.md "Dovecot's auth protocol". One connection per check: a
// handshake (VERSION, CPID; the server's VERSION, MECH... DONE), then one AUTH
// request with the PLAIN response in it, answered by OK or FAIL.
import net from 'node:net';

import type { Authenticator, AuthResult } from './auth.js';

const TIMEOUT_MS = 15_000;

/** Dovecot's tab-escaping of a parameter value (\001 then a letter). */
const escape = (s: string): string => s.replace(/[\x01\t\r\n\0]/g, (c) => `\x01${{ '\x01': '1', '\t': 't', '\r': 'r', '\n': 'n', '\0': '0' }[c]}`);

/** `key=value` and flag parameters of a reply line, after the command and its id. */
function params(fields: string[]): Map<string, string> {
  return new Map(fields.map((f) => (f.includes('=') ? [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)] : [f, ''])));
}

export function dovecotAuthenticator(socketPath: string): Authenticator {
  return {
    check: (user, password, client) =>
      new Promise<AuthResult>((resolve) => {
        const sock = net.connect(socketPath);
        let buf = '';
        let handshake = true;
        let done = false;
        const finish = (r: AuthResult): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          sock.destroy();
          resolve(r);
        };
        const timer = setTimeout(() => finish({ result: 'temp', why: `no answer from ${socketPath} within ${TIMEOUT_MS / 1000} s` }), TIMEOUT_MS);
        sock.on('error', (err) => finish({ result: 'temp', why: `${socketPath}: ${err.message}` }));
        sock.on('close', () => finish({ result: 'temp', why: `${socketPath} closed the connection` }));
        sock.on('connect', () => sock.write(`VERSION\t1\t2\nCPID\t${process.pid}\n`));
        let plainOffered = false;
        sock.on('data', (chunk: Buffer) => {
          buf += chunk.toString('utf8');
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            const [cmd, ...rest] = buf.slice(0, nl).split('\t');
            buf = buf.slice(nl + 1);
            if (handshake) {
              if (cmd === 'VERSION' && rest[0] !== '1') return finish({ result: 'temp', why: `${socketPath} speaks auth protocol version ${rest.join('.')}, not 1.x` });
              if (cmd === 'MECH' && rest[0] === 'PLAIN') plainOffered = true;
              if (cmd !== 'DONE') continue;
              if (!plainOffered) return finish({ result: 'temp', why: `${socketPath} does not offer PLAIN (auth_mechanisms)` });
              handshake = false;
              const resp = Buffer.from(`\0${user}\0${password}`, 'utf8').toString('base64');
              const flags = client.secured ? '\tsecured' : '';
              sock.write(`AUTH\t1\tPLAIN\tservice=smtp${flags}\trip=${escape(client.ip)}\tresp=${resp}\n`);
              continue;
            }
            if (rest[0] !== '1') continue;
            const p = params(rest.slice(1));
            if (cmd === 'OK') return finish({ result: 'ok', user: p.get('user') || user });
            if (cmd === 'FAIL') return finish(p.has('temp') ? { result: 'temp', why: p.get('reason') ?? 'temporary failure' } : { result: 'fail', why: p.get('reason') });
            return finish({ result: 'temp', why: `${socketPath}: unexpected ${cmd} reply` });
          }
        });
      }),
  };
}
