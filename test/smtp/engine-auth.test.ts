// STARTTLS and AUTH in the SMTP engine, without sockets: what is offered when,
// the SASL steps of PLAIN and LOGIN, the reset after STARTTLS, and input sent in
// clear behind STARTTLS never being read as commands.
import test from 'ava';
import { SmtpSession, type SessionOptions, type Transaction, type Verdict } from '../../src/smtp/engine.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** A network session with STARTTLS and AUTH hooks; `tls()` completes a pending handshake. */
function session(opts: Partial<SessionOptions> = {}) {
  let out = '';
  let upgrading = false;
  const checked: Array<[string, string]> = [];
  const messages: Transaction[] = [];
  const s = new SmtpSession(
    { hostname: 'gw', client: '[192.0.2.1]', sizeLimit: 1000, maxRecipients: 10, starttls: true, auth: 'tls', ...opts },
    {
      send: (text) => (out += text),
      rcpt: () => undefined,
      message: async (tx): Promise<Verdict> => {
        messages.push(tx);
        return { code: 250, status: '2.0.0', text: 'ok' };
      },
      hold: () => undefined,
      starttls: () => (upgrading = true),
      authenticate: async (user, password) => {
        checked.push([user, password]);
        return password === 'right' ? { code: 235, status: '2.7.0', text: 'ok', user: user.toLowerCase() } : { code: 535, status: '5.7.8', text: 'no' };
      },
      sender: (addr, user) => (user && !addr.startsWith(user) ? { code: 553, status: '5.7.1', text: 'not yours' } : undefined),
    },
  );
  const settle = () => new Promise((resolve) => setTimeout(resolve, 10));
  return {
    s,
    checked,
    messages,
    async say(text: string): Promise<string> {
      out = '';
      s.receive(Buffer.from(text));
      await settle();
      return out;
    },
    async tls(): Promise<void> {
      if (!upgrading) throw new Error('no handshake pending');
      upgrading = false;
      s.secured();
      await settle();
    },
  };
}

test('STARTTLS: offered before, not after; pipelined clear-text input is dropped; the session restarts (EHLO again)', async (t) => {
  const c = session();
  t.regex(await c.say('EHLO c\r\n'), /250-STARTTLS\r\n/);
  t.notRegex(await c.say('EHLO c\r\n'), /AUTH/);
  t.is(await c.say('STARTTLS\r\nMAIL FROM:<x@y>\r\n'), '220 2.0.0 Ready to start TLS\r\n');
  await c.tls();
  t.regex(await c.say('MAIL FROM:<x@y>\r\n'), /^503 5\.5\.1 send HELO\/EHLO first/);
  const ehlo = await c.say('EHLO c\r\n');
  t.notRegex(ehlo, /STARTTLS/);
  t.regex(ehlo, /250-AUTH PLAIN LOGIN\r\n/);
  t.regex(await c.say('STARTTLS\r\n'), /^502 5\.5\.1 TLS already active/);
});

test('AUTH PLAIN with an initial response, and after an empty 334; a wrong password 535; "*" cancels', async (t) => {
  const c = session({ auth: 'always' });
  await c.say('EHLO c\r\n');
  t.is(await c.say(`AUTH PLAIN ${b64('\0alice\0wrong')}\r\n`), '535 5.7.8 no\r\n');
  t.is(await c.say('AUTH PLAIN\r\n'), '334 \r\n');
  t.is(await c.say('*\r\n'), '501 5.7.0 authentication cancelled\r\n');
  t.is(await c.say('AUTH PLAIN\r\n'), '334 \r\n');
  t.is(await c.say(`${b64('Alice\0Alice\0right')}\r\n`), '235 2.7.0 ok\r\n');
  t.deepEqual(c.checked, [['alice', 'wrong'], ['Alice', 'right']]);
  t.regex(await c.say('AUTH PLAIN\r\n'), /^503 5\.5\.1 already authenticated/);
  // The name as the password source gave it decides the sender check and the transaction.
  t.regex(await c.say('MAIL FROM:<bob@y>\r\n'), /^553 5\.7\.1 /);
  await c.say('MAIL FROM:<alice@y>\r\nRCPT TO:<z@w>\r\nDATA\r\nhi\r\n.\r\n');
  t.like(c.messages[0], { user: 'alice', protocol: 'ESMTPA' });
});

test('AUTH LOGIN: Username: and Password: challenges; bad base64 and unknown mechanisms refused', async (t) => {
  const c = session();
  await c.say('EHLO c\r\nSTARTTLS\r\n');
  await c.tls();
  await c.say('EHLO c\r\n');
  t.is(await c.say('AUTH CRAM-MD5\r\n'), '504 5.5.4 mechanism CRAM-MD5 not supported; use PLAIN or LOGIN\r\n');
  t.is(await c.say('AUTH LOGIN\r\n'), '334 VXNlcm5hbWU6\r\n');
  t.is(await c.say('not base64!\r\n'), '501 5.5.2 cannot decode the response (base64)\r\n');
  t.is(await c.say(`AUTH LOGIN ${b64('alice')}\r\n`), '334 UGFzc3dvcmQ6\r\n');
  t.is(await c.say(`${b64('right')}\r\n`), '235 2.7.0 ok\r\n');
  await c.say('MAIL FROM:<alice@y>\r\nRCPT TO:<z@w>\r\nDATA\r\nhi\r\n.\r\n');
  t.like(c.messages[0], { user: 'alice', protocol: 'ESMTPSA' });
});

test('auth "tls": AUTH before STARTTLS is 530; authRequired: MAIL before AUTH is 530', async (t) => {
  const c = session({ authRequired: true });
  await c.say('EHLO c\r\n');
  t.is(await c.say(`AUTH PLAIN ${b64('\0a\0right')}\r\n`), '530 5.7.0 Must issue a STARTTLS command first\r\n');
  t.is(await c.say('MAIL FROM:<a@b>\r\n'), '530 5.7.0 Authentication required\r\n');
  t.deepEqual(c.checked, []);
});

test('without the options nothing changes: no STARTTLS or AUTH offered, both commands 502', async (t) => {
  const c = session({ starttls: false, auth: undefined });
  t.notRegex(await c.say('EHLO c\r\n'), /STARTTLS|AUTH/);
  t.is(await c.say('STARTTLS\r\nAUTH PLAIN\r\n'), '502 5.5.1 STARTTLS not available\r\n502 5.5.1 AUTH not available\r\n');
});
