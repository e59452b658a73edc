// Chat scripts as dialers use them, table-driven over an in-memory duplex: a
// scripted peer answers each line it receives; the bytes we sent and the
// outcome (ok, fail string, timeout) are checked.
import test from 'ava';
import { ChatError, checkChatScript, runChat, splitExpectTimeout } from '../../src/uucp/chat.js';
import { LineReader } from '../../src/uucp/session-io.js';
import { Trace } from '../../src/uucp/trace.js';
import { duplexPair } from '../helpers/taylor.js';
import { dialNumbers } from '../../src/uucp/dial.js';
import { parseDialcodeFile } from '../../src/config/uucp/dialcode.js';
import { parseDialFile } from '../../src/config/uucp/dial.js';

interface Case {
  name: string;
  script: string[];
  /** Peer: for each CR-terminated line received (or null = at start), what to answer ('' = nothing). */
  peer: (line: string | null) => string;
  phone?: string;
  fail?: string[];
  timeoutS?: number;
  sent: string;
  outcome: 'ok' | { fail: string } | { timeout: string };
}

const hayes = (l: string | null): string =>
  l === null ? '' : /^ATZ/.test(l) ? 'OK\r\n' : /^ATDT5551234/.test(l) ? 'CONNECT 9600\r\n' : /^ATDT/.test(l) ? 'BUSY\r\n' : '';

const CASES: Case[] = [
  { name: 'Hayes dial with \\T', script: ['""', 'ATZ', 'OK', 'ATDT\\T', 'CONNECT', '""'], peer: hayes, phone: '5551234', sent: 'ATZ\rATDT5551234\r', outcome: 'ok' },
  { name: 'BUSY is a fail string', script: ['""', 'ATZ', 'OK', 'ATDT\\T', 'CONNECT', '""'], peer: hayes, phone: '999', fail: ['BUSY', 'NO\\sCARRIER'], sent: 'ATZ\rATDT999\r', outcome: { fail: 'BUSY' } },
  { name: 'NO\\sCARRIER matches with a space', script: ['""', 'ATDT1', 'CONNECT'], peer: (l) => (l ? 'NO CARRIER\r\n' : ''), fail: ['BUSY', 'NO\\sCARRIER'], sent: 'ATDT1\r', outcome: { fail: 'NO CARRIER' } },
  { name: 'a silent modem times out', script: ['""', 'ATZ', 'OK'], peer: () => '', timeoutS: 0.3, sent: 'ATZ\r', outcome: { timeout: 'OK' } },
  { name: 'per-expect \\W1 overrides a long chat-timeout', script: ['""', 'ATZ', 'OK\\W1'], peer: () => '', timeoutS: 60, sent: 'ATZ\r', outcome: { timeout: 'OK' } },
  { name: 'sub-expect: OK-ATZ-OK resends ATZ after a timeout', script: ['""', 'ATZ', 'OK-ATZ-OK', 'ATH'], peer: (() => { let n = 0; return (l: string | null) => (l?.startsWith('ATZ') && ++n === 2 ? 'OK\r\n' : ''); })(), timeoutS: 0.3, sent: 'ATZ\rATZ\rATH\r', outcome: 'ok' },
  { name: 'escapes: \\s \\N \\\\ octal, \\c suppresses the CR', script: ['""', 'a\\sb\\N\\\\\\101\\c'], peer: () => '', sent: 'a b\0\\A', outcome: 'ok' },
  { name: '\\n \\r and \\p inside a send', script: ['""', 'x\\p\\ny\\r\\c'], peer: () => '', sent: 'x\ny\r', outcome: 'ok' },
  { name: '\\L \\P in a login chat, parity ignored', script: ['ogin:', '\\L', 'word:', '\\P'], peer: (l) => (l === null ? 'l\xefgin:' : l === 'Uleaf' ? 'Password:' : ''), sent: 'Uleaf\rsecret\r', outcome: 'ok' },
  { name: '\\E echo check: sent bytes must come back', script: ['""', '\\EATZ', 'OK'], peer: (l) => (l === 'ATZ' ? 'ATZ\r\nOK\r\n' : ''), sent: 'ATZ\r', outcome: 'ok' },
  { name: '\\E echo check fails when nothing echoes', script: ['""', '\\EATZ', 'OK'], peer: () => '', timeoutS: 0.3, sent: 'ATZ\r', outcome: { timeout: 'ATZ\\r' } },
  { name: 'BREAK and EOT', script: ['""', 'BREAK', '""', 'EOT'], peer: () => '', sent: '<BREAK>\x04\r', outcome: 'ok' },
];

for (const c of CASES) {
  test(`chat: ${c.name}`, async (t) => {
    const [a, b] = duplexPair();
    const remote = new LineReader(b);
    let sent = '';
    let buf = '';
    const first = c.peer(null);
    if (first) remote.write(first);
    b.on('data', (d: Buffer) => {
      sent += d.toString('latin1');
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\r'); i >= 0; i = buf.indexOf('\r')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const reply = c.peer(line);
        if (reply) remote.write(reply);
      }
    });
    const run = runChat(new LineReader(a), c.script, {
      timeoutS: c.timeoutS ?? 2, fail: c.fail, phone: c.phone, login: 'Uleaf', password: 'secret', delayScale: 0.01,
      sendBreak: async () => void (sent += '<BREAK>'), trace: new Trace(),
    });
    if (c.outcome === 'ok') await t.notThrowsAsync(run);
    else if ('fail' in c.outcome) {
      const e = await t.throwsAsync(run, { instanceOf: ChatError });
      t.is(e?.failString, c.outcome.fail);
    } else {
      const e = await t.throwsAsync(run, { instanceOf: ChatError });
      t.true(e?.timedOut);
      t.true(e!.message.includes(`"${c.outcome.timeout}"`), e!.message);
    }
    await new Promise((r) => setTimeout(r, 20)); // the last bytes are still on their way
    t.is(sent, c.sent);
  });
}

const SYNTAX: Array<[string[], string | undefined]> = [
  [['""', 'ATZ', 'OK', 'ATDT\\T', 'CONNECT'], undefined],
  [['ogin:-BREAK-ogin:', '\\L', 'word:\\W5', '\\P'], undefined],
  [['""', 'ATDT\\q'], 'unknown escape \\q'],
  [['OK\\d', 'x'], 'unknown escape \\d in an expect string'],
  [['""', 'AT\\'], 'a lone backslash at the end'],
  [['OK\\Wx', 'x'], '\\W wants a number'],
  [['""', 'a\\W3'], '\\W belongs at the end of an expect string'],
  [['""', '\\xZZ'], '\\x without hex digits'],
];
for (const [script, want] of SYNTAX) {
  test(`chat syntax: ${JSON.stringify(script)} → ${want ?? 'ok'}`, (t) => {
    const r = checkChatScript(script);
    if (want === undefined) t.is(r, undefined);
    else t.true(r?.includes(want), r);
  });
}

test('\\W splits off an expect timeout', (t) => {
  t.deepEqual(splitExpectTimeout('ogin:\\W15'), { text: 'ogin:', timeoutS: 15 });
  t.deepEqual(splitExpectTimeout('ogin:'), { text: 'ogin:' });
});

test('dialNumbers: \\T translates a leading dialcode, both turn = and - into the dialer\'s dialtone and pause (comma by default)', (t) => {
  const codes = parseDialcodeFile('# codes\nNY 1=212\njt 9=847-\n', 'uucp/dialcode');
  const plain = parseDialFile('dialer hayes\nchat "" ATDT\\T CONNECT\n', 'dial', [])[0]!;
  const waits = parseDialFile('dialer w\nchat "" ATDT\\T CONNECT\ndialtone W\npause ,,\n', 'dial', [])[0]!;
  t.deepEqual(dialNumbers('NY5551212', plain, codes), { phone: 'NY5551212', dialPhone: '1,2125551212' });
  t.deepEqual(dialNumbers('jt7867', waits, codes), { phone: 'jt7867', dialPhone: '9W847,,7867' });
  t.deepEqual(dialNumbers('555-1234', plain, codes), { phone: '555,1234', dialPhone: '555,1234' });
  const lines: string[] = [];
  const trace = new Trace(new Set(['chat']), (l) => lines.push(l));
  t.deepEqual(dialNumbers('XX12', plain, codes, trace), { phone: 'XX12', dialPhone: 'XX12' }, 'an unknown code is dialed as written');
  t.regex(lines.join('\n'), /no dialcode "XX"/);
  t.deepEqual(dialNumbers(undefined, plain, codes), {});
  t.throws(() => parseDialcodeFile('NY\n', 'uucp/dialcode'), { message: /uucp\/dialcode:1: missing the digits for dialcode "NY"/ });
});
