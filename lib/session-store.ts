import "server-only";
import { db, parseDbDate, queryRows, type Row } from "./db";
import { env } from "./env";
import { log } from "./log";
import { hashToken, newOpaqueToken, type ClientContext } from "./security";

/**
 * Server-side sessions. The browser holds a random token; the table holds only
 * its SHA-256, so a leaked database (or backup) cannot be replayed as cookies.
 */
export interface SessionUser {
  id: string;
  email: string;
  name: string | null;
  role: string;
}

export interface StoredSession {
  id: string;
  tokenHash: string;
  strategy: string;
  userId: string;
  createdAt: Date;
  expires: Date;
  lastSeenAt: Date;
  userAgent: string | null;
  ip: string | null;
  user: SessionUser;
}

const userFields = { id: true, email: true, name: true, role: true } as const;

export async function createSession(
  userId: string,
  context: ClientContext,
  now = new Date(),
): Promise<{ token: string; session: StoredSession }> {
  const token = newOpaqueToken();
  const tokenHash = hashToken(token);
  const row = await db().session.create({
    data: {
      sessionToken: tokenHash,
      userId,
      strategy: "database",
      createdAt: now,
      lastSeenAt: now,
      expires: new Date(now.getTime() + env.SESSION_TTL_SECONDS * 1000),
      userAgent: context.userAgent,
      ip: context.ip,
    },
    include: { user: { select: userFields } },
  });
  const { sessionToken: _hash, ...stored } = row;
  return { token, session: { ...stored, tokenHash } };
}

/**
 * Looks the token up. Unknown or expired → null (an expired row is deleted on
 * the way). "Last seen" is written at most once per SESSION_TOUCH_SECONDS, so a
 * busy session costs one read per request, not a read and a write.
 */
export async function findSession(token: string, now = new Date()): Promise<StoredSession | null> {
  const tokenHash = hashToken(token);
  const [row] = await queryRows(
    `SELECT s."id", s."strategy", s."userId", s."createdAt", s."expires", s."lastSeenAt", s."userAgent", s."ip",
            u."email", u."name", u."role"
       FROM "Session" s JOIN "User" u ON u."id" = s."userId"
      WHERE s."sessionToken" = $1`,
    [tokenHash],
  );
  if (!row) return null;
  const session = toStoredSession(row, tokenHash);
  if (session.expires <= now) {
    await db().session.deleteMany({ where: { id: session.id } });
    return null;
  }
  if (now.getTime() - session.lastSeenAt.getTime() >= env.SESSION_TOUCH_SECONDS * 1000) {
    // Conditional update: of concurrent requests, one writes, the rest match nothing.
    await db().session.updateMany({ where: { id: session.id, lastSeenAt: session.lastSeenAt }, data: { lastSeenAt: now } });
    session.lastSeenAt = now;
  }
  return session;
}

/** Deletes the session for this token; true if a row was removed. */
export async function deleteSession(token: string): Promise<boolean> {
  const { count } = await db().session.deleteMany({ where: { sessionToken: hashToken(token) } });
  if (count > 0) log.info("session.deleted");
  return count > 0;
}

/** Removes expired rows; returns how many. */
export async function purgeExpiredSessions(now = new Date()): Promise<number> {
  const { count } = await db().session.deleteMany({ where: { expires: { lte: now } } });
  return count;
}

function text(value: unknown): string {
  if (typeof value !== "string") throw new TypeError("expected a text column");
  return value;
}

function textOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : text(value);
}

function toStoredSession(row: Row, tokenHash: string): StoredSession {
  const userId = text(row.userId);
  return {
    id: text(row.id),
    tokenHash,
    strategy: text(row.strategy),
    userId,
    createdAt: parseDbDate(row.createdAt),
    expires: parseDbDate(row.expires),
    lastSeenAt: parseDbDate(row.lastSeenAt),
    userAgent: textOrNull(row.userAgent),
    ip: textOrNull(row.ip),
    user: { id: userId, email: text(row.email), name: textOrNull(row.name), role: text(row.role) },
  };
}
