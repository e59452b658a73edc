// 8-bit mail for a next hop that takes 7-bit only: made 7-bit
// (message/eight-bit.ts), or refused for every recipient when it cannot be.
// The smtp transport asks when a server does not offer 8BITMIME; the UUCP
// transports (uux, bsmtp) for neighbours named in seven_bit_neighbors.
import { hasEightBit, toSevenBit } from '../message/eight-bit.js';
import { perm, type DeliveryResult } from './transport.js';

/** `data` as `hop` (named in reasons) can take it, or the bounces of `rcpts`. */
export async function sevenBitFor(hop: string, data: Buffer, rcpts: string[]): Promise<{ data: Buffer } | { results: DeliveryResult[] }> {
  if (!hasEightBit(data)) return { data };
  const converted = await toSevenBit(data);
  if ('data' in converted) return converted;
  return { results: rcpts.map((r) => perm(r, `${hop} does not take 8-bit mail and the message cannot be converted: ${converted.error}`, '5.6.3')) };
}

/** True when the UUCP neighbour `name` is listed in seven_bit_neighbors. */
export const sevenBitNeighbour = (cfg: { seven_bit_neighbors: readonly string[] }, name: string): boolean => cfg.seven_bit_neighbors.some((n) => n.toLowerCase() === name.toLowerCase());
