// Whether a listening address stays on this host: the status listener needs a
// password off loopback, and `uugate check` says so before the daemon does.
import net from 'node:net';

export function isLoopback(host: string): boolean {
  return host === 'localhost' || (net.isIPv4(host) && host.startsWith('127.')) || host === '::1';
}
