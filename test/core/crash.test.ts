// Crash safety: rmail and runq are SIGKILLed at random moments. Every message that
// was acknowledged (exit 0) must be delivered exactly once, or at most twice for
// the documented window between a delivery and its record; nothing may appear
// half-written in a maildir or mbox.
import test from 'ava';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { makeSite, maildirMessages, UUGATE, type Site } from '../helpers/site.js';

const TRIALS = 60;

function killAfter(site: Site, args: string[], input: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [UUGATE, ...args], { env: site.env, stdio: ['pipe', 'ignore', 'ignore'] });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}

const message = (i: number): string =>
  `From alice Fri Nov 27 10:00:00 2026 remote from hub\nSubject: crash ${i}\n\n${`filler line for message ${i}\n`.repeat(200)}END-${i}\n`;

test(`SIGKILL at random moments (${TRIALS} trials): acknowledged mail is delivered, once, whole`, async (t) => {
  const site = makeSite({ conf: { delivery_mode: 'foreground' } });
  const acked = new Set<number>();
  for (let i = 0; i < TRIALS; i++) {
    const [ok] = await Promise.all([
      killAfter(site, ['rmail', 'bob', 'carol'], message(i), 60 + Math.random() * 600),
      killAfter(site, ['runq'], '', 60 + Math.random() * 400),
    ]);
    if (ok) acked.add(i);
  }
  // Let the queue settle: clean runs until nothing is left.
  for (let n = 0; n < 3; n++) await killAfter(site, ['runq', '--force'], '', 30_000);

  const maildir = maildirMessages(path.join(site.spool, 'mail/bob'));
  const mboxFile = path.join(site.spool, 'mail/carol.mbox');
  const mbox = existsSync(mboxFile) ? readFileSync(mboxFile, 'latin1').split(/^(?=From alice|From hub!alice )/m).filter(Boolean) : [];
  for (const [name, messages] of [['maildir', maildir], ['mbox', mbox]] as const) {
    const count = new Map<number, number>();
    for (const m of messages) {
      const id = Number(/Subject: crash (\d+)/.exec(m)?.[1]);
      t.true(new RegExp(`\\nEND-${id}\\n\\n?$`).test(m), `${name}: message ${id} is complete`);
      t.is(m.split('\n').filter((l) => l.startsWith('filler line')).length, 200, `${name}: message ${id} has its whole body`);
      count.set(id, (count.get(id) ?? 0) + 1);
    }
    for (const i of acked) {
      const c = count.get(i) ?? 0;
      t.true(c >= 1 && c <= 2, `${name}: acknowledged message ${i} delivered ${c} times`);
    }
    t.log(`${name}: ${acked.size} acknowledged, ${messages.length} delivered, ${[...count.values()].filter((c) => c > 1).length} duplicated`);
  }
  t.true(acked.size > 5, 'enough trials were acknowledged to mean something');
  t.true(acked.size < TRIALS, 'some trials were killed before acknowledgement');
});
