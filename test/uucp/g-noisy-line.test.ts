// Liveness and integrity between two uugate sites over the noisy-line
// emulator, under every condition of the noisy bench (bit errors 1e-5 and
// 1e-4, byte drops 1e-4, a 64-byte burst overwriting the line every 16 KiB,
// 64 garbage bytes inserted every 16 KiB) for g 64/7, g 1024/7 and i, two
// seeds each: the hardened g and i (g/engine.ts, i/engine.ts) and the SHA-256
// with chunk repair (session-digest.ts) must complete every call, not merely
// fail safely, with the file byte-identical. 32 KiB at 23,040 B/s keeps the
// file to a few seconds of line time.
import test from 'ava';
import { promises as fsp, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadGateway } from '../../src/runtime/gateway.js';
import { callSystem, listenTcp, type UucicoContext } from '../../src/uucp/uucico.js';
import { uucicoContext } from '../../src/inject/uucico.js';
import { listPendingWork, writeSpoolData, writeWorkFile } from '../../src/uucp/spool/work-file.js';
import { makeSite, freePort } from '../helpers/site.js';
import { startNoisyProxy, type NoisyLineOptions } from '../helpers/noisy-line.js';
import { NOISE_AFTER, PROTOCOLS, RATE, SIZE, seededBytes, type Proto } from '../helpers/noisy-cases.js';

const CONDITIONS: Record<string, NoisyLineOptions> = {
  'bit errors 1e-5': { bitErrorRate: 1e-5 },
  'bit errors 1e-4': { bitErrorRate: 1e-4 },
  'drops 1e-4': { dropRate: 1e-4 },
  'a 64-byte burst every 16 KiB': { burst: { everyBytes: 16 * 1024, length: 64 } },
  '64 bytes inserted every 16 KiB': { burst: { everyBytes: 16 * 1024, length: 64, mode: 'insert' } },
};

async function ours(name: string, sys: string, passwd?: string): Promise<{ ctx: UucicoContext; spool: string; pub: string }> {
  const site = makeSite({ conf: { uucp_name: name, hostnames: name, visible_name: `${name}.example.org` } });
  writeFileSync(path.join(site.uucp, 'sys'), sys);
  if (passwd) writeFileSync(path.join(site.uucp, 'passwd'), passwd);
  const ctx = await uucicoContext(await loadGateway({ config: site.config, uucp: site.uucp, spool: site.spool }), { timeouts: { handshakeMs: 30_000, hangupMs: 3_000 } });
  ctx.log = () => undefined;
  return { ctx, spool: path.join(site.spool, 'uucp'), pub: path.join(site.spool, 'uucppublic') };
}

let seed = 40;
for (const proto of Object.keys(PROTOCOLS) as Proto[])
  for (const [cond, impairments] of Object.entries(CONDITIONS))
    for (const s of [++seed, seed + 100]) {
    test.serial(`uugate ↔ uugate, ${proto}, ${cond}: completes, byte for byte (seed ${s})`, async (t) => {
      const port = await freePort();
      const hub = await ours('hub', `system leaf\ncalled-login Uleaf\n${PROTOCOLS[proto]}`, 'Uleaf pwn\n');
      const line = await startNoisyProxy({ target: { port }, rate: RATE, seed: s, watch: proto === 'i' ? 'i' : 'g', damageAfter: NOISE_AFTER, ...impairments });
      const leaf = await ours('leaf', `system hub\ntime any\naddress 127.0.0.1\nport type tcp\nport service ${line.port}\ncall-login Uleaf\ncall-password pwn\nchat ogin: \\L word: \\P\n${PROTOCOLS[proto]}`);
      const data = seededBytes(s, SIZE);
      await writeSpoolData(leaf.spool, 'hub', 'D.0001', data);
      await writeWorkFile(leaf.spool, 'hub', 'N', [{ type: 'S', from: 'D.0001', to: '~/f.bin', user: 'alice', options: 'C', temp: 'D.0001', mode: 0o644, notify: '' }]);
      const server = await listenTcp(hub.ctx, { port });
      try {
        const first = line.nextLine();
        const t0 = performance.now();
        const res = await callSystem(leaf.ctx, 'hub', { force: true });
        const c = (await first).counters();
        t.log(`NOISY ${JSON.stringify({ seed: s, ok: res.ok, seconds: +((performance.now() - t0) / 1000).toFixed(1), resent: c.up.resent, dataPackets: c.up.dataPackets, silentMs: c.silentMs, error: res.error?.message })}`);
        t.true(res.ok, `the call completes: ${res.error?.message}`);
        t.deepEqual(await fsp.readFile(path.join(hub.pub, 'f.bin')), data, 'byte for byte');
        t.deepEqual(await listPendingWork(leaf.spool, 'hub'), []);
      } finally {
        server.close();
        await line.stop();
      }
    });
  }
