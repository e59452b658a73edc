// Chat scripts, the login prompt, time strings and -x parsing.
import test from 'ava';
import { ChatError, expandExpect, expandSend, runChat } from '../../src/uucp/chat.js';
import { LoginError, promptLogin } from '../../src/uucp/login.js';
import { LineReader } from '../../src/uucp/session-io.js';
import { parseDebug } from '../../src/uucp/trace.js';
import { timeMatches } from '../../src/uucp/uucico.js';
import { duplexPair } from '../helpers/taylor.js';

const text = (a: ReturnType<typeof expandSend>): string => a.map((x) => ('bytes' in x ? x.bytes.toString('latin1') : 'delayMs' in x ? `<${x.delayMs}>` : '<BREAK>')).join('');

test('send strings: \\L \\P, CR unless \\c, delays, escapes', (t) => {
  const o = { login: 'Uleaf', password: 'se cret' };
  t.is(text(expandSend('\\L', o)), 'Uleaf\r');
  t.is(text(expandSend('\\P', o)), 'se cret\r');
  t.is(text(expandSend('\\r\\c', o)), '\r');
  t.is(text(expandSend('ATZ\\d\\pX\\c', o)), 'ATZ<1000><500>X');
  t.is(text(expandSend('a\\sb\\N\\101\\x42\\\\', o)), 'a b\0AB\\\r');
  t.is(text(expandSend('""', o)), '');
  t.is(text(expandSend('BREAK', o)), '<BREAK>');
  t.is(text(expandSend('EOT', o)), '\x04\r');
  t.is(expandExpect('ogin:'), 'ogin:');
  t.is(expandExpect('a\\055b\\s'), 'a-b ');
  t.is(expandExpect('""'), '');
});

test('a chat script with a fallback: ogin:-\\r-ogin: sends CR after a timeout and tries again', async (t) => {
  const [a, b] = duplexPair();
  const remote = new LineReader(b);
  const seen: string[] = [];
  const peer = (async () => {
    // Stay silent until the second CR, then prompt.
    await remote.take((buf) => (buf.toString('latin1').split('\r').length > 2 ? buf.length : -1), 5000, 'CRs');
    remote.write('\r\nlogin:');
    seen.push((await remote.take((buf) => (buf.includes(0x0d) ? buf.indexOf(0x0d) + 1 : -1), 5000, 'login')).toString('latin1'));
    remote.write('Password:');
    seen.push((await remote.take((buf) => (buf.includes(0x0d) ? buf.indexOf(0x0d) + 1 : -1), 5000, 'password')).toString('latin1'));
  })();
  await runChat(new LineReader(a), ['""', '\\r\\c', 'ogin:-\\r\\c-ogin:', '\\L', 'word:', '\\P'], { timeoutS: 0.3, login: 'Uleaf', password: 'pw' });
  await peer;
  t.deepEqual(seen, ['Uleaf\r', 'pw\r']);
});

test('chat-fail strings and timeouts end the script with ChatError', async (t) => {
  const [a, b] = duplexPair();
  new LineReader(b).write('ATDT\r\nNO CARRIER\r\n');
  await t.throwsAsync(runChat(new LineReader(a), ['CONNECT', ''], { timeoutS: 2, fail: ['NO\\sCARRIER'] }), { instanceOf: ChatError, message: /NO CARRIER/ });
  const [c] = duplexPair();
  await t.throwsAsync(runChat(new LineReader(c), ['ogin:', '\\L'], { timeoutS: 0.2 }), { instanceOf: ChatError, message: /timed out waiting for "ogin:"/ });
});

test('the login prompt: stray CRs re-prompt, CR LF is one line end, the passwd file decides', async (t) => {
  const passwd = new Map([['Uleaf', 'pw']]);
  const [a, b] = duplexPair();
  const caller = new LineReader(b);
  const answer = promptLogin(new LineReader(a), { passwd, timeoutS: 5 });
  caller.write('\r');
  caller.write('\r\n');
  await caller.take((buf) => (buf.toString().split('login: ').length > 2 ? buf.length : -1), 5000, 'prompts');
  caller.write('Uleaf\r\n');
  await caller.take((buf) => (buf.includes('Password:') ? buf.length : -1), 5000, 'password prompt');
  caller.write('pw\r');
  t.is(await answer, 'Uleaf');

  const [c, d] = duplexPair();
  const bad = promptLogin(new LineReader(c), { passwd, timeoutS: 5 });
  new LineReader(d).write('Uleaf\rnope\r');
  await t.throwsAsync(bad, { instanceOf: LoginError, message: /login incorrect/ });
});

test('time strings: days, ranges, ranges across midnight, timetables', (t) => {
  const sat1200 = new Date(2026, 10, 28, 12, 0); // a Saturday
  const tue0100 = new Date(2026, 10, 24, 1, 0);
  const tue1000 = new Date(2026, 10, 24, 10, 0);
  t.true(timeMatches('Any', sat1200));
  t.true(timeMatches('any', sat1200));
  t.false(timeMatches('Never', sat1200));
  t.false(timeMatches('Wk0800-1700', sat1200));
  t.true(timeMatches('Wk0800-1700', tue1000));
  t.true(timeMatches('Wk2305-0855', tue0100), 'Monday night, early Tuesday');
  t.false(timeMatches('Wk2305-0855', tue1000));
  t.true(timeMatches('Wk2305-0855,Sa,Su2305-1655', sat1200));
  t.true(timeMatches('MoTu|Sa', sat1200));
  t.true(timeMatches('Night', tue0100));
  t.false(timeMatches('Night', tue1000));
});

test('-x: numbers, names, all, and bad names', (t) => {
  t.deepEqual([...parseDebug('2')], ['abnormal', 'chat']);
  t.deepEqual([...parseDebug('proto,port')], ['proto', 'port']);
  t.is(parseDebug('all').size, 11);
  t.throws(() => parseDebug('nonsense'), { message: /unknown debug category/ });
});
