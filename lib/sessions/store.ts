import "server-only";
import { db, parseDbDate, queryRows, type Row } from "../platform/db";
import { env } from "../platform/env";
import { nowAndThen } from "../platform/housekeeping";
import { log } from "../platform/log";
import type { ClientContext } from "../security/request";
import { hashToken } from "../tokens/opaque";

/**
 * The Session table: one row per sign-in of any kind (a database session, a
 * browser JWT's server-side record, an API token family). This module knows
 * rows, not kinds: the `strategy` column holds the kind's name, and the
 * per-kind rules (which kinds time out when idle) come in as arguments from
 * lib/strategies. Tokens are never stored, only their SHA-256.
 */
export interface SessionUser {
  id: string;
  email: string;
  name: string | null;
}

/** Kinds whose sessions end after this long without use (database sessions). */
export interface IdleRule {
  kind: string;
  idleTimeoutSeconds: number;
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

const userFields = { id: true, email: true, name: true } as const;

/** Inserts a session row of the given kind (with the hash of its cookie token, for kinds that use one). */
export async function insertSession(data: {
  tokenHash?: string;
  userId: string;
  kind: string;
  expires: Date;
  context: ClientContext;
  now: Date;
}): Promise<StoredSession> {
  const { context, now, tokenHash, kind, ...fields } = data;
  const row = await db().session.create({
    data: { ...fields, sessionToken: tokenHash, strategy: kind, createdAt: now, lastSeenAt: now, userAgent: context.userAgent, ip: context.ip },
    include: { user: { select: userFields } },
  });
  const { sessionToken, ...stored } = row;
  return { ...stored, tokenHash: sessionToken };
}

const selectSession = `SELECT s."id", s."sessionToken", s."strategy", s."userId", s."createdAt", s."expires", s."lastSeenAt",
         s."userAgent", s."ip", s."revokedAt", s."revokedReason", u."email", u."name"
    FROM "Session" s JOIN "User" u ON u."id" = s."userId"`;

/** The row stored for a cookie token (by its hash), whatever its state; null if unknown. */
export async function findSessionByToken(token: string): Promise<StoredSession | null> {
  const [row] = await queryRows(`${selectSession} WHERE s."sessionToken" = $1`, [hashToken(token)]);
  return row ? toStoredSession(row) : null;
}

/** Deletes a session row by id (an expired or idle one, found on the way). */
export async function deleteSessionById(id: string): Promise<void> {
  await db().session.deleteMany({ where: { id } });
}

/**
 * Sliding renewal of "last seen" (what an idle timeout counts from), written
 * at most once per SESSION_TOUCH_SECONDS so a busy session costs one read per
 * request, not a read and a write. Conditional: of concurrent requests, one
 * writes, the rest match nothing. Returns the value now in force.
 */
export async function recordActivity(session: StoredSession, now: Date): Promise<Date> {
  if (now.getTime() - session.lastSeenAt.getTime() < env.SESSION_TOUCH_SECONDS * 1000) return session.lastSeenAt;
  await db().session.updateMany({ where: { id: session.id, lastSeenAt: session.lastSeenAt }, data: { lastSeenAt: now } });
  return now;
}

/**
 * A session whose credentials are tokens (a browser JWT, an API token
 * family): the row is the server-side record their `sid` claim points to, so
 * they can be revoked before they expire.
 */
export async function createTokenSession(
  userId: string,
  kind: string,
  context: ClientContext,
  expires: Date,
  now = new Date(),
): Promise<StoredSession> {
  return insertSession({ userId, kind, expires, context, now });
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
 * The per-request check of a browser JWT in strict mode: the same single
 * primary-key read as `activeSessionExpiry`, joined with the user's row, which
 * supplies the name and e-mail the token no longer carries. Null if the
 * session is revoked, expired, unknown, or belongs to another user than `userId`.
 */
export async function activeSessionUser(id: string, userId: string, now = new Date()): Promise<SessionUser | null> {
  const [row] = await queryRows(
    `SELECT s."revokedAt", s."expires", s."userId", u."email", u."name" FROM "Session" s JOIN "User" u ON u."id" = s."userId" WHERE s."id" = $1`,
    [id],
  );
  if (!row || (row.revokedAt !== null && row.revokedAt !== undefined) || row.userId !== userId) return null;
  if (parseDbDate(row.expires) <= now) return null;
  return { id: userId, email: text(row.email), name: textOrNull(row.name) };
}

/** A user's id, e-mail and name by primary key; null if there is no such user. */
export async function findSessionUser(userId: string): Promise<SessionUser | null> {
  const [row] = await queryRows(`SELECT "email", "name" FROM "User" WHERE "id" = $1`, [userId]);
  return row ? { id: userId, email: text(row.email), name: textOrNull(row.name) } : null;
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

function idleSince(now: Date, rule: IdleRule): Date {
  return new Date(now.getTime() - rule.idleTimeoutSeconds * 1000);
}

/**
 * The Prisma filter for sessions that still count: not revoked, before their
 * absolute end, and not idle for longer than their kind allows.
 */
export function activeSessionWhere(now: Date, idleRules: readonly IdleRule[]) {
  return {
    revokedAt: null,
    expires: { gt: now },
    AND: idleRules.map((rule) => ({ OR: [{ strategy: { not: rule.kind } }, { lastSeenAt: { gte: idleSince(now, rule) } }] })),
  };
}

/** True if the session has been unused for longer than its kind allows. */
export function isIdle(session: { strategy: string; lastSeenAt: Date }, now: Date, idleRules: readonly IdleRule[]): boolean {
  const rule = idleRules.find((candidate) => candidate.kind === session.strategy);
  return rule !== undefined && session.lastSeenAt < idleSince(now, rule);
}

/**
 * Removes rows nothing accepts any more: past their absolute lifetime, or
 * idle for longer than their kind allows. Returns how many.
 */
export async function purgeExpiredSessions(idleRules: readonly IdleRule[], now = new Date()): Promise<number> {
  const { count } = await db().session.deleteMany({
    where: { OR: [{ expires: { lte: now } }, ...idleRules.map((rule) => ({ strategy: rule.kind, lastSeenAt: { lt: idleSince(now, rule) } }))] },
  });
  return count;
}

const PURGE_EVERY_MS = 60 * 60 * 1000;

/** Runs the purge at most once an hour per process, off the request path (called on sign-in). */
export function purgeExpiredSessionsNowAndThen(idleRules: readonly IdleRule[], now = new Date()): void {
  nowAndThen("sessions.purge", PURGE_EVERY_MS, now, () => purgeExpiredSessions(idleRules, now));
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
    user: { id: userId, email: text(row.email), name: textOrNull(row.name) },
  };
}
