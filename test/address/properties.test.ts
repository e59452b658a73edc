// Property tests: parse -> format -> parse is stable, route lists survive the
// conversions, and nothing but AddressError ever escapes the address layer.
import test from 'ava';
import fc from 'fast-check';
import { AddressError } from '../../src/address/errors.js';
import {
  decompose,
  formatAddress,
  formatBang,
  formatSourceRoute,
  parseAddress,
  routeList,
} from '../../src/address/parse.js';
import { senderToSmtp, senderToUucp, toBangPath, toSmtpRecipient, type SiteNames } from '../../src/address/rewrite.js';
import { parseHeaderAddresses, rewriteHeaders, scanAddressList } from '../../src/address/headers.js';

const site: SiteNames = { hostnames: ['gw'], uucpName: 'gw', visibleName: 'gw.example.org', uucpDomain: 'uucp' };

const label = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,6}$/);
const host = fc.array(label, { minLength: 1, maxLength: 3 }).map((ls) => ls.join('.'));
const user = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._+=-]{0,8}$/),
  fc.stringMatching(/^"[a-z !@%,]{1,6}"$/),
);
const hosts = fc.array(host, { minLength: 1, maxLength: 5 });

const bangAddr = fc.tuple(hosts, user).map(([hs, u]) => ({ hs, u, a: formatBang(hs, u) }));
const routeAddr = fc.tuple(hosts, user).map(([hs, u]) => ({ hs, u, a: formatSourceRoute(hs, u) }));
const pctAddr = fc.tuple(host, host, user).map(([h1, h2, u]) => ({ hs: [h1, h2], u, a: `${u}%${h2}@${h1}` }));
const mixed = fc
  .array(fc.tuple(fc.constantFrom('!', '@', '%'), host), { minLength: 0, maxLength: 5 })
  .chain((ops) =>
    // '%' after an '@' would put a '%' in a domain, so it becomes '@' there.
    user.map((u) =>
      ops.reduce((acc, [op, h]) => {
        if (op === '!') return `${h}!${acc}`;
        const dom = acc.replace(/"[^"]*"/g, '').includes('@');
        return `${acc}${op === '%' && dom ? '@' : op}${h}`;
      }, u),
    ),
  );
const anyAddr = fc.oneof(
  bangAddr.map((x) => x.a),
  routeAddr.map((x) => x.a),
  pctAddr.map((x) => x.a),
  mixed,
);
const opts = fc.record({ bangFirst: fc.boolean(), percentOverBang: fc.boolean() });

const specials = fc.string({
  unit: fc.constantFrom(...'ab.!@%,:;<>"\\ ()[]\t\r\n\u0000\u00e9'.split('')),
  maxLength: 30,
});
const arbitrary = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), specials, anyAddr);

test('parse -> format -> parse is stable (every step, both option settings)', (t) => {
  fc.assert(
    fc.property(anyAddr, opts, (a, o) => {
      const steps = decompose(a, o);
      for (const p of steps) {
        const f = formatAddress(p);
        if (f !== p.input) return false;
        const again = parseAddress(f, o);
        if (JSON.stringify(again) !== JSON.stringify(p)) return false;
      }
      return steps[steps.length - 1]!.kind === 'local';
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('route lists of generated bang, source-route and % addresses', (t) => {
  fc.assert(
    fc.property(fc.oneof(bangAddr, routeAddr, pctAddr), ({ hs, u, a }) => {
      const r = routeList(a);
      return JSON.stringify(r.hosts) === JSON.stringify(hs) && r.user === u;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('toBangPath keeps the route list of @-forms and bang paths', (t) => {
  fc.assert(
    fc.property(fc.oneof(bangAddr, routeAddr), ({ hs, u, a }) => {
      const b = toBangPath(a);
      const r = routeList(b);
      return JSON.stringify(r.hosts) === JSON.stringify(hs) && r.user === u && !/%/.test(b.replace(/"[^"]*"/g, ''));
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

test('the parser and rewriters throw nothing but AddressError on arbitrary strings', (t) => {
  fc.assert(
    fc.property(arbitrary, opts, (s, o) => {
      for (const f of [
        () => parseAddress(s, o),
        () => routeList(s, o),
        () => toSmtpRecipient(s, site),
        () => senderToUucp(s, site),
        () => senderToSmtp(s, site),
        () => toBangPath(s, o),
      ]) {
        try {
          f();
        } catch (err) {
          if (!(err instanceof AddressError)) throw err;
        }
      }
      return true;
    }),
    { numRuns: 5000 },
  );
  t.pass();
});

test('header parsing and rewriting never throw and leave non-address text alone', (t) => {
  fc.assert(
    fc.property(arbitrary, arbitrary, (v, body) => {
      scanAddressList(v);
      parseHeaderAddresses(v);
      const clean = v.replace(/[\r\n]/g, ' ');
      const block = `Subject: ${clean}\nTo: ${clean}\n\n${body}`;
      const out = rewriteHeaders(block, { site });
      return out.startsWith(`Subject: ${clean}\nTo: `) && out.endsWith(`\n\n${body}`);
    }),
    { numRuns: 2000 },
  );
  t.pass();
});
