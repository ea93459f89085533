import { createHash } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';

/**
 * Direct reads of the app's database, to check what the server stored. Works
 * for SQLite (`file:` URLs) and PostgreSQL (`postgresql://` URLs) alike, from
 * the same DATABASE_URL the server under test was started with.
 */

/** What the Session table stores for a cookie token: SHA-256, base64url. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: the e2e suite needs the database of the server under test');
  return url;
}

function sqlitePath(url: string): string {
  const file = url.slice('file:'.length).split('?')[0] ?? '';
  return path.resolve(file);
}

async function queryCount(sql: { sqlite: string; postgres: string }, params: string[]): Promise<number> {
  const url = databaseUrl();
  if (url.startsWith('file:')) {
    const db = new Database(sqlitePath(url), { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare(sql.sqlite).get(...params) as { n: number | bigint } | undefined;
      return Number(row?.n ?? 0);
    } finally {
      db.close();
    }
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const result = await client.query<{ n: number }>(sql.postgres, params);
      return Number(result.rows[0]?.n ?? 0);
    } finally {
      await client.end();
    }
  }
  throw new Error(`unsupported DATABASE_URL: ${url}`);
}

/** Number of Session rows stored for this cookie token (by its hash). */
export function countSessionRows(token: string): Promise<number> {
  return queryCount(
    {
      sqlite: 'SELECT COUNT(*) AS n FROM "Session" WHERE "sessionToken" = ?',
      postgres: 'SELECT COUNT(*)::int AS n FROM "Session" WHERE "sessionToken" = $1',
    },
    [tokenHash(token)],
  );
}

/** Number of Session rows that hold the raw token itself (must always be 0). */
export function countRowsWithRawToken(token: string): Promise<number> {
  return queryCount(
    {
      sqlite: 'SELECT COUNT(*) AS n FROM "Session" WHERE "sessionToken" = ?',
      postgres: 'SELECT COUNT(*)::int AS n FROM "Session" WHERE "sessionToken" = $1',
    },
    [token],
  );
}

/** Number of Session rows of the user with this email. */
export function countSessionRowsForEmail(email: string): Promise<number> {
  return queryCount(
    {
      sqlite: 'SELECT COUNT(*) AS n FROM "Session" s JOIN "User" u ON u."id" = s."userId" WHERE u."email" = ?',
      postgres:
        'SELECT COUNT(*)::int AS n FROM "Session" s JOIN "User" u ON u."id" = s."userId" WHERE u."email" = $1',
    },
    [email],
  );
}

/** Number of User rows with this email. */
export function countUsers(email: string): Promise<number> {
  return queryCount(
    {
      sqlite: 'SELECT COUNT(*) AS n FROM "User" WHERE "email" = ?',
      postgres: 'SELECT COUNT(*)::int AS n FROM "User" WHERE "email" = $1',
    },
    [email],
  );
}

export interface SessionRecord {
  strategy: string;
  sessionToken: string | null;
  revoked: boolean;
}

/** The Session rows of the user with this email (oldest first). */
export async function sessionRecordsForEmail(email: string): Promise<SessionRecord[]> {
  const url = databaseUrl();
  const text = (placeholder: string) =>
    `SELECT s."strategy", s."sessionToken", s."revokedAt" FROM "Session" s JOIN "User" u ON u."id" = s."userId" WHERE u."email" = ${placeholder} ORDER BY s."createdAt"`;
  type Raw = { strategy: string; sessionToken: string | null; revokedAt: unknown };
  let rows: Raw[];
  if (url.startsWith('file:')) {
    const db = new Database(sqlitePath(url), { readonly: true, fileMustExist: true });
    try {
      rows = db.prepare(text('?')).all(email) as Raw[];
    } finally {
      db.close();
    }
  } else {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      rows = (await client.query<Raw>(text('$1'), [email])).rows;
    } finally {
      await client.end();
    }
  }
  return rows.map((row) => ({ strategy: row.strategy, sessionToken: row.sessionToken, revoked: row.revokedAt !== null }));
}

/**
 * Creates an account directly in the app's database, as the seed does: the
 * fixture for tests that need a user of their own but are not about signing
 * up. The hash is an argon2id PHC string made by the same library the app uses.
 */
export async function insertUser(user: { id: string; email: string; name: string; passwordHash: string }): Promise<void> {
  const url = databaseUrl();
  const now = new Date().toISOString();
  if (url.startsWith('file:')) {
    const db = new Database(sqlitePath(url), { fileMustExist: true, timeout: 5000 });
    try {
      db.prepare(
        'INSERT INTO "User" ("id", "email", "name", "passwordHash", "role", "emailVerified", "createdAt", "updatedAt") VALUES (?, ?, ?, ?, \'user\', ?, ?, ?)',
      ).run(user.id, user.email, user.name, user.passwordHash, now, now, now);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      'INSERT INTO "User" ("id", "email", "name", "passwordHash", "role", "emailVerified", "createdAt", "updatedAt") VALUES ($1, $2, $3, $4, \'user\', $5, $5, $6)',
      [user.id, user.email, user.name, user.passwordHash, now, now],
    );
  } finally {
    await client.end();
  }
}

export interface AuditRow {
  event: string;
  ip: string | null;
  detail: Record<string, unknown>;
}

/** The audit events of the user with this email, oldest first. */
export async function auditEventsForEmail(email: string): Promise<AuditRow[]> {
  const url = databaseUrl();
  const text = (placeholder: string) =>
    `SELECT a."event", a."ip", a."detail" FROM "AuditEvent" a JOIN "User" u ON u."id" = a."userId" WHERE u."email" = ${placeholder} ORDER BY a."createdAt", a."id"`;
  type Raw = { event: string; ip: string | null; detail: string | null };
  let rows: Raw[];
  if (url.startsWith('file:')) {
    const db = new Database(sqlitePath(url), { readonly: true, fileMustExist: true });
    try {
      rows = db.prepare(text('?')).all(email) as Raw[];
    } finally {
      db.close();
    }
  } else {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      rows = (await client.query<Raw>(text('$1'), [email])).rows;
    } finally {
      await client.end();
    }
  }
  return rows.map((row) => ({ event: row.event, ip: row.ip, detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : {} }));
}
