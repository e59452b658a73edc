import test from 'ava';
import {
  parseHeaderAddresses,
  rewriteHeaders,
  scanAddressList,
  splitHeaderFields,
} from '../../src/address/headers.js';
import type { SiteNames } from '../../src/address/rewrite.js';

const site: SiteNames = {
  hostnames: ['gw', 'gw.example.org'],
  uucpName: 'gw',
  visibleName: 'gw.example.org',
  uucpDomain: 'uucp',
  qualify: (h) => (h.toLowerCase() === 'ernie' ? `${h}.sesame.org` : null),
};

const block = [
  'From ernie!joe Mon Jan  1 00:00:00 2024 remote from ernie',
  'Received: from ernie by gw; Mon, 1 Jan 2024 00:00:00 +0000',
  'From: Joe Bloggs <joe>',
  'Sender: ernie!bert!joe (Joe via bert)',
  'To: "Smith, J" <js@ernie>,',
  '\tbert!kim,',
  ' "Quoted !@" <q@gw>',
  'Cc: undisclosed-recipients:;',
  'Reply-To: list: a@b.com, c@oscar;',
  'X-Other: joe, bert!kim',
  'Subject: from bert!kim to joe',
  '',
  'To: body@is.not.touched',
  'From: joe',
  '',
].join('\r\n');

test('domain style rewrites only address specs of address fields', (t) => {
  const out = rewriteHeaders(block, { site });
  const want = [
    'From ernie!joe Mon Jan  1 00:00:00 2024 remote from ernie',
    'Received: from ernie by gw; Mon, 1 Jan 2024 00:00:00 +0000',
    'From: Joe Bloggs <joe@gw.example.org>',
    'Sender: ernie!bert!joe@gw.example.org (Joe via bert)',
    'To: "Smith, J" <js@ernie.sesame.org>,',
    '\tbert!kim@gw.example.org,',
    ' "Quoted !@" <q@gw.example.org>',
    'Cc: undisclosed-recipients:;',
    'Reply-To: list: a@b.com, c@oscar.uucp;',
    'X-Other: joe, bert!kim',
    'Subject: from bert!kim to joe',
    '',
    'To: body@is.not.touched',
    'From: joe',
    '',
  ].join('\r\n');
  t.is(out, want);
});

test('bang style makes addresses relative to our uucp name', (t) => {
  const out = rewriteHeaders('From: joe@gw (Joe)\nTo: kim@foo.bar.com, bert!kim\n\nbody\n', { site, style: 'bang' });
  t.is(out, 'From: gw!joe (Joe)\nTo: gw!foo.bar.com!kim, gw!bert!kim\n\nbody\n');
});

test('unparseable addresses and other fields are left byte for byte', (t) => {
  const b = 'To: a b c <x y>, !bad, ok\nSUBJECT: x\n\n';
  t.is(rewriteHeaders(b, { site }), 'To: a b c <x y>, !bad, ok@gw.example.org\nSUBJECT: x\n\n');
  const none = 'Subject: hi\n\nTo: joe\n';
  t.is(rewriteHeaders(none, { site }), none);
});

test('field list and custom mapping are honoured; header names ignore case', (t) => {
  const b = 'to: joe\nCC: kim\nX-Env: sam\n\n';
  t.is(rewriteHeaders(b, { site, fields: ['x-env'] }), 'to: joe\nCC: kim\nX-Env: sam@gw.example.org\n\n');
  t.is(
    rewriteHeaders(b, { site, map: (a, f) => `${f}=${a}` }),
    'to: to=joe\nCC: cc=kim\nX-Env: sam\n\n',
  );
});

test('splitHeaderFields joins folded lines and stops at the empty line', (t) => {
  const b = 'A: 1\n  2\nB: 3\r\n\r\nC: 4\n';
  const { fields, bodyStart } = splitHeaderFields(b);
  t.deepEqual(
    fields.map((f) => [f.name, b.slice(f.valueStart, f.valueEnd)]),
    [
      ['A', ' 1\n  2'],
      ['B', ' 3'],
    ],
  );
  t.is(b.slice(bodyStart), '\r\nC: 4\n');
});

test('parseHeaderAddresses: RFC 5322 lists, groups, routes and bare bang paths', (t) => {
  t.deepEqual(parseHeaderAddresses('"Smith, J" <js@x.org>, Kim (K) <@a,@b:kim@c>, grp: a@b, c@d;'), [
    { address: 'js@x.org', display: 'Smith, J', group: null },
    { address: '@a,@b:kim@c', display: 'Kim', group: null },
    { address: 'a@b', display: null, group: 'grp' },
    { address: 'c@d', display: null, group: 'grp' },
  ]);
  t.deepEqual(parseHeaderAddresses('a!b!user (Full Name), Joe <ernie!joe>'), [
    { address: 'a!b!user', display: null, group: null },
    { address: 'ernie!joe', display: 'Joe', group: null },
  ]);
  t.deepEqual(scanAddressList(' , ,'), []);
});
