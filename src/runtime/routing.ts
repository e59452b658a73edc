// Builds the router for a Gateway from its configuration files.
import { createRouter } from '../route/router.js';
import { loadRoutingTables, type RoutingTables, type TableOptions } from '../route/tables.js';
import type { AddressRouter } from '../route/types.js';
import type { Gateway } from './gateway.js';

export interface OpenRouter {
  router: AddressRouter;
  tables: RoutingTables;
  close(): Promise<void>;
}

export async function openRouter(gw: Gateway, opts: Partial<TableOptions> = {}): Promise<OpenRouter> {
  const tables = await loadRoutingTables(gw.cfg, { uucp: gw.uucp, ...opts });
  return { router: createRouter(gw.cfg, tables), tables, close: () => tables.close() };
}
