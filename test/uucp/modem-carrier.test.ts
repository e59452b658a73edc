// Carrier detect on a modem port (Taylor's `carrier`, `carrier-wait`): a pty
// has no DCD, so the modem bits come from a scripted reader here; the dial
// itself runs against the Hayes emulator on a socat pty pair. The last test
// checks the real pty: its unreadable DCD must not stop a call.
import test, { type ExecutionContext } from 'ava';
import path from 'node:path';
import { ptyPair, tempRoot } from '../helpers/taylor.js';
import { ModemEmulator } from '../helpers/modem-emulator.js';
import { lockFiles } from '../helpers/modem-sites.js';
import { waitFor } from '../helpers/site.js';
import { parseDialFile } from '../../src/config/uucp/dial.js';
import { parsePortFile } from '../../src/config/uucp/port.js';
import { openModemPort, type ModemOptions } from '../../src/uucp/port/modem.js';
import { DialError } from '../../src/uucp/dial.js';
import { Trace } from '../../src/uucp/trace.js';
import { openPortEntry } from '../../src/uucp/port/open.js';
import type { Port } from '../../src/uucp/port/port.js';

const DIAL = `dialer hayes
chat "" ATZ OK ATDT\\T CONNECT
chat-timeout 5
complete \\p+++\\p\\pATH\\r\\c
abort \\p+++\\p\\pATH\\r\\c
carrier-wait 1

dialer nodcd
chat "" ATZ OK ATDT\\T CONNECT
chat-timeout 5
carrier false
`;

/** A modem port on one end of a pty pair with the emulator on the other; `open` dials 5551234. */
async function modemLine(t: ExecutionContext, dialer: string): Promise<{ open: (o?: Partial<ModemOptions>) => Promise<Port>; lockDir: string; modem: ModemEmulator }> {
  const root = await tempRoot('uucarrier-');
  const pty = await ptyPair(root);
  // The far end: a program that takes what comes until the modem hangs up.
  const remote = { argv: [process.execPath, '-e', "process.stdin.on('data', () => {}).on('end', () => process.exit(0))"] };
  const modem = new ModemEmulator({ device: pty.b, numbers: { '5551234': 'connect' }, remote, guardMs: 20 });
  await modem.start();
  t.teardown(async () => {
    await modem.stop();
    await pty.stop();
  });
  const warnings: string[] = [];
  const [port] = parsePortFile(`port m\ntype modem\ndevice ${pty.a}\nspeed 9600\ndialer ${dialer}\n`, 'port', warnings);
  const dialers = new Map(parseDialFile(DIAL, 'dial', warnings).map((d) => [d.name, d]));
  t.deepEqual(warnings, []);
  const lockDir = path.join(root, 'lock');
  const open = (o: Partial<ModemOptions> = {}): Promise<Port> => openModemPort(port!, { lockDir, dialers, phone: '5551234', delayScale: 0.1, ...o });
  return { open, lockDir, modem };
}

test.serial('no carrier within carrier-wait after CONNECT: the dial fails (NO CARRIER), the modem is hung up and the lock released', async (t) => {
  const { open, lockDir, modem } = await modemLine(t, 'hayes');
  let reads = 0;
  const err = await t.throwsAsync(
    open({
      carrier: async () => {
        reads++;
        return false;
      },
    }),
  );
  t.true(err instanceof DialError);
  t.is((err as DialError).reason, 'NO CARRIER');
  t.regex(err!.message, /no carrier \(DCD\) 1 s after the dial chat/);
  t.true(reads > 1, 'polled while waiting');
  t.true(modem.log.includes('> CONNECT 9600'));
  // The emulator logs ATH when it reads it, which on a loaded machine may be a moment after our write.
  t.true(await waitFor(() => modem.log.includes('< ATH'), 5_000), modem.log.join('\n'));
  t.deepEqual(lockFiles(lockDir), []);
});

test.serial('carrier dropping during the call ends the line with an error naming it; close still hangs up', async (t) => {
  const { open, lockDir, modem } = await modemLine(t, 'hayes');
  let dcd = true;
  const p = await open({ carrier: async () => dcd, carrierPollMs: 20 });
  // Between protocol phases: the line readers keep their 'error' listeners for the line's life.
  const closed = new Promise((resolve) => p.stream.once('close', resolve));
  dcd = false;
  await closed;
  t.regex(p.stream.errored?.message ?? '', /carrier lost \(DCD dropped\)/);
  await p.close();
  t.deepEqual(lockFiles(lockDir), []);
  t.true(modem.log.includes('> CONNECT 9600'));
});

test.serial('a dialer with carrier false never reads DCD', async (t) => {
  const { open } = await modemLine(t, 'nodcd');
  let reads = 0;
  const p = await open({
    carrier: async () => {
      reads++;
      return false;
    },
    carrierPollMs: 20,
  });
  await new Promise((r) => setTimeout(r, 200));
  t.is(reads, 0);
  t.false(p.stream.destroyed);
  await p.close();
});

test.serial('on a pty, whose DCD cannot be read, the call goes on (logged under -x port)', async (t) => {
  const { open } = await modemLine(t, 'hayes');
  const lines: string[] = [];
  const p = await open({ trace: new Trace(new Set(['port']), (l) => lines.push(l)) });
  t.false(p.stream.destroyed);
  t.true(lines.some((l) => /carrier cannot be read/.test(l)), lines.join('\n'));
  await p.close();
});

test.serial('a direct port with carrier true ends the line when DCD drops; without it DCD is never read', async (t) => {
  const root = await tempRoot('uucarrier-');
  const pty = await ptyPair(root);
  t.teardown(() => pty.stop());
  const warnings: string[] = [];
  const [watched, plain] = parsePortFile(`port w\ntype direct\ndevice ${pty.a}\ncarrier true\n\nport p\ntype direct\ndevice ${pty.a}\n`, 'port', warnings);
  t.deepEqual(warnings, []);
  let dcd = true;
  let reads = 0;
  const carrier = async (): Promise<boolean> => {
    reads++;
    return dcd;
  };
  const opts = { lockDir: path.join(root, 'lock'), carrier, carrierPollMs: 20 };
  const p = await openPortEntry(plain!, opts);
  await new Promise((r) => setTimeout(r, 100));
  t.is(reads, 0);
  await p.close();
  const w = await openPortEntry(watched!, opts);
  const closed = new Promise((resolve) => w.stream.once('close', resolve));
  w.stream.on('error', () => undefined);
  dcd = false;
  await closed;
  t.true(reads > 0);
  t.regex(w.stream.errored?.message ?? '', /carrier lost \(DCD dropped\)/);
  await w.close();
  t.deepEqual(lockFiles(opts.lockDir), []);
});
