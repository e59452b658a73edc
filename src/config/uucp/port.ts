// The `port` file: `port NAME` blocks, each a port type and its settings.
import { configError } from '../../util/errors.js';
import { type ConfigLine, addRaw, bool, emptyProtocolParams, num, protocolParameter, splitConfigLines, str, unsupported } from './lines.js';
import type { PortType, UucpPort } from './types.js';

export function newPort(name: string, where: string): UucpPort {
  return { name, type: 'modem', protocolParams: emptyProtocolParams(), raw: {}, where };
}

const PORT_TYPES: ReadonlySet<string> = new Set(['direct', 'modem', 'tcp', 'stdin', 'pipe']);

export function applyPortKeyword(p: UucpPort, l: ConfigLine, warnings: string[]): boolean {
  switch (l.keyword) {
    case 'type': {
      const t = str(l);
      if (!PORT_TYPES.has(t)) {
        if (t === 'tli') warnings.push(`${l.where}: port type "tli" not supported`);
        else throw configError(l.where, `type: unknown port type "${t}"`);
      } else p.type = t as PortType;
      return true;
    }
    case 'device': p.device = str(l); return true;
    case 'speed': case 'baud': p.speed = num(l, 0, { min: 0 }); return true;
    case 'dialer':
      p.dialer = str(l);
      if (l.args.length > 1) p.dialerInline = [...l.args];
      return true;
    case 'service': p.service = str(l); return true;
    case 'address': p.address = str(l); return true;
    case 'command': if (l.args.length === 0) throw configError(l.where, 'command: missing program'); p.command = [...l.args]; return true;
    case 'carrier': p.carrier = bool(l); return true;
    case 'hardflow': p.hardflow = bool(l); return true;
    case 'lockname': p.lockname = str(l); return true;
    case 'protocol': p.protocol = str(l); return true;
    case 'protocol-parameter': protocolParameter(p.protocolParams, l); return true;
    case 'dial-device': case 'dialer-sequence': case 'seven-bit': case 'reliable': case 'half-duplex':
    case 'speed-range': case 'baud-range':
      addRaw(p.raw, l);
      return true;
    default: return false;
  }
}

/** Parses a Taylor `port` file. */
export function parsePortFile(text: string, file: string, warnings: string[]): UucpPort[] {
  const ports: UucpPort[] = [];
  let cur: UucpPort | undefined;
  for (const l of splitConfigLines(text, file)) {
    if (l.keyword === 'port') {
      if (l.args.length !== 1) throw configError(l.where, 'port: need exactly one port name');
      cur = newPort(l.args[0], l.where);
      ports.push(cur);
      continue;
    }
    if (!cur) throw configError(l.where, `${l.keyword}: before the first port command`);
    if (!applyPortKeyword(cur, l, warnings)) unsupported(warnings, l);
  }
  return ports;
}
