import test from 'ava';
import { GatewayError } from '../../src/util/errors.js';
import { trustProblem, unsafeFileError } from '../../src/util/trusted-file.js';
import { expandAddress, formatExpansionTree, type ExpandContext } from '../../src/route/aliases/expand.js';
import { parseAddressFile, parseAliases, splitCommand } from '../../src/route/aliases/parse.js';

const ALIASES = [
  '# system aliases',
  'Postmaster: root',
  'root: \\root, admin@example.org',
  'staff: alice, bob,',
  '   carol,   # trailing comment',
  '\tdave',
  'owner-staff: alice',
  'news: :include:/etc/mail/news.list',
  'bugs: "|/usr/bin/bugtrack --queue \\"mail in\\" \'a b\'"',
  'archive: /var/spool/archive',
  'loop1: loop2',
  'loop2: loop1',
  'self: self, other@example.org',
  'bad: :include:/etc/mail/bad.list',
  'worldw: :include:/etc/mail/world.list',
  'progs: :include:/etc/mail/progs.list',
  'nested: news, staff',
  'owner-nested: nestowner',
  'inc1: :include:/etc/mail/a.list',
  '',
].join('\n');

const FILES: Record<string, { text: string; mode: number }> = {
  '/etc/mail/news.list': { text: 'erin, frank@example.com\n# comment\ngrace\n', mode: 0o100644 },
  '/etc/mail/world.list': { text: 'mallory\n', mode: 0o100666 },
  '/etc/mail/progs.list': { text: '|/bin/evil, /etc/passwd, okuser\n', mode: 0o100644 },
  '/etc/mail/a.list': { text: ':include:/etc/mail/b.list\n', mode: 0o100644 },
  '/etc/mail/b.list': { text: ':include:/etc/mail/a.list, leaf\n', mode: 0o100644 },
  '/home/hank/.forward': { text: 'hank@elsewhere.org, \\hank\n', mode: 0o100644 },
  '/home/ivan/.forward': { text: 'ivan@x.org\n', mode: 0o100620 },
  '/lists/devs': { text: 'alice\nzed@example.net, hank\n', mode: 0o100644 },
};

function ctx(extra: Partial<ExpandContext> = {}): ExpandContext {
  return {
    aliases: parseAliases(ALIASES, '/etc/aliases'),
    async readFile(p, kind) {
      const f = FILES[p];
      if (!f) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      // The directors' reader, with these modes owned by root in a root-owned 0755 directory.
      const problem = trustProblem(p, { mode: f.mode, uid: 0 }, { mode: 0o40755, uid: 0 }, { userFile: kind === 'forward' });
      if (problem) throw unsafeFileError(p, problem);
      return f.text;
    },
    forwardPath: (u) => `/home/${u.toLowerCase()}/.forward`,
    listPath: (n) => `/lists/${n.toLowerCase()}`,
    ...extra,
  };
}

const values = (r: { deliveries: Array<{ kind: string; value: string }> }) => r.deliveries.map((d) => `${d.kind}:${d.value}`);

test('parse: names ignore case, continuation lines, comments, kinds of recipients', (t) => {
  const a = parseAliases(ALIASES, '/etc/aliases');
  t.deepEqual(
    a.get('staff')!.items.map((i) => [i.value, i.line]),
    [
      ['alice', 4],
      ['bob', 4],
      ['carol', 5],
      ['dave', 6],
    ],
  );
  t.is(a.get('postmaster')!.name, 'Postmaster');
  t.like(a.get('root')!.items[0], { kind: 'address', value: 'root', noAlias: true });
  t.like(a.get('news')!.items[0], { kind: 'include', value: '/etc/mail/news.list' });
  t.like(a.get('bugs')!.items[0], {
    kind: 'program',
    argv: ['/usr/bin/bugtrack', '--queue', 'mail in', 'a b'],
  });
  t.like(a.get('archive')!.items[0], { kind: 'file', value: '/var/spool/archive' });
});

test('parse errors carry file:line', (t) => {
  const e1 = t.throws(() => parseAliases('a: b\n  c\nnocolon here\n', '/x/aliases'), { instanceOf: GatewayError });
  t.is(e1!.where, '/x/aliases:3');
  const e2 = t.throws(() => parseAliases(' leading: continuation\n', 'f'), { instanceOf: GatewayError });
  t.is(e2!.where, 'f:1');
  const e3 = t.throws(() => parseAliases('a: b\nA: c\n', 'f'), { instanceOf: GatewayError });
  t.regex(e3!.message, /duplicate.*line 1/);
  t.is(t.throws(() => parseAliases('a: "unterminated\n', 'f'))!.constructor, GatewayError);
  t.is((t.throws(() => parseAliases('a: :include:relative\n', 'f')) as GatewayError).where, 'f:1');
  t.is((t.throws(() => parseAliases('x: ok\ny: bad!!addr\n', 'f')) as GatewayError).where, 'f:2');
  t.is((t.throws(() => parseAliases('x:\n', 'f')) as GatewayError).where, 'f:1');
});

test('.forward / list files: commas or newlines, comments, quotes', (t) => {
  const items = parseAddressFile('a, b\n# c\n"John Smith" <js@x.org>, "|prog arg"\n\\me # note\n', '/h/.forward');
  t.deepEqual(
    items.map((i) => [i.kind, i.value, i.line]),
    [
      ['address', 'a', 1],
      ['address', 'b', 1],
      ['address', 'js@x.org', 3],
      ['program', 'prog arg', 3],
      ['address', 'me', 4],
    ],
  );
});

test('splitCommand: quotes and escapes, no shell', (t) => {
  t.deepEqual(splitCommand(`/bin/x a  "b c" 'd "e"' f\\ g "h\\"i" ''`), ['/bin/x', 'a', 'b c', 'd "e"', 'f g', 'h"i', '']);
  t.deepEqual(splitCommand('a;rm -rf $HOME `x`'), ['a;rm', '-rf', '$HOME', '`x`']);
  t.throws(() => splitCommand('a "b'), { instanceOf: GatewayError });
});

test('expansion with continuation lines and owner- error routing', async (t) => {
  const r = await expandAddress('staff', ctx());
  t.deepEqual(values(r), ['address:alice', 'address:bob', 'address:carol', 'address:dave']);
  t.true(r.deliveries.every((d) => d.errorsTo === 'owner-staff'));
  t.is(r.tree.kind, 'alias');
  t.is(r.tree.errorsTo, 'owner-staff');
  const n = await expandAddress('nested', ctx());
  const byValue = new Map(n.deliveries.map((d) => [d.value, d.errorsTo]));
  t.is(byValue.get('erin'), 'owner-nested', 'inherited from the nearest owner');
  t.is(byValue.get('alice'), 'owner-staff', 'a deeper owner- wins');
  const plain = await expandAddress('root', ctx());
  t.deepEqual(values(plain), ['address:root', 'address:admin@example.org']);
  t.true(plain.deliveries[0]!.noAlias);
  t.is(plain.deliveries[0]!.errorsTo, null);
});

test('includes expand; programs and files only from the aliases file', async (t) => {
  const r = await expandAddress('news', ctx());
  t.deepEqual(values(r), ['address:erin', 'address:frank@example.com', 'address:grace']);
  t.is(r.deliveries[0]!.provenance.kind, 'include');
  t.is(r.deliveries[0]!.provenance.file, '/etc/mail/news.list');

  const b = await expandAddress('BUGS', ctx());
  t.deepEqual(b.deliveries.map((d) => [d.kind, d.argv]), [['program', ['/usr/bin/bugtrack', '--queue', 'mail in', 'a b']]]);
  t.is(b.deliveries[0]!.provenance.kind, 'aliases');
  t.deepEqual(values(await expandAddress('archive', ctx())), ['file:/var/spool/archive']);

  const p = await expandAddress('progs', ctx());
  t.deepEqual(values(p), ['address:okuser']);
  t.is(p.errors.length, 2);
  t.regex(p.errors[0]!.error, /program delivery not allowed from include/);
  t.regex(p.errors[1]!.error, /file delivery not allowed/);
  const allowed = await expandAddress('progs', ctx({ programsFrom: ['aliases', 'include'] }));
  t.deepEqual(values(allowed), ['program:/bin/evil', 'file:/etc/passwd', 'address:okuser']);
});

test('a world-writable include stops the whole expansion (temporary), a missing include is an error', async (t) => {
  const w = await t.throwsAsync(expandAddress('worldw', ctx()), { instanceOf: GatewayError });
  t.regex(w!.message, /^\/etc\/mail\/world\.list: owner\/mode 0\/0666 is unsafe: writable by group or others/);
  t.true(w!.temporary);
  t.is(w!.status, '4.3.0');
  const m = await expandAddress('bad', ctx());
  t.regex(m.errors[0]!.error, /no such file/);
});

test('envelope input may not name programs, files or includes', async (t) => {
  for (const a of ['|/bin/sh', '/etc/passwd', ':include:/etc/mail/news.list', '"|/bin/sh -c x"']) {
    const r = await expandAddress(a, ctx());
    t.deepEqual(r.deliveries, [], a);
    t.is(r.errors.length, 1, a);
  }
});

test('loops are detected; self reference delivers locally', async (t) => {
  const l = await expandAddress('loop1', ctx());
  t.deepEqual(l.deliveries, []);
  t.regex(l.errors[0]!.error, /alias loop: loop1 -> loop2 -> loop1/);
  const s = await expandAddress('self', ctx());
  t.deepEqual(values(s), ['address:self', 'address:other@example.org']);
  t.true(s.deliveries[0]!.noAlias);
  const inc = await expandAddress('inc1', ctx());
  t.deepEqual(values(inc), ['address:leaf']);
  t.regex(inc.errors[0]!.error, /include loop/);
  const deep = await expandAddress('staff', ctx({ maxDepth: 0 }));
  t.regex(deep.errors[0]!.error, /deeper than 0/);
});

test('.forward and list files; forward errors go to real-USER; a group-writable forward stops the expansion', async (t) => {
  const h = await expandAddress('hank', ctx());
  t.deepEqual(values(h), ['address:hank@elsewhere.org', 'address:hank']);
  t.is(h.tree.kind, 'forward');
  t.true(h.deliveries.every((d) => d.errorsTo === 'real-hank'));
  await t.throwsAsync(expandAddress('ivan', ctx()), { message: /\.forward: owner\/mode 0\/0620 is unsafe/ });
  const d = await expandAddress('devs', ctx());
  t.is(d.tree.kind, 'list');
  t.deepEqual(values(d), ['address:alice', 'address:zed@example.net', 'address:hank@elsewhere.org', 'address:hank']);
  const plainUser = await expandAddress('nobody', ctx());
  t.deepEqual(values(plainUser), ['address:nobody']);
  t.is(plainUser.tree.kind, 'address');
});

test('remote addresses are not expanded; duplicates collapse', async (t) => {
  const r = await expandAddress('a!b!user', ctx());
  t.deepEqual(values(r), ['address:a!b!user']);
  const bad = await expandAddress('a!!b', ctx());
  t.is(bad.errors.length, 1);
  t.deepEqual(bad.deliveries, []);
});

test('formatExpansionTree shows the tree with provenance and errors', async (t) => {
  const r = await expandAddress('nested', ctx());
  const text = formatExpansionTree(r.tree);
  t.regex(text, /^nested \(alias\) \(errors to owner-nested\)\n/);
  t.regex(text, /\n {4}:include:\/etc\/mail\/news\.list \(errors to owner-nested\) \[\/etc\/aliases:8\]\n/);
  t.regex(text, /\n {6}erin \(errors to owner-nested\) \[\/etc\/mail\/news\.list:1\]\n/);
});
