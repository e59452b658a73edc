// config/tls_policy: parsing (errors name file:line), and which line a destination takes.
import test from 'ava';
import { parseTlsPolicy, policyFor } from '../../src/deliver/tls-policy.js';

test('a host takes its own line, else the nearest .domain line, else may; ca= is resolved in config/', (t) => {
  const table = parseTlsPolicy('# comment\nrelay.example.net verify\n.lan  encrypt\nhub.lan verify ca=lan-ca.pem\n', '/c/tls_policy', '/c');
  t.deepEqual(policyFor(table, 'RELAY.example.net.'), { level: 'verify' });
  t.deepEqual(policyFor(table, 'mail.lan'), { level: 'encrypt' });
  t.deepEqual(policyFor(table, 'a.b.lan'), { level: 'encrypt' });
  t.deepEqual(policyFor(table, 'hub.lan'), { level: 'verify', caFile: '/c/lan-ca.pem' });
  t.deepEqual(policyFor(table, 'lan'), { level: 'may' });
  t.deepEqual(policyFor(table, 'other.example'), { level: 'may' });
});

test('an unknown level or option is an error naming file:line', (t) => {
  t.throws(() => parseTlsPolicy('a may\nb secure\n', '/c/tls_policy', '/c'), { message: /\/c\/tls_policy:2: expected "destination may\|encrypt\|verify \[ca=FILE\]"/ });
  t.throws(() => parseTlsPolicy('a encrypt ca=x.pem\n', '/c/tls_policy', '/c'), { message: /tls_policy:1: unknown option "ca=x\.pem" \(only ca=FILE, with verify\)/ });
});
