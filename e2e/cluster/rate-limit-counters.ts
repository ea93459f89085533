import { Redis } from 'ioredis';
import pg from 'pg';

// Where the cluster's rate-limit counters are, read past the app: in Redis when the
// instances have REDIS_URL (scripts/test.mjs hands it over), otherwise in the
// RateLimit table. For specs that check what was counted, whichever store is on.

export interface Counter {
  key: string;
  count: number;
}

const REDIS_PREFIX = 'rate-limit:';

export const redisUrl = (): string | null => process.env.REDIS_URL || null;

/** A connection of the spec's own to the cluster's Redis, closed after `work`. */
export async function withRedis<T>(work: (client: Redis) => Promise<T>): Promise<T> {
  const url = redisUrl();
  if (!url) throw new Error('REDIS_URL is not set: the cluster runs without Redis');
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    client.disconnect();
  }
}

export async function sql<Row>(text: string, params: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as Row[];
  } finally {
    await client.end();
  }
}

/** Counters whose key (without the Redis prefix) starts with `prefix`, e.g. "signin:ip:". */
export async function rateLimitCounters(prefix: string): Promise<Counter[]> {
  if (!redisUrl()) {
    const rows = await sql<{ key: string; count: number }>('SELECT "key", "count" FROM "RateLimit" WHERE starts_with("key", $1)', [prefix]);
    return rows.map((row) => ({ key: row.key, count: Number(row.count) }));
  }
  return withRedis(async (client) => {
    const keys: string[] = [];
    for await (const batch of client.scanStream({ match: `${REDIS_PREFIX}${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, count: 500 })) keys.push(...(batch as string[]));
    const counts = await Promise.all(keys.map((key) => client.hget(key, 'count')));
    return keys.map((key, index) => ({ key: key.slice(REDIS_PREFIX.length), count: Number(counts[index]) }));
  });
}
