// Liveness of the hardened g (engine.ts: byte-scaled error budget, one error
// per damaged packet, prompt RJs, adaptive RTO and packet size) and the
// uugate SHA-256 (session-digest.ts): uugate ↔ uugate over the noisy-line
// emulator at 1e-4 bit errors, g 1024/7, 11,520 B/s, several seeds. Each call
// must complete (not merely fail safely) and the file be byte-identical.
import test from 'ava';
import { promises as fsp, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadGateway } from '../../src/runtime/gateway.js';
import { callSystem, listenTcp, uucicoContext, type UucicoContext } from '../../src/uucp/uucico.js';
import { listPendingWork, writeSpoolData, writeWorkFile } from '../../src/uucp/spool.js';
import { seededRandom } from '../../src/util/seeded-random.js';
import { makeSite, freePort } from '../helpers/site.js';
import { startNoisyProxy } from '../helpers/noisy-line.js';

const RATE = 11_520;
const SIZE = 48 * 1024;
const G = 'protocol g\nprotocol-parameter g packet-size 1024\nprotocol-parameter g window 7\n';

async function ours(name: string, sys: string, passwd?: string): Promise<{ ctx: UucicoContext; spool: string; pub: string }> {
  const site = makeSite({ conf: { uucp_name: name, hostnames: name, visible_name: `${name}.example.org` } });
  writeFileSync(path.join(site.uucp, 'sys'), sys);
  if (passwd) writeFileSync(path.join(site.uucp, 'passwd'), passwd);
  const ctx = await uucicoContext(await loadGateway({ config: site.config, uucp: site.uucp, spool: site.spool }), { timeouts: { handshakeMs: 30_000, hangupMs: 3_000 } });
  ctx.log = () => undefined;
  return { ctx, spool: path.join(site.spool, 'uucp'), pub: path.join(site.spool, 'uucppublic') };
}

for (const seed of [31, 32, 33])
  test.serial(`g 1024/7 at 1e-4 bit errors completes, byte for byte (seed ${seed})`, async (t) => {
    const port = await freePort();
    const hub = await ours('hub', `system leaf\ncalled-login Uleaf\n${G}`, 'Uleaf pwn\n');
    const line = await startNoisyProxy({ target: { port }, rate: RATE, seed, watch: 'g', bitErrorRate: 1e-4, damageAfter: 256 });
    const leaf = await ours('leaf', `system hub\ntime any\naddress 127.0.0.1\nport type tcp\nport service ${line.port}\ncall-login Uleaf\ncall-password pwn\nchat ogin: \\L word: \\P\n${G}`);
    const r = seededRandom(seed);
    const data = Buffer.from(Array.from({ length: SIZE }, () => Math.floor(r() * 256)));
    await writeSpoolData(leaf.spool, 'hub', 'D.0001', data);
    await writeWorkFile(leaf.spool, 'hub', 'N', [{ type: 'S', from: 'D.0001', to: '~/f.bin', user: 'alice', options: 'C', temp: 'D.0001', mode: 0o644, notify: '' }]);
    const server = await listenTcp(hub.ctx, { port });
    try {
      const first = line.nextLine();
      const t0 = performance.now();
      const res = await callSystem(leaf.ctx, 'hub', { force: true });
      const c = (await first).counters();
      const seconds = (performance.now() - t0) / 1000;
      t.log(`NOISY ${JSON.stringify({ seed, ok: res.ok, seconds: +seconds.toFixed(1), kBps: +(SIZE / 1024 / seconds).toFixed(2), resent: c.up.resent, dataPackets: c.up.dataPackets, silentMs: c.silentMs, flipped: c.up.bitsFlipped + c.down.bitsFlipped, error: res.error?.message })}`);
      t.true(res.ok, `the call completes: ${res.error?.message}`);
      t.deepEqual(await fsp.readFile(path.join(hub.pub, 'f.bin')), data, 'byte for byte');
      t.deepEqual(await listPendingWork(leaf.spool, 'hub'), []);
    } finally {
      server.close();
      await line.stop();
    }
  });
