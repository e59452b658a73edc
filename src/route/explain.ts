// `uugate route ADDRESS...` (and sendmail -bt/-bv): how each address would be
// routed — which router or director decided and why, the transport, the next
// hop and the rewritten address; alias and list expansions as a tree.
import type { AddressRouter, Provenance, RouteDecision } from './types.js';
import type { Route } from '../deliver/transport.js';
import { EX } from '../util/errors.js';

export interface Explanation {
  text: string;
  exitCode: number;
}

export async function explainAddresses(router: AddressRouter, addrs: string[]): Promise<Explanation> {
  const out: string[] = [];
  let exitCode: number = EX.OK;
  for (const addr of addrs) {
    const code = await explainOne(router, addr, 'envelope', '', out, 0);
    if (code !== EX.OK && exitCode === EX.OK) exitCode = code;
    out.push('');
  }
  return { text: out.join('\n'), exitCode };
}

async function explainOne(router: AddressRouter, addr: string, provenance: Provenance, indent: string, out: string[], depth: number): Promise<number> {
  const d = await router.route({ addr, provenance });
  if (depth === 0) out.push(addr);
  const pad = `${indent}  `;
  if (d.kind === 'deliver') {
    out.push(...describeRoute(d.route, pad));
    return EX.OK;
  }
  if (d.kind === 'fail') {
    out.push(`${pad}FAILS (${d.status}): ${d.reason}`, ...d.why.map((w) => `${pad}  because ${w}`));
    return failureCode(d);
  }
  out.push(`${pad}${d.router}: ${d.why.join('; ')}`);
  let worst: number = EX.OK;
  for (const [i, c] of d.children.entries()) {
    const last = i === d.children.length - 1;
    out.push(`${pad}${last ? '└─' : '├─'} ${c.addr}${c.errorsTo ? `  (errors to ${c.errorsTo})` : ''}`);
    const childPad = `${pad}${last ? '   ' : '│  '}`;
    if (c.error) {
      out.push(`${childPad}  FAILS: ${c.error}`);
      worst = worst || EX.UNAVAILABLE;
      continue;
    }
    const code = depth > 20 ? EX.UNAVAILABLE : await explainOne(router, c.addr, c.provenance, childPad, out, depth + 1);
    worst = worst || code;
  }
  return worst;
}

function describeRoute(r: Route, pad: string): string[] {
  const lines = [`${pad}router:    ${r.router}`, ...r.why.map((w) => `${pad}           ${w}`), `${pad}transport: ${r.transport}`];
  if (r.nextHop) lines.push(`${pad}next hop:  ${r.nextHop}`);
  if (r.destination) lines.push(`${pad}mailbox:   ${r.destination}`);
  if (r.argv) lines.push(`${pad}program:   ${r.argv.join(' ')}`);
  lines.push(`${pad}address:   ${r.address}`);
  return lines;
}

function failureCode(d: Extract<RouteDecision, { kind: 'fail' }>): number {
  if (d.temporary) return EX.TEMPFAIL;
  if (d.status === '5.1.1') return EX.NOUSER;
  if (d.status === '5.1.2') return EX.NOHOST;
  if (d.status === '5.1.3') return EX.DATAERR;
  return EX.UNAVAILABLE;
}
