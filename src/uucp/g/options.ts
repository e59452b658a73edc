/**
 * g (and G) settings for a system from its `protocol-parameter g NAME VALUE`
 * lines (Taylor manual "protocol-parameter"; names as Taylor's protg.c accepts
 * them), and what the handshake agreed. Timeouts are seconds there,
 * milliseconds here.
 */

import type { UucpSystem } from '../../config/uucp/types.js';
import { FEATURE } from '../features.js';
import type { Agreed } from '../protocol/protocol.js';
import type { GProtocolOptions } from './gprotocol.js';

function truthy(s: string | undefined): boolean | undefined {
  if (s === undefined) return undefined;
  return /^[yYtT1]/.test(s);
}

/** g settings for a system: `protocol-parameter g ...` lines, plus Taylor's 16 KiB bound. */
export function gOptionsFor(sys: UucpSystem, hs: Agreed, overrides: GProtocolOptions = {}): GProtocolOptions {
  const raw = new Map<string, string>();
  for (const args of sys.protocolParams.raw[hs.protocol] ?? sys.protocolParams.raw.g ?? []) if (args[0]) raw.set(args[0], args[1] ?? '');
  const num = (k: string): number | undefined => (raw.has(k) && /^\d+$/.test(raw.get(k)!) ? Number(raw.get(k)) : undefined);
  const o: GProtocolOptions = {
    window: sys.protocolParams.g.window ?? num('window'),
    packetSize: sys.protocolParams.g.packetSize ?? num('packet-size'),
    remoteWindow: num('remote-window'),
    remotePacketSize: num('remote-packet-size'),
    timeoutMs: num('timeout') !== undefined ? num('timeout')! * 1000 : undefined,
    retries: num('retries'),
    maxErrors: num('errors'),
    garbageLimit: num('garbage'),
    shortPackets: hs.protocol === 'G' ? false : truthy(raw.get('short-packets')),
    // Our own parameter: Taylor 1.07 corrupts files when window × (packet + 6)
    // exceeds 16 KiB; on by default for `-N` peers, `taylor-bound false` disables it.
    peerIsTaylor: hs.taylorPeer && truthy(raw.get('taylor-bound')) !== false,
    // A uugate peer resends a packet alone on SRJ (others get only RJ).
    selectiveRepeat: (hs.features & FEATURE.DIGEST) !== 0,
  };
  for (const k of Object.keys(o) as (keyof GProtocolOptions)[]) if (o[k] === undefined) delete o[k];
  return { ...o, ...overrides };
}
