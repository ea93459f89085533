import "server-only";
import { env } from "../platform/env";
import { nowAndThen } from "../platform/housekeeping";
import { log } from "../platform/log";
import type { ClientContext } from "../security/request";
import { hashToken } from "../tokens/opaque";
import type { Authentication, ActiveFilter, IdleRule, ListedSession, ProviderSessionMatch, RefreshTokenRecord, SessionBackend, SessionUser, SignInOrigin, StoredSession } from "./backend";
import { databaseBackend } from "./database-store";
import { redisBackend } from "./redis-store";

/**
 * The session store: one row per sign-in of any kind (a database session, a
 * browser JWT's server-side record, an API token family), in the database or
 * in Redis (SESSION_STORE; ./backend.ts says what each does). This module is
 * what the rest of the app calls; it knows rows, not kinds.
 */
export type { Authentication, ActiveFilter, IdleRule, ListedSession, ProviderSessionMatch, RefreshTokenRecord, SessionUser, SignInOrigin, StoredSession } from "./backend";
export { isIdle } from "./backend";
export { findSessionUser } from "./profiles";

function backend(): SessionBackend {
  return env.SESSION_STORE === "redis" ? redisBackend : databaseBackend;
}

/**
 * Throws unless everything a signed-in page reads from answers right now: the
 * database (users, roles, the audit trail) and, when the sessions are in
 * Redis, Redis too.
 */
export async function checkStoreReachable(): Promise<void> {
  await databaseBackend.ping();
  if (backend() !== databaseBackend) await backend().ping();
}

/** Which store holds the sessions, for the pages. */
export function sessionStoreName(): "database" | "redis" {
  return backend().name;
}

/** The session store as a participant in the home page's diagrams. */
export function sessionStoreLabel(): string {
  return backend().name === "redis" ? "Redis" : "Database";
}

/** Inserts a session row of the given kind (with the hash of its cookie token, for kinds that use one). */
export function insertSession(data: {
  tokenHash?: string;
  userId: string;
  kind: string;
  expires: Date;
  context: ClientContext;
  now: Date;
  origin?: SignInOrigin;
  authentication?: Authentication;
}): Promise<StoredSession> {
  const { context, ...fields } = data;
  return backend().insert({ ...fields, userAgent: context.userAgent, ip: context.ip });
}

/** The row stored for a cookie token (by its hash), whatever its state; null if unknown. */
export function findSessionByToken(token: string): Promise<StoredSession | null> {
  return findSessionByTokenHash(hashToken(token));
}

/** The same, for a caller that has hashed the token already. */
export function findSessionByTokenHash(tokenHash: string): Promise<StoredSession | null> {
  return backend().findByTokenHash(tokenHash);
}

/** Deletes a session row by id (an expired or idle one, found on the way). */
export async function deleteSessionById(id: string): Promise<void> {
  await backend().deleteById(id);
}

/**
 * Sliding renewal of "last seen" (what an idle timeout counts from), written
 * at most once per SESSION_TOUCH_SECONDS so a busy session costs one read per
 * request, not a read and a write. Conditional: of concurrent requests, one
 * writes, the rest match nothing. Returns the value now in force.
 */
export async function recordActivity(session: StoredSession, now: Date): Promise<Date> {
  if (now.getTime() - session.lastSeenAt.getTime() < env.SESSION_TOUCH_SECONDS * 1000) return session.lastSeenAt;
  await backend().recordActivity(session.id, session.lastSeenAt, now);
  return now;
}

/**
 * A session whose credentials are tokens (a browser JWT, an API token
 * family): the row is the server-side record their `sid` claim points to, so
 * they can be revoked before they expire.
 */
export function createTokenSession(
  userId: string,
  kind: string,
  context: ClientContext,
  expires: Date,
  now = new Date(),
  origin?: SignInOrigin,
  authentication?: Authentication,
): Promise<StoredSession> {
  return insertSession({ userId, kind, expires, context, now, origin, authentication });
}

/** The session with this id, revoked or not; null if unknown. */
export function findSessionById(id: string): Promise<StoredSession | null> {
  return backend().findById(id);
}

/** The per-request revocation check for token sessions (strict mode): active = exists, not revoked, not expired. */
export async function isSessionActive(id: string, now = new Date()): Promise<boolean> {
  return (await activeSessionExpiry(id, now)) !== null;
}

/** When an active token session ends (its absolute lifetime); null if it is revoked, expired or unknown. */
export function activeSessionExpiry(id: string, now = new Date()): Promise<Date | null> {
  return backend().activeExpiry(id, now);
}

/**
 * The per-request check of a browser JWT in strict mode: one read of its
 * session, which also supplies the name and e-mail the token no longer
 * carries. Null if the session is revoked, expired, unknown, or belongs to
 * another user than `userId`.
 */
export function activeSessionUser(id: string, userId: string, now = new Date()): Promise<SessionUser | null> {
  return backend().activeUser(id, userId, now);
}

/**
 * Records activity on a token session, unless it was recorded after `notSince`
 * (conditional, so of concurrent callers one writes). True if this call wrote.
 */
export function touchSession(id: string, now: Date, notSince: Date): Promise<boolean> {
  return backend().touch(id, now, notSince);
}

/** Records a confirmation on an active session (its new authentication time); false if it is revoked, expired or unknown. */
export function recordAuthentication(id: string, authentication: Authentication, now = new Date()): Promise<boolean> {
  return backend().recordAuthentication(id, authentication, now);
}

/** Marks a session revoked (idempotent) and pushes that to every instance; true if this call revoked it. */
export async function revokeSession(id: string, reason: string, now = new Date()): Promise<boolean> {
  const revoked = await backend().revoke(id, reason, now);
  if (revoked) log.info("session.revoked", { sessionId: id, reason });
  return revoked;
}

/**
 * Revokes every active session started from a provider session (back-channel
 * logout), through the same path as any revocation (announced on the feed, so
 * pushed mode pushes it). The ids it revoked.
 */
export async function revokeProviderSessions(match: ProviderSessionMatch, reason: string, now = new Date()): Promise<string[]> {
  const ids = await backend().findByProviderSession(match, now);
  const revoked: string[] = [];
  for (const id of ids) if (await revokeSession(id, reason, now)) revoked.push(id);
  return revoked;
}

/** Deletes the session for this cookie token; true if one was removed. */
export async function deleteSession(token: string): Promise<boolean> {
  const removed = await backend().deleteByTokenHash(hashToken(token));
  if (removed) log.info("session.deleted");
  return removed;
}

/** Active sessions (not revoked, before their end, not idle for longer than their kind allows), newest first. */
export function listActiveSessions(filter: ActiveFilter, idleRules: readonly IdleRule[], now = new Date()): Promise<ListedSession[]> {
  return backend().listActive(filter, now, idleRules);
}

/** How many active sessions each of these users holds (users without any are absent). */
export function countActiveSessions(userIds: string[], idleRules: readonly IdleRule[], now = new Date()): Promise<Map<string, number>> {
  return userIds.length === 0 ? Promise.resolve(new Map()) : backend().countActive(userIds, now, idleRules);
}

/** Removes rows nothing accepts any more (past their end, or idle too long). Returns how many. */
export function purgeExpiredSessions(idleRules: readonly IdleRule[], now = new Date()): Promise<number> {
  return backend().purgeExpired(idleRules, now);
}

const PURGE_EVERY_MS = 60 * 60 * 1000;

/** Runs the purge at most once an hour per process, off the request path (called on sign-in). */
export function purgeExpiredSessionsNowAndThen(idleRules: readonly IdleRule[], now = new Date()): void {
  nowAndThen("sessions.purge", PURGE_EVERY_MS, now, () => purgeExpiredSessions(idleRules, now));
}

// ---- refresh tokens of API token families (stored as hashes, in the same store as their family)

/** Stores a refresh token; false if one with this hash exists already (a concurrent refresh won). */
export function createRefreshToken(data: { token: string; sessionId: string; createdAt: Date; expiresAt: Date }): Promise<boolean> {
  const { token, ...rest } = data;
  return backend().createRefreshToken({ ...rest, tokenHash: hashToken(token) });
}

export function findRefreshToken(token: string): Promise<RefreshTokenRecord | null> {
  return backend().findRefreshToken(hashToken(token));
}

export function markRefreshTokenUsed(token: string, now: Date): Promise<void> {
  return backend().markRefreshTokenUsed(hashToken(token), now);
}
