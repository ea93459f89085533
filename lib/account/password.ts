import "server-only";
import { db } from "../platform/db";
import { log } from "../platform/log";
import { audit } from "../security/audit";
import type { ClientContext } from "../security/request";
import { hashPassword, verifyPassword } from "../users/password";
import { NewPasswordSchema } from "../users/policy";
import { revokeOtherSessions } from "./sessions";

export type ChangePasswordResult =
  | { ok: true; revokedSessions: number }
  | { ok: false; field: "currentPassword" | "newPassword"; message: string };

export const CURRENT_PASSWORD_INCORRECT = "Current password is incorrect";

/**
 * Why a new password for the account with this email is refused, or null when
 * it is acceptable: the registration policy (NewPasswordSchema) plus "not
 * containing the address". Shared by the password change and the reset.
 */
export function newPasswordProblem(password: string, email: string): string | null {
  const parsed = NewPasswordSchema.safeParse(password);
  if (!parsed.success) return parsed.error.issues[0]?.message ?? "Choose another password.";
  const localPart = email.split("@")[0] ?? "";
  if (localPart.length >= 4 && password.toLowerCase().includes(localPart)) return "Password must not contain your email address.";
  return null;
}

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

  const problem = newPasswordProblem(input.newPassword, user.email);
  if (problem) return { ok: false, field: "newPassword", message: problem };
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


export type SetPasswordResult = { ok: true } | { ok: false; reason: "has_password" } | { ok: false; reason: "invalid"; message: string };

/**
 * A first password for an account that signs in through a provider only.
 * There is no current password to ask for; the caller has checked a recent
 * authentication (step-up). The write applies only while the account still has
 * no password, so it can never replace one: an account with a password
 * changes it with changePassword. Other sessions stay signed in: a way in was
 * added, none was taken over.
 */
export async function setFirstPassword(input: { userId: string; email: string; newPassword: string; context?: ClientContext }): Promise<SetPasswordResult> {
  const problem = newPasswordProblem(input.newPassword, input.email);
  if (problem) return { ok: false, reason: "invalid", message: problem };
  const passwordHash = await hashPassword(input.newPassword);
  const { count } = await db().user.updateMany({ where: { id: input.userId, passwordHash: null }, data: { passwordHash } });
  if (count === 0) return { ok: false, reason: "has_password" };
  await audit("password.set", { userId: input.userId, context: input.context });
  log.info("password.set", { userId: input.userId });
  return { ok: true };
}
