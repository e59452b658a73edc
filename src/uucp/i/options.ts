/**
 * i protocol settings from Taylor-style `protocol-parameter i NAME VALUE`
 * lines (Taylor manual "protocol-parameter"; names as Taylor's proti.c
 * accepts them): packet-size, window, remote-packet-size, sync-timeout,
 * sync-retries, timeout, retries, errors, error-decay, ack-frequency.
 * Timeouts are seconds there, milliseconds here. Values out of range are
 * left out (the defaults apply), as Taylor falls back to its defaults.
 *
 *   ^G | seq<<3|lchan | ack<<3|rchan | type<<5|caller<<4|len>>8 | len | xor  [data crc32]
 */

import type { IEngineOptions } from './engine.js';
import { MAX_DATA, MAX_WINDOW } from './packet.js';

export function iOptionsFromParams(raw: string[][] | undefined): IEngineOptions {
  const o: IEngineOptions = {};
  for (const [name, value] of raw ?? []) {
    if (value === undefined || !/^\d+$/.test(value)) continue;
    const n = Number(value);
    switch (name) {
      case 'packet-size':
        if (n >= 1 && n <= MAX_DATA) o.packetSize = n;
        break;
      case 'window':
        if (n >= 1 && n <= MAX_WINDOW) o.window = n;
        break;
      case 'remote-packet-size':
        if (n >= 1 && n <= MAX_DATA) o.remotePacketSize = n;
        break;
      case 'sync-timeout':
        if (n > 0) o.syncTimeoutMs = n * 1000;
        break;
      case 'sync-retries':
        o.syncRetries = n;
        break;
      case 'timeout':
        if (n > 0) o.timeoutMs = n * 1000;
        break;
      case 'retries':
        o.retries = n;
        break;
      case 'errors':
        o.maxErrors = n;
        break;
      case 'error-decay':
        if (n > 0) o.errorDecay = n;
        break;
      case 'ack-frequency':
        if (n > 0) o.ackFrequency = n;
        break;
    }
  }
  return o;
}
