import "server-only";
import { audit } from "./audit";
import { db } from "./db";
import { log } from "./log";
import { hashPassword, verifyPassword } from "./password";
import type { ClientContext } from "./security";
import { revokeSession, activeSessionWhere } from "./session-store";
import { deviceLabel } from "./user-agent";
import { NewPasswordSchema } from "./users";

/**
 * A user's own account: the sessions they hold (every kind — database
 * sessions, browser JWTs, API token families), ending them, and changing the
 * password. Every function takes the acting user's id and only ever touches
 * that user's rows: ownership is part of each query, so a forged session id
 * matches nothing.
 */

export interface AccountSession {
  id: string;
  /** "database", "jwt" or "api" (token family). */
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

const activeWhere = activeSessionWhere;

/** Every unexpired, unrevoked session of the user, newest first. */
export async function activeSessionsForUser(
  userId: string,
  currentSessionId: string | undefined,
  now = new Date(),
): Promise<AccountSession[]> {
  const rows = await db().session.findMany({
    where: { userId, ...activeWhere(now) },
    orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    select: { id: true, strategy: true, userAgent: true, ip: true, createdAt: true, lastSeenAt: true, expires: true },
  });
  return rows.map((row) => ({ ...row, device: deviceLabel(row.userAgent), current: row.id === currentSessionId }));
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
  const owned = await db().session.findFirst({ where: { id: sessionId, userId, ...activeWhere(now) }, select: { id: true, userId: true } });
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
  const others = await db().session.findMany({
    where: { userId, ...activeWhere(now), ...(keepSessionId ? { id: { not: keepSessionId } } : {}) },
    select: { id: true, userId: true },
  });
  return revokeSessionIds(others, {
    by: options.by ?? "user",
    reason: options.reason ?? "signed_out_elsewhere",
    context: options.context,
    actorId: options.actorId,
    now,
  });
}

export type ChangePasswordResult =
  | { ok: true; revokedSessions: number }
  | { ok: false; field: "currentPassword" | "newPassword"; message: string };

export const CURRENT_PASSWORD_INCORRECT = "Current password is incorrect";

/**
 * Changes the password of a signed-in user: the current password must be
 * given again (and is checked against its argon2id hash), the new one must
 * pass the same rules as at registration. On success the new hash is stored
 * and every other session and token family of the user is revoked; the
 * session that asked (`currentSessionId`) stays signed in.
 */
export async function changePassword(input: {
  userId: string;
  currentSessionId: string | undefined;
  currentPassword: string;
  newPassword: string;
  context?: ClientContext;
  now?: Date;
}): Promise<ChangePasswordResult> {
  const user = await db().user.findUnique({ where: { id: input.userId }, select: { id: true, email: true, passwordHash: true } });
  const currentOk =
    user?.passwordHash != null && input.currentPassword.length > 0 && input.currentPassword.length <= 1024
      ? await verifyPassword(user.passwordHash, input.currentPassword)
      : false;
  if (!user || !currentOk) {
    log.info("password.change_refused", { userId: input.userId, reason: "current_password" });
    return { ok: false, field: "currentPassword", message: CURRENT_PASSWORD_INCORRECT };
  }

  const parsed = NewPasswordSchema.safeParse(input.newPassword);
  if (!parsed.success) {
    return { ok: false, field: "newPassword", message: parsed.error.issues[0]?.message ?? "Choose another password." };
  }
  const localPart = user.email.split("@")[0] ?? "";
  if (localPart.length >= 4 && input.newPassword.toLowerCase().includes(localPart)) {
    return { ok: false, field: "newPassword", message: "Password must not contain your email address." };
  }
  if (input.newPassword === input.currentPassword) {
    return { ok: false, field: "newPassword", message: "The new password must differ from the current one." };
  }

  const passwordHash = await hashPassword(input.newPassword);
  await db().user.update({ where: { id: user.id }, data: { passwordHash } });
  const revokedSessions = await revokeOtherSessions(user.id, input.currentSessionId, {
    reason: "password_changed",
    by: "user",
    context: input.context,
    now: input.now,
  });
  await audit("password.changed", { userId: user.id, context: input.context, detail: { revokedSessions } });
  log.info("password.changed", { userId: user.id, revokedSessions });
  return { ok: true, revokedSessions };
}

/** Session ids are cuids; anything else is refused before it reaches a query. */
export function isPlausibleId(value: unknown): value is string {
  return typeof value === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(value);
}
