// Sites for the dial-up tests (test/uucp/modem-*.test.ts): the hub that answers
// behind the emulated modem, and the first call of a leaf with mail queued.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeSite, flags, type Site } from './site.js';
import { loadGateway } from '../../src/runtime/gateway.js';
import { callSystem, type UucicoContext } from '../../src/uucp/uucico.js';
import { uucicoContext } from '../../src/inject/uucico.js';
import { writeWork } from '../daemon/work.js';

/** Our hub site: leaf logs in as Uleaf/pw and may run rmail. */
export function modemHubSite(extraSys = ''): Site {
  const hub = makeSite({ conf: { hostnames: 'hub:hub.example.org', visible_name: 'hub.example.org', uucp_name: 'hub' } });
  writeFileSync(path.join(hub.uucp, 'sys'), `system leaf\ncalled-login Uleaf\ncommands rmail\n${extraSys}`);
  writeFileSync(path.join(hub.uucp, 'passwd'), 'Uleaf pw\n');
  return hub;
}

/** Queues a message for `user` at hub on `leaf` and calls hub once. */
export async function mailAndCall(leaf: Site, user = 'bob'): Promise<{ ctx: UucicoContext; result: Awaited<ReturnType<typeof callSystem>> }> {
  const gw = await loadGateway(flags(leaf));
  await writeWork(gw, 'hub', user);
  const ctx = await uucicoContext(gw);
  return { ctx, result: await callSystem(ctx, 'hub') };
}

/** The LCK.. files left in a lock directory. */
export const lockFiles = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('LCK..')) : []);
