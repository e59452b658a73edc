// Taylor-format configuration: a realistic uucp/ directory (shaped like Debian's
// examples) with defaults, aliases, alternates, continuation lines and call file.
import test from 'ava';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GatewayError } from '../../src/util/errors.js';
import { loadUucpConfig } from '../../src/config/uucp/load.js';
import { splitConfigLines } from '../../src/config/uucp/lines.js';
import { parseSysFile } from '../../src/config/uucp/sys.js';

const SYS = `#
# sys  -- remote systems we talk to
#
# Defaults for every system below.
protocol gvG
protocol-parameter G packet-size 1024
protocol-parameter g window 7
call-login *
call-password *
max-retries 10

system hub
alias hub-old
time any 15
phone 0172-419339
port ACU
chat "" \\d\\d\\r\\c ogin: \\d\\L word: \\P
chat-timeout 30
protocol g
protocol-parameter g window 3
protocol-parameter g packet-size 128
protocol-parameter g short-packets
commands rmail \\
 rsmtp rnews
myname gw
called-login Uhub
local-send ~ /var/spool/uucppublic
remote-send ~
remote-receive ~ !~/private
alternate hub-tcp
address uucp.example.net
port TCP
protocol t

system longsystemname
call-login Uleaf
call-password s3cret\\#1
address 127.0.0.1
service 5400
port type tcp
timegrade N Any
max-remote-debug none
time Night

system verylongname14
time Never
`;

const PORT = `# ports
port ACU
type modem
device /dev/ttyS3   # the modem
dialer hayes
speed 57600
carrier true
hardflow y
lockname ttyS3

port TCP
type tcp
service uucp

port PIPE
type pipe
command /usr/bin/ssh -a -x hub uucico -l
frobnicate 1
`;

const DIAL = `dialer hayes
chat "" ATZ\\r\\d\\c OK\\r \\dATM0L0E1Q0\\r\\d\\c OK\\r ATDT\\D CONNECT
chat-fail RING
chat-fail NO\\sCARRIER
chat-timeout 60
complete \\d\\d+++\\d\\dATM0H\\r\\c
abort \\d\\d+++\\d\\dATM0H\\r\\c
dtr-toggle true false
`;

const CALL = `# system login password
hub\tUgw\tgrumblesmurf
`;
const PASSWD = `Uhub\tsecret1
Uleaf   secret2
`;

async function confDir(files: Record<string, string>): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'uucfg-'));
  for (const [n, t] of Object.entries(files)) await fsp.writeFile(path.join(dir, n), t);
  return dir;
}

test('realistic Taylor config: systems, defaults, aliases, alternates', async (t) => {
  const dir = await confDir({ sys: SYS, port: PORT, dial: DIAL, call: CALL, passwd: PASSWD });
  const c = await loadUucpConfig(dir);
  t.deepEqual([...c.systems.keys()], ['hub', 'longsystemname', 'verylongname14']);

  const hub = c.systems.get('hub')!;
  t.deepEqual(hub.aliases, ['hub-old']);
  t.deepEqual(hub.time, ['any']);
  t.is(hub.retryTime, 15);
  t.is(hub.phone, '0172-419339');
  t.is(hub.port, 'ACU');
  t.deepEqual(hub.chat, ['""', '\\d\\d\\r\\c', 'ogin:', '\\d\\L', 'word:', '\\P']);
  t.is(hub.chatTimeout, 30);
  t.is(hub.protocol, 'g');
  // Defaults' g window 7 is overridden by the system; G packet-size is inherited.
  t.deepEqual(hub.protocolParams.g, { window: 3, packetSize: 128 });
  t.deepEqual(hub.protocolParams.raw.G, [['packet-size', '1024']]);
  t.deepEqual(hub.protocolParams.raw.g.at(-1), ['short-packets']);
  // Continuation line joined with nothing in between: " rsmtp" keeps its blank.
  t.deepEqual(hub.commands, ['rmail', 'rsmtp', 'rnews']);
  t.is(hub.myname, 'gw');
  t.is(hub.calledLogin, 'Uhub');
  t.deepEqual(hub.localSend, ['~', '/var/spool/uucppublic']);
  t.deepEqual(hub.remoteReceive, ['~', '!~/private']);
  t.is(hub.maxRetries, 10, 'max-retries from the defaults');
  // call-login * / call-password * come from the call file.
  t.is(hub.callLogin, 'Ugw');
  t.is(hub.callPassword, 'grumblesmurf');
  t.is(hub.alternates.length, 1);
  const alt = hub.alternates[0];
  t.is(alt.alternateName, 'hub-tcp');
  t.is(alt.address, 'uucp.example.net');
  t.is(alt.port, 'TCP');
  t.is(alt.protocol, 't');
  t.is(alt.chatTimeout, 30, 'alternate inherits the first choice');

  const leaf = c.systems.get('longsystemname')!;
  t.is(leaf.callLogin, 'Uleaf');
  t.is(leaf.callPassword, 's3cret#1', '\\# is a literal #');
  t.is(leaf.address, '127.0.0.1');
  t.is(leaf.service, '5400');
  t.is(leaf.inlinePort?.type, 'tcp');
  t.deepEqual(leaf.commands, ['rmail', 'rsmtp'], 'built-in default commands');
  t.deepEqual(leaf.maxRemoteDebug, ['none']);
  t.deepEqual(leaf.time, ['Night']);
  t.is(leaf.protocol, 'gvG', 'protocol from the defaults');
  t.deepEqual(leaf.protocolParams.g, { window: 7 });
  t.is(leaf.chatTimeout, 10, 'Taylor default chat-timeout');
  t.is(leaf.chat[0], '""');

  // Ports and dialers.
  const acu = c.ports.get('ACU')!;
  t.is(acu.type, 'modem');
  t.is(acu.device, '/dev/ttyS3');
  t.is(acu.dialer, 'hayes');
  t.is(acu.speed, 57600);
  t.true(acu.carrier);
  t.true(acu.hardflow);
  t.is(acu.lockname, 'ttyS3');
  t.is(c.ports.get('TCP')!.service, 'uucp');
  t.deepEqual(c.ports.get('PIPE')!.command, ['/usr/bin/ssh', '-a', '-x', 'hub', 'uucico', '-l']);
  const hayes = c.dialers.get('hayes')!;
  t.is(hayes.chat[0], '""');
  t.deepEqual(hayes.chatFail, ['RING', 'NO\\sCARRIER']);
  t.is(hayes.chatTimeout, 60);
  t.is(hayes.complete, '\\d\\d+++\\d\\dATM0H\\r\\c');
  t.deepEqual(hayes.dtrToggle, ['true', 'false']);
  t.is(c.passwd.get('Uhub'), 'secret1');
  t.is(c.passwd.get('Uleaf'), 'secret2');

  // Unsupported keywords: warnings with file:line, not errors.
  const w = c.warnings.join('\n');
  t.true(c.warnings.includes(`${path.join(dir, 'sys')}:41: keyword "timegrade" not supported`), w);
  t.regex(w, /port:18: keyword "frobnicate" not supported/);
  // call-login * in the defaults, but the other systems are not in the call file.
  t.regex(w, /call-login \* but system "verylongname14"/);
});

test('findSystem: names, aliases, 7 and 14 character truncation', async (t) => {
  const dir = await confDir({ sys: SYS, call: CALL });
  const c = await loadUucpConfig(dir);
  t.is(c.findSystem('hub')?.name, 'hub');
  t.is(c.findSystem('hub-old')?.name, 'hub');
  t.is(c.findSystem('longsys')?.name, 'longsystemname', '7-character prefix');
  t.is(c.findSystem('longsystemname')?.name, 'longsystemname');
  t.is(c.findSystem('verylongname14yz')?.name, 'verylongname14', 'configured name of 14 chars matches a longer one');
  t.is(c.findSystem('longsy'), undefined, 'six characters is not a truncation');
  t.is(c.findSystem('longsystemnam'), undefined, '13 characters is not a truncation');
  t.is(c.findSystem('nosuch'), undefined);
});

test('errors carry file:line and exit 78', async (t) => {
  const bad = async (files: Record<string, string>, re: RegExp): Promise<void> => {
    const dir = await confDir(files);
    const err = await t.throwsAsync(loadUucpConfig(dir));
    t.true(err instanceof GatewayError);
    t.is((err as GatewayError).exitCode, 78);
    t.regex(err!.message, re);
  };
  await bad({ sys: 'system hub\nchat-timeout soon\n' }, /sys:2: chat-timeout: bad number "soon"/);
  await bad({ sys: '# x\nsystem\n' }, /sys:2: system: missing system name/);
  await bad({ sys: 'system a\nprotocol-parameter g window 9\n' }, /sys:2: .*out of range/);
  await bad({ sys: 'system a\nprotocol-parameter g packet-size 100\n' }, /sys:2: .*power of two/);
  await bad({ sys: 'system a\nsystem a\n' }, /sys:2: system "a" defined twice/);
  await bad({ port: 'type modem\n' }, /port:1: type: before the first port command/);
  await bad({ port: 'port x\ncarrier maybe\n' }, /port:2: carrier: bad boolean/);
  await bad({ call: 'hub Ugw\n' }, /call:1: need "system login password"/);
  // A continued line reports the line it started on.
  await bad({ sys: 'system a\nmax-retries \\\nlots\n' }, /sys:2: max-retries: bad number "lots"/);
});

test('line splitting: comments, escapes, continuation', (t) => {
  const lines = splitConfigLines('  # c\nchat a\\#b # rest\nphone 1\\\n23\n\nx \\\\#y\n', 'f');
  t.deepEqual(
    lines.map((l) => [l.keyword, l.args, l.where]),
    [
      ['chat', ['a#b'], 'f:2'],
      ['phone', ['123'], 'f:3'],
      ['x', ['\\#y'], 'f:6'],
    ],
  );
});

test('system time replaces the defaults, chat-fail too', (t) => {
  const w: string[] = [];
  const { systems } = parseSysFile('time Any\nchat-fail BUSY\nsystem a\nsystem b\ntime Night\ntime Wk\nchat-fail NO\n', 's', w);
  t.deepEqual(systems[0].time, ['Any']);
  t.deepEqual(systems[1].time, ['Night', 'Wk']);
  t.deepEqual(systems[0].chatFail, ['BUSY']);
  t.deepEqual(systems[1].chatFail, ['NO']);
  t.deepEqual(w, []);
});
