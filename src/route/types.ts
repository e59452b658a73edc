// What a router or director says about one recipient address.
import type { Route } from '../deliver/transport.js';

/** Where an address came from; programs and files are honoured only from trusted sources. */
export type Provenance = 'envelope' | 'aliases' | 'forward' | 'include' | 'list';

export interface RouteRequest {
  addr: string;
  provenance?: Provenance;
}


export interface ChildRecipient {
  addr: string;
  provenance: Provenance;
  /** Errors for this child's delivery go here (owner-NAME). */
  errorsTo?: string;
  /** Set when the expansion itself failed for this entry (loop, unsafe include): it fails at once. */
  error?: string;
}

export type RouteDecision =
  | { kind: 'deliver'; route: Route }
  | { kind: 'expand'; children: ChildRecipient[]; router: string; why: string[] }
  | { kind: 'fail'; temporary: boolean; status: string; reason: string; router: string; why: string[] };

export interface AddressRouter {
  route(req: RouteRequest): Promise<RouteDecision>;
}

export const failRoute = (router: string, status: string, reason: string, why: string[] = [], temporary = false): RouteDecision => ({
  kind: 'fail',
  temporary,
  status,
  reason,
  router,
  why,
});
