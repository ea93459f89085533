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
  /** SHA-256 of the cookie token (database strategy); null for token sessions. */
  tokenHash: string | null;
  strategy: string;
  userId: string;
  createdAt: Date;
  expires: Date;
  lastSeenAt: Date;
  userAgent: string | null;
  ip: string | null;
  revokedAt: Date | null;
  revokedReason: string | null;
  user: SessionUser;
}

const userFields = { id: true, email: true, name: true, role: true } as const;

async function insertSession(data: {
  sessionToken?: string;
  userId: string;
  strategy: string;
  expires: Date;
  context: ClientContext;
  now: Date;
}): Promise<StoredSession> {
  const { context, now, ...fields } = data;
  const row = await db().session.create({
    data: { ...fields, createdAt: now, lastSeenAt: now, userAgent: context.userAgent, ip: context.ip },
    include: { user: { select: userFields } },
  });
  const { sessionToken, ...stored } = row;
  return { ...stored, tokenHash: sessionToken };
}

export async function createSession(
  userId: string,
  context: ClientContext,
  now = new Date(),
): Promise<{ token: string; session: StoredSession }> {
  const token = newOpaqueToken();
  const expires = new Date(now.getTime() + env.SESSION_TTL_SECONDS * 1000);
  const session = await insertSession({ sessionToken: hashToken(token), userId, strategy: "database", expires, context, now });
  return { token, session };
}

const selectSession = `SELECT s."id", s."sessionToken", s."strategy", s."userId", s."createdAt", s."expires", s."lastSeenAt",
         s."userAgent", s."ip", s."revokedAt", s."revokedReason", u."email", u."name", u."role"
    FROM "Session" s JOIN "User" u ON u."id" = s."userId"`;

/**
 * Looks the token up. Unknown, revoked, past its absolute lifetime (`expires`)
 * or idle for longer than SESSION_IDLE_TIMEOUT_SECONDS → null (an expired row
 * is deleted on the way). Sliding renewal: "last seen" — what the idle timeout
 * counts from — is written at most once per SESSION_TOUCH_SECONDS, so a busy
 * session costs one read per request, not a read and a write; it never moves
 * `expires`.
 */
export async function findSession(token: string, now = new Date()): Promise<StoredSession | null> {
  const tokenHash = hashToken(token);
  const [row] = await queryRows(
    `${selectSession} WHERE s."sessionToken" = $1`,
    [tokenHash],
  );
  if (!row) return null;
  const session = toStoredSession(row);
  if (session.revokedAt) return null;
  if (session.expires <= now || isIdle(session, now)) {
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

/**
 * A session whose credentials are tokens (strategy "jwt" for the browser,
 * "api" for a token family): the row is the server-side record their `sid`
 * claim points to, so they can be revoked before they expire.
 */
export async function createTokenSession(
  userId: string,
  strategy: "jwt" | "api",
  context: ClientContext,
  expires: Date,
  now = new Date(),
): Promise<StoredSession> {
  return insertSession({ userId, strategy, expires, context, now });
}

/** The session with this id, revoked or not; null if unknown. */
export async function findSessionById(id: string): Promise<StoredSession | null> {
  const [row] = await queryRows(`${selectSession} WHERE s."id" = $1`, [id]);
  return row ? toStoredSession(row) : null;
}

/**
 * The per-request revocation check for token sessions: one indexed lookup by
 * primary key. Active = exists, not revoked, not expired.
 */
export async function isSessionActive(id: string, now = new Date()): Promise<boolean> {
  return (await activeSessionExpiry(id, now)) !== null;
}

/** When an active token session ends (its absolute lifetime); null if it is revoked, expired or unknown. */
export async function activeSessionExpiry(id: string, now = new Date()): Promise<Date | null> {
  const [row] = await queryRows(`SELECT "revokedAt", "expires" FROM "Session" WHERE "id" = $1`, [id]);
  if (!row || (row.revokedAt !== null && row.revokedAt !== undefined)) return null;
  const expires = parseDbDate(row.expires);
  return expires > now ? expires : null;
}

/**
 * Records activity on a token session, unless it was recorded after `notSince`
 * (conditional, so of concurrent callers one writes). True if this call wrote.
 */
export async function touchSession(id: string, now: Date, notSince: Date): Promise<boolean> {
  const { count } = await db().session.updateMany({ where: { id, revokedAt: null, lastSeenAt: { lt: notSince } }, data: { lastSeenAt: now } });
  return count > 0;
}

/** Marks a session revoked (idempotent); true if this call revoked it. */
export async function revokeSession(id: string, reason: string, now = new Date()): Promise<boolean> {
  const { count } = await db().session.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: now, revokedReason: reason } });
  if (count > 0) log.info("session.revoked", { sessionId: id, reason });
  return count > 0;
}

/** Deletes the session for this token; true if a row was removed. */
export async function deleteSession(token: string): Promise<boolean> {
  const { count } = await db().session.deleteMany({ where: { sessionToken: hashToken(token) } });
  if (count > 0) log.info("session.deleted");
  return count > 0;
}

/**
 * The Prisma filter for sessions that still count: not revoked, before their
 * absolute end, and (database sessions) not idle for too long.
 */
export function activeSessionWhere(now: Date) {
  const idleSince = new Date(now.getTime() - env.SESSION_IDLE_TIMEOUT_SECONDS * 1000);
  return {
    revokedAt: null,
    expires: { gt: now },
    OR: [{ strategy: { not: "database" } }, { lastSeenAt: { gte: idleSince } }],
  };
}

function isIdle(session: { strategy: string; lastSeenAt: Date }, now: Date): boolean {
  return session.strategy === "database" && now.getTime() - session.lastSeenAt.getTime() > env.SESSION_IDLE_TIMEOUT_SECONDS * 1000;
}

/**
 * Removes rows nothing accepts any more: past their absolute lifetime, or
 * database sessions past the idle timeout. Returns how many.
 */
export async function purgeExpiredSessions(now = new Date()): Promise<number> {
  const idleSince = new Date(now.getTime() - env.SESSION_IDLE_TIMEOUT_SECONDS * 1000);
  const { count } = await db().session.deleteMany({
    where: { OR: [{ expires: { lte: now } }, { strategy: "database", lastSeenAt: { lt: idleSince } }] },
  });
  return count;
}

const PURGE_EVERY_MS = 60 * 60 * 1000;
const purgeKey = Symbol.for("session-or-token.last-purge");
type GlobalWithPurge = typeof globalThis & { [purgeKey]?: number };

/**
 * Runs the purge at most once an hour per process, off the request path:
 * called on sign-in, it keeps the table small without a scheduler.
 */
export function purgeExpiredSessionsNowAndThen(now = new Date()): void {
  const holder = globalThis as GlobalWithPurge;
  if (now.getTime() - (holder[purgeKey] ?? 0) < PURGE_EVERY_MS) return;
  holder[purgeKey] = now.getTime();
  purgeExpiredSessions(now).then(
    (count) => count > 0 && log.info("sessions.purged", { count }),
    (error: unknown) => log.warn("sessions.purge_failed", { error }),
  );
}

function text(value: unknown): string {
  if (typeof value !== "string") throw new TypeError("expected a text column");
  return value;
}

function textOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : text(value);
}

function dateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : parseDbDate(value);
}

function toStoredSession(row: Row): StoredSession {
  const userId = text(row.userId);
  return {
    id: text(row.id),
    tokenHash: textOrNull(row.sessionToken),
    strategy: text(row.strategy),
    userId,
    createdAt: parseDbDate(row.createdAt),
    expires: parseDbDate(row.expires),
    lastSeenAt: parseDbDate(row.lastSeenAt),
    userAgent: textOrNull(row.userAgent),
    ip: textOrNull(row.ip),
    revokedAt: dateOrNull(row.revokedAt),
    revokedReason: textOrNull(row.revokedReason),
    user: { id: userId, email: text(row.email), name: textOrNull(row.name), role: text(row.role) },
  };
}
