// What the UUCP transports (uux, bsmtp) check before queueing a job for a neighbour:
// that the route names a system in uucp/sys, and which addresses can be carried.
import path from 'node:path';
import { perm, temp, type DeliveryResult, type RoutedRecipient, type TransportContext } from './transport.js';
import type { UucpSystem } from '../config/uucp/types.js';

export type NeighbourLookup = { system: UucpSystem; results?: undefined } | { system?: undefined; results: DeliveryResult[] };

/** The neighbour `hop` from uucp/sys, or the per-recipient failures explaining why there is none. */
export async function findNeighbour(transport: string, ctx: Pick<TransportContext, 'loc' | 'uucp'>, hop: string, rcpts: RoutedRecipient[]): Promise<NeighbourLookup> {
  const { uucpDir } = ctx.loc;
  const fail = (f: typeof perm, why: string, status: string): NeighbourLookup => ({ results: rcpts.map((r) => f(r.rcpt, why, status)) });
  if (!hop) return fail(perm, `${transport} transport: route names no UUCP neighbour`, '5.3.5');
  let system: UucpSystem | undefined;
  try {
    system = (await ctx.uucp()).findSystem(hop);
  } catch (err) {
    return fail(temp, `${transport} transport: cannot read ${uucpDir}: ${(err as Error).message}`, '4.3.5');
  }
  if (!system) return fail(perm, `unknown UUCP neighbour "${hop}" (not in ${path.join(uucpDir, 'sys')})`, '5.4.4');
  return { system };
}

/** Splits recipients into those `problem` accepts and permanent failures for the others. */
export function carriable(rcpts: RoutedRecipient[], problem: (addr: string) => string | undefined): { good: RoutedRecipient[]; results: DeliveryResult[] } {
  const good: RoutedRecipient[] = [];
  const results: DeliveryResult[] = [];
  for (const r of rcpts) {
    const why = problem(r.route.address);
    if (why) results.push(perm(r.rcpt, why, '5.1.3'));
    else good.push(r);
  }
  return { good, results };
}
