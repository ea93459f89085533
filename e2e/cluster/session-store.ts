import { sql, withRedis } from './rate-limit-counters';

// Where the cluster keeps its sessions (scripts/test.mjs hands the choice over in
// E2E_SESSION_STORE): read past the app, in PostgreSQL or in Redis, for specs
// that check what was stored or that cut the revocation feed's connections.

export const sessionStore = (): 'database' | 'redis' => (process.env.E2E_SESSION_STORE === 'redis' ? 'redis' : 'database');

/** Unrevoked, unexpired sessions of these accounts (by e-mail), in whichever store holds them. */
export async function storedSessionCount(emails: string[]): Promise<number> {
  if (sessionStore() === 'database') {
    const [row] = await sql<{ n: string }>(
      'SELECT COUNT(*) AS n FROM "Session" s JOIN "User" u ON u."id" = s."userId" WHERE u."email" = ANY($1) AND s."revokedAt" IS NULL AND s."expires" > now()',
      [emails],
    );
    return Number(row?.n);
  }
  const users = await sql<{ id: string }>('SELECT "id" FROM "User" WHERE "email" = ANY($1)', [emails]);
  return withRedis(async (client) => {
    let count = 0;
    for (const { id } of users) {
      for (const sessionId of await client.zrangebyscore(`sot:user-sessions:${id}`, `(${Date.now()}`, '+inf')) {
        const revokedAt = await client.hget(`sot:session:${sessionId}`, 'revokedAt');
        if (revokedAt === '') count += 1;
      }
    }
    return count;
  });
}

/**
 * Cuts every instance's revocation-feed connection, as a restart of the store or
 * a network blip would: PostgreSQL's LISTEN backends, or Redis's pub/sub clients.
 * Returns how many were cut.
 */
export async function cutFeedConnections(): Promise<number> {
  if (sessionStore() === 'database') {
    const rows = await sql<{ terminated: boolean }>(
      `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN %'`,
    );
    return rows.filter((row) => row.terminated).length;
  }
  return withRedis(async (client) => Number(await client.call('CLIENT', 'KILL', 'TYPE', 'pubsub')));
}
