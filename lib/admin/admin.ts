import "server-only";
import { revokeOtherSessions, revokeSessionIds } from "../account/sessions";
import { db, isPlausibleId } from "../platform/db";
import { recentAuditEvents, type AuditRecord } from "../security/audit";
import type { ClientContext } from "../security/request";
import { deviceLabel } from "../sessions/device";
import { activeSessionCounts, activeSessions } from "../strategies";
import { isAdmin } from "../users/roles";

/**
 * What administrators see and do: every user, every active session, the
 * audit log, and ending any session. Every function checks the actor's role
 * again (lib/users/roles.ts), whoever called it.
 */

export interface AdminUser {
  id: string;
  email: string;
  name: string | null;
  role: string;
  createdAt: Date;
  activeSessions: number;
}

/** Users (oldest first) with how many active sessions each holds. */
export async function usersForAdmin(now = new Date(), take = 500): Promise<AdminUser[]> {
  const users = await db().user.findMany({
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    take,
    select: {
      id: true,
      email: true,
      name: true,
      role: true,
      createdAt: true,
    },
  });
  const counts = await activeSessionCounts(users.map((user) => user.id), now);
  return users.map((user) => ({ ...user, activeSessions: counts.get(user.id) ?? 0 }));
}

export interface AdminSession {
  id: string;
  userId: string;
  email: string;
  strategy: string;
  device: string;
  ip: string | null;
  createdAt: Date;
  lastSeenAt: Date;
  expires: Date;
}

/** Every active session of every user, newest first. */
export async function activeSessionsForAdmin(now = new Date(), take = 1000): Promise<AdminSession[]> {
  const rows = await activeSessions({ take }, now);
  const ids = [...new Set(rows.map((row) => row.userId))];
  const users = ids.length ? await db().user.findMany({ where: { id: { in: ids } }, select: { id: true, email: true } }) : [];
  const emails = new Map(users.map((user) => [user.id, user.email]));
  return rows.map(({ userAgent, ...row }) => ({ ...row, email: emails.get(row.userId) ?? "(deleted user)", device: deviceLabel(userAgent) }));
}

export interface AdminAuditEntry extends AuditRecord {
  /** The account the event belongs to (by id), else the email the attempt named. */
  who: string | null;
}

/** The most recent audit events of everyone, with the account's email filled in. */
export async function auditLogForAdmin(take = 200): Promise<AdminAuditEntry[]> {
  const events = await recentAuditEvents(take);
  const ids = [...new Set(events.flatMap((event) => (event.userId ? [event.userId] : [])))];
  const users = ids.length ? await db().user.findMany({ where: { id: { in: ids } }, select: { id: true, email: true } }) : [];
  const emails = new Map(users.map((user) => [user.id, user.email]));
  return events.map((event) => ({ ...event, who: (event.userId && emails.get(event.userId)) || event.email }));
}

/**
 * An administrator ends any active session. False when the actor is not an
 * administrator or the id is not an active session; nothing is revoked then.
 */
export async function adminRevokeSession(
  actorId: string,
  sessionId: string,
  context?: ClientContext,
  now = new Date(),
): Promise<{ ok: true; userId: string } | { ok: false }> {
  if (!isPlausibleId(sessionId) || !(await isAdmin(actorId))) return { ok: false };
  const [target] = await activeSessions({ id: sessionId }, now);
  if (!target) return { ok: false };
  const revoked = await revokeSessionIds([target], { by: "admin", reason: "revoked_by_admin", context, actorId, now });
  return revoked === 1 ? { ok: true, userId: target.userId } : { ok: false };
}

/** An administrator ends every active session of one user; null when not allowed or no such user. */
export async function adminRevokeAllSessionsOfUser(
  actorId: string,
  userId: string,
  context?: ClientContext,
  now = new Date(),
): Promise<number | null> {
  if (!isPlausibleId(userId) || !(await isAdmin(actorId))) return null;
  const user = await db().user.findUnique({ where: { id: userId }, select: { id: true } });
  if (!user) return null;
  return revokeOtherSessions(user.id, undefined, { reason: "revoked_by_admin", by: "admin", context, actorId, now });
}
