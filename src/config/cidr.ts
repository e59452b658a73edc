// Address lists for relay control (qmail's tcprules idea): `127.0.0.0/8`,
// `192.168.1.0/24`, `::1/128`, a bare address (= /32 or /128). Entries are
// separated by commas or white space (IPv6 addresses contain colons).
import net from 'node:net';

export interface NetList {
  readonly entries: readonly string[];
  matches(addr: string): boolean;
}

/** Parses and validates a list; throws with the offending entry. */
export function parseCidrList(text: string): string[] {
  const out: string[] = [];
  for (const entry of text.split(/[\s,]+/).filter(Boolean)) {
    const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(entry);
    const family = m ? net.isIP(m[1]) : 0;
    if (!m || !family) throw new Error(`"${entry}" is not an address or CIDR block`);
    const bits = m[2] === undefined ? (family === 4 ? 32 : 128) : Number(m[2]);
    if (bits > (family === 4 ? 32 : 128)) throw new Error(`"${entry}": prefix /${bits} is too long`);
    out.push(`${m[1]}/${bits}`);
  }
  return out;
}

/** `::ffff:1.2.3.4` (an IPv4 client on a dual-stack socket) counts as 1.2.3.4. */
export function plainAddress(addr: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  return m ? m[1] : addr;
}

export function netList(entries: readonly string[]): NetList {
  const list = new net.BlockList();
  for (const e of entries) {
    const [a, bits] = e.split('/');
    const family = net.isIP(a) === 4 ? 'ipv4' : 'ipv6';
    list.addSubnet(a, Number(bits ?? (family === 'ipv4' ? 32 : 128)), family);
  }
  return {
    entries,
    matches(addr: string): boolean {
      const a = plainAddress(addr);
      const family = net.isIP(a);
      if (!family) return false;
      return list.check(a, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

export interface ListenAddress {
  host: string;
  port: number;
}

/** `127.0.0.1:2525`, `[::1]:2525`, `:2525` (all interfaces); several separated by commas or spaces; empty = none. */
export function parseListen(text: string): ListenAddress[] {
  return text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((entry) => {
      const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(entry);
      if (!m) throw new Error(`"${entry}" is not host:port or [v6-address]:port`);
      const host = m[1] ?? m[2] ?? '';
      const port = Number(m[3]);
      if (port < 1 || port > 65535) throw new Error(`"${entry}": port ${port} out of range`);
      if (m[1] !== undefined && net.isIP(m[1]) !== 6) throw new Error(`"${entry}": [${m[1]}] is not an IPv6 address`);
      return { host: host || '0.0.0.0', port };
    });
}
