import { type APIResponse } from '@playwright/test';

// The cluster the specs run against (scripts/test.mjs, step "cluster"): each
// instance's id (also its X-Instance header) and its own address, for requests
// that must reach one instance in particular; the rest goes through nginx.

export interface Instance {
  id: string;
  url: string;
}

export const INSTANCES: Instance[] = JSON.parse(process.env.E2E_CLUSTER_INSTANCES ?? '[]') as Instance[];
export const IDS = INSTANCES.map((instance) => instance.id).sort();

/** The instance that answered (X-Instance, server.mjs). */
export const instanceOf = (response: APIResponse) => response.headers()['x-instance'];

/** A session of any kind: the two browser strategies and API token families. */
export type Kind = 'database' | 'jwt' | 'api';

/** What /api/health answers; `revocationFeed` in pushed revocation mode. */
export interface Health {
  ok: boolean;
  revocationFeed?: { live: boolean; fallbacks: number };
}
