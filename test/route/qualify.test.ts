import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayError } from '../../src/util/errors.js';
import { loadQualify, parseQualify, Qualifier } from '../../src/route/qualify.js';

test('first match wins, * matches anything, only dotless names', (t) => {
  const q = new Qualifier(parseQualify('# comment\nErnie  sesame.org   # trailing\n\n*\t.uucp\nbert other.org\n', 'q'));
  t.is(q.qualify('ernie'), 'ernie.sesame.org');
  t.is(q.qualify('ERNIE'), 'ERNIE.sesame.org');
  t.is(q.qualify('bert'), 'bert.uucp', '* comes first in file order');
  t.is(q.qualify('foo.com'), null);
  t.is(q.qualify('[1.2.3.4]'), null);
  t.is(q.qualifyOrSelf('foo.com'), 'foo.com');
  const noStar = new Qualifier(parseQualify('bert other.org\n', 'q'));
  t.is(noStar.qualify('elmo'), null);
});

test('errors name file:line', (t) => {
  t.is((t.throws(() => parseQualify('a b\nonefield\n', '/etc/q'), { instanceOf: GatewayError }) as GatewayError).where, '/etc/q:2');
  t.is((t.throws(() => parseQualify('a b c\n', 'q')) as GatewayError).where, 'q:1');
  t.regex(t.throws(() => parseQualify('x\n\nfoo.bar baz.org\n', 'q'))!.message, /^q:1/);
  t.regex(t.throws(() => parseQualify('foo.bar baz.org\n', 'q'))!.message, /has a dot/);
  t.regex(t.throws(() => parseQualify('foo ba@d\n', 'q'))!.message, /q:1/);
});

test('missing file means no qualification', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'uugate-q-'));
  try {
    const none = await loadQualify(join(dir, 'nope'));
    t.is(none.qualify('x'), null);
    const f = join(dir, 'qualify');
    await writeFile(f, '* example.net\n');
    t.is((await loadQualify(f)).qualify('x'), 'x.example.net');
    await writeFile(f, 'bad\n');
    await t.throwsAsync(() => loadQualify(f), { instanceOf: GatewayError, message: new RegExp(`^${f}:1: `) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
