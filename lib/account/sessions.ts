import "server-only";
import { isPlausibleId } from "../platform/db";
import { audit } from "../security/audit";
import type { ClientContext } from "../security/request";
import { deviceLabel } from "../sessions/device";
import { revokeSession } from "../sessions/store";
import { activeSessions } from "../strategies";

/**
 * A user's own account: the sessions they hold (every kind — database
 * sessions, browser JWTs, API token families), ending them, and changing the
 * password (./password.ts). Every function takes the acting user's id and only ever touches
 * that user's rows: ownership is part of each query, so a forged session id
 * matches nothing.
 */

export interface AccountSession {
  id: string;
  /** The session's kind (its label comes from lib/strategies). */
  strategy: string;
  /** "Chrome on Linux", or "Unknown device". */
  device: string;
  userAgent: string | null;
  ip: string | null;
  createdAt: Date;
  lastSeenAt: Date;
  expires: Date;
  /** The session the request asking is using. */
  current: boolean;
}

/** Who ended a session: its owner, or an administrator. */
export type RevokedBy = "user" | "admin";

/** Every unexpired, unrevoked session of the user, newest first. */
export async function activeSessionsForUser(
  userId: string,
  currentSessionId: string | undefined,
  now = new Date(),
): Promise<AccountSession[]> {
  const rows = await activeSessions({ userId }, now);
  return rows.map(({ userId: _owner, ...row }) => ({ ...row, device: deviceLabel(row.userAgent), current: row.id === currentSessionId }));
}

/** Revokes sessions by id (each idempotently) and records each one; returns how many this call revoked. */
export async function revokeSessionIds(
  sessions: { id: string; userId: string }[],
  options: { by: RevokedBy; reason: string; context?: ClientContext; actorId?: string; now?: Date },
): Promise<number> {
  let revoked = 0;
  for (const session of sessions) {
    if (!(await revokeSession(session.id, options.reason, options.now))) continue;
    revoked += 1;
    await audit("session.revoked", {
      userId: session.userId,
      context: options.context,
      detail: {
        by: options.by,
        sessionId: session.id,
        reason: options.reason,
        ...(options.actorId && options.actorId !== session.userId ? { actorId: options.actorId } : {}),
      },
    });
  }
  return revoked;
}

/**
 * Revokes one of the user's own active sessions. False when the id is not an
 * active session of this user (unknown, someone else's, already ended): the
 * caller answers the same for each, and nothing is revoked.
 */
export async function revokeOwnSession(
  userId: string,
  sessionId: string,
  context?: ClientContext,
  now = new Date(),
): Promise<boolean> {
  if (!isPlausibleId(sessionId)) return false;
  const [owned] = await activeSessions({ id: sessionId, userId }, now);
  if (!owned) return false;
  return (await revokeSessionIds([owned], { by: "user", reason: "revoked_by_user", context, now })) === 1;
}

/**
 * Revokes every active session and token family of the user except `keepSessionId`
 * (the one asking); returns how many were revoked.
 */
export async function revokeOtherSessions(
  userId: string,
  keepSessionId: string | undefined,
  options: { reason?: string; by?: RevokedBy; context?: ClientContext; actorId?: string; now?: Date } = {},
): Promise<number> {
  const now = options.now ?? new Date();
  const others = await activeSessions({ userId, exceptId: keepSessionId }, now);
  return revokeSessionIds(others, {
    by: options.by ?? "user",
    reason: options.reason ?? "signed_out_elsewhere",
    context: options.context,
    actorId: options.actorId,
    now,
  });
}

