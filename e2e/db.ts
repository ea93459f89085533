import { createHash, randomBytes } from 'node:crypto';
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

/**
 * Runs one statement on the server's database, SQLite or PostgreSQL. The text
 * is written with PostgreSQL placeholders ($1, $2 …, each used once, in order);
 * for SQLite they become `?`.
 */
async function run<Row>(text: string, params: unknown[], options: { write?: boolean } = {}): Promise<Row[]> {
  const url = databaseUrl();
  if (url.startsWith('file:')) {
    const db = new Database(sqlitePath(url), { readonly: !options.write, fileMustExist: true, timeout: 5000 });
    try {
      const statement = db.prepare(text.replace(/\$\d+/g, '?'));
      if (options.write) {
        statement.run(...params);
        return [];
      }
      return statement.all(...params) as Row[];
    } finally {
      db.close();
    }
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(text, params)).rows as Row[];
    } finally {
      await client.end();
    }
  }
  throw new Error(`unsupported DATABASE_URL: ${url}`);
}

/** A `SELECT COUNT(*) AS n …` (PostgreSQL returns it as text). */
async function queryCount(text: string, params: string[]): Promise<number> {
  const [row] = await run<{ n: number | bigint | string }>(text, params);
  return Number(row?.n ?? 0);
}

/** Number of Session rows stored for this cookie token (by its hash). */
export function countSessionRows(token: string): Promise<number> {
  return queryCount(
    'SELECT COUNT(*) AS n FROM "Session" WHERE "sessionToken" = $1',
    [tokenHash(token)],
  );
}

/** Number of Session rows that hold the raw token itself (must always be 0). */
export function countRowsWithRawToken(token: string): Promise<number> {
  return queryCount(
    'SELECT COUNT(*) AS n FROM "Session" WHERE "sessionToken" = $1',
    [token],
  );
}

/** Number of Session rows of the user with this email. */
export function countSessionRowsForEmail(email: string): Promise<number> {
  return queryCount(
    'SELECT COUNT(*) AS n FROM "Session" s JOIN "User" u ON u."id" = s."userId" WHERE u."email" = $1',
    [email],
  );
}

/** Number of User rows with this email. */
export function countUsers(email: string): Promise<number> {
  return queryCount(
    'SELECT COUNT(*) AS n FROM "User" WHERE "email" = $1',
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
  const rows = await run<{ strategy: string; sessionToken: string | null; revokedAt: unknown }>(
    'SELECT s."strategy", s."sessionToken", s."revokedAt" FROM "Session" s JOIN "User" u ON u."id" = s."userId" WHERE u."email" = $1 ORDER BY s."createdAt"',
    [email],
  );
  return rows.map((row) => ({ strategy: row.strategy, sessionToken: row.sessionToken, revoked: row.revokedAt !== null }));
}

/**
 * Creates an account directly in the app's database, as the seed does: the
 * fixture for tests that need a user of their own but are not about signing
 * up. The hash is an argon2id PHC string made by the same library the app uses.
 */
export async function insertUser(user: { id: string; email: string; name: string; passwordHash: string }): Promise<void> {
  const now = new Date().toISOString();
  await run(
    'INSERT INTO "User" ("id", "email", "name", "passwordHash", "role", "emailVerified", "createdAt", "updatedAt") VALUES ($1, $2, $3, $4, \'user\', $5, $6, $7)',
    [user.id, user.email, user.name, user.passwordHash, now, now, now],
    { write: true },
  );
}

/** Makes the account with this email an administrator (for a test's own admin; the seeded one is shared by every worker). */
export async function grantAdminRole(email: string): Promise<void> {
  await run('UPDATE "User" SET "role" = \'admin\' WHERE "email" = $1', [email], { write: true });
}

export interface AuditRow {
  event: string;
  ip: string | null;
  detail: Record<string, unknown>;
}

/** The audit events of the user with this email, oldest first. */
export async function auditEventsForEmail(email: string): Promise<AuditRow[]> {
  const rows = await run<{ event: string; ip: string | null; detail: string | null }>(
    'SELECT a."event", a."ip", a."detail" FROM "AuditEvent" a JOIN "User" u ON u."id" = a."userId" WHERE u."email" = $1 ORDER BY a."createdAt", a."id"',
    [email],
  );
  return rows.map((row) => ({ event: row.event, ip: row.ip, detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : {} }));
}

/**
 * The Playwright lock (test.describe.configure) every spec holds while it runs lab experiments from
 * this machine's address: the server runs one at a time per address, and labLeftovers must not see
 * another spec's run in flight.
 */
export const LAB_RUNS = 'comparison-lab-runs';

/**
 * What is left of the comparison lab's throwaway accounts (addresses under
 * this domain): users, their sessions, and audit rows that name them.
 */
export async function labLeftovers(domain: string): Promise<{ users: number; sessions: number; auditEvents: number }> {
  const pattern = `%@${domain}`;
  return {
    users: await queryCount('SELECT COUNT(*) AS n FROM "User" WHERE "email" LIKE $1', [pattern]),
    sessions: await queryCount('SELECT COUNT(*) AS n FROM "Session" s JOIN "User" u ON u."id" = s."userId" WHERE u."email" LIKE $1', [pattern]),
    auditEvents: await queryCount('SELECT COUNT(*) AS n FROM "AuditEvent" a LEFT JOIN "User" u ON u."id" = a."userId" WHERE a."email" LIKE $1 OR u."email" LIKE $2', [pattern, pattern]),
  };
}

/** Number of provider identities stored for (issuer, subject) (Account: provider = issuer, providerAccountId = subject). */
export function countProviderAccounts(issuer: string, subject: string): Promise<number> {
  return queryCount('SELECT COUNT(*) AS n FROM "Account" WHERE "provider" = $1 AND "providerAccountId" = $2', [issuer, subject]);
}

/** Links a provider identity to an account directly in the database (no provider session in any browser). */
export async function insertProviderAccount(userId: string, issuer: string, subject: string): Promise<void> {
  await run(
    'INSERT INTO "Account" ("id", "userId", "type", "provider", "providerAccountId") VALUES ($1, $2, \'oidc\', $3, $4)',
    [`e2e${randomBytes(12).toString('hex')}`, userId, issuer, subject],
    { write: true },
  );
}

export interface SessionOrigin {
  strategy: string;
  signInMethod: string | null;
  idpIssuer: string | null;
  idpSubject: string | null;
  idpSessionId: string | null;
}

/** How each Session row of the user with this email was signed in to (oldest first). */
export function sessionOriginsForEmail(email: string): Promise<SessionOrigin[]> {
  return run<SessionOrigin>(
    'SELECT s."strategy", s."signInMethod", s."idpIssuer", s."idpSubject", s."idpSessionId" FROM "Session" s JOIN "User" u ON u."id" = s."userId" WHERE u."email" = $1 ORDER BY s."createdAt"',
    [email],
  );
}

/** Why each of the user's sessions was revoked (null: not revoked), oldest first. */
export async function sessionRevocationsForEmail(email: string): Promise<(string | null)[]> {
  const rows = await run<{ revokedReason: string | null }>(
    'SELECT s."revokedReason" FROM "Session" s JOIN "User" u ON u."id" = s."userId" WHERE u."email" = $1 ORDER BY s."createdAt"',
    [email],
  );
  return rows.map((row) => row.revokedReason);
}

/** Whether the user with this email has a password (false: provider-only account). */
export async function hasPassword(email: string): Promise<boolean> {
  const [row] = await run<{ passwordHash: string | null }>('SELECT "passwordHash" FROM "User" WHERE "email" = $1', [email]);
  return Boolean(row?.passwordHash);
}

/** Moves the recorded authentication time of every session of this user `seconds` into the past (step-up tests). */
export async function ageAuthentication(email: string, seconds: number): Promise<void> {
  const rows = await run<{ id: string; authTime: unknown }>(
    'SELECT s."id", s."authTime" FROM "Session" s JOIN "User" u ON u."id" = s."userId" WHERE u."email" = $1',
    [email],
  );
  for (const row of rows) {
    if (row.authTime === null) continue;
    // Written back in the representation the driver read (SQLite: text or epoch milliseconds; PostgreSQL: a Date).
    const time = row.authTime instanceof Date ? row.authTime : typeof row.authTime === 'number' ? new Date(row.authTime) : new Date(String(row.authTime));
    const aged = new Date(time.getTime() - seconds * 1000);
    const value = typeof row.authTime === 'number' ? aged.getTime() : row.authTime instanceof Date ? aged : aged.toISOString();
    await run('UPDATE "Session" SET "authTime" = $1 WHERE "id" = $2', [value, row.id], { write: true });
  }
}
