import "server-only";
import { passwordResetMail } from "../mail/messages";
import { queueMail } from "../mail/send";
import { db } from "../platform/db";
import { env } from "../platform/env";
import { log } from "../platform/log";
import { audit } from "../security/audit";
import { limitByAccount, limitByIp, type Blocked } from "../security/rate-limit";
import type { ClientContext } from "../security/request";
import { revokedTokenFate } from "../sessions/revocation";
import { activeSessions, sessionLabel } from "../strategies";
import { consumeOneTimeToken, createOneTimeToken, findUsableToken, spendOutstandingTokens } from "../tokens/one-time";
import { hashPassword } from "../users/password";
import { findUserByEmail } from "../users/users";
import { newPasswordProblem } from "./password";
import { revokeOtherSessions } from "./sessions";

/**
 * Password reset (ASVS 5.0 V6.4): "forgot password" answers the same for known
 * and unknown addresses and does the same work for both (one OneTimeToken row
 * each; only a known address gets a mail, queued off the request's path). The
 * link is single use, short-lived and stored only as a hash; setting a new
 * password revokes every session and token family of the account.
 */

export type ResetRequestResult = { status: "sent"; email: string } | { status: "blocked"; blocked: Blocked };

export async function requestPasswordReset(email: string, context: ClientContext, now = new Date()): Promise<ResetRequestResult> {
  const blocked = (await limitByIp("reset", context, now)) ?? (await limitByAccount("reset", email, context, now));
  if (blocked) return { status: "blocked", blocked };

  const user = await findUserByEmail(email);
  // An unknown address gets the same INSERT, of a token nobody holds and no purpose can use.
  const token = await createOneTimeToken({
    purpose: user ? "password_reset" : "password_reset.unknown",
    email,
    userId: user?.id ?? null,
    ttlSeconds: env.PASSWORD_RESET_TTL_SECONDS,
    now,
  });
  if (user) queueMail(passwordResetMail(email, token));
  log.info("password.reset_requested", { known: Boolean(user) });
  return { status: "sent", email };
}

export type ResetPasswordResult =
  | { ok: true; revokedSessions: number }
  | { ok: false; reason: "invalid_link" }
  | { ok: false; reason: "new_password"; message: string };

/**
 * Sets a new password with a reset link's token. The token is checked first
 * (a policy failure leaves it usable, so the user can try another password),
 * then consumed atomically; the new argon2id hash is stored, every other reset
 * link of the account dies, and every session and token family is revoked
 * (database sessions at once; JWTs per the revocation mode).
 */
export async function resetPassword(input: { token: unknown; newPassword: string; context?: ClientContext; now?: Date }): Promise<ResetPasswordResult> {
  const now = input.now ?? new Date();
  const usable = await findUsableToken(input.token, "password_reset", now);
  const user = usable?.userId ? await db().user.findUnique({ where: { id: usable.userId }, select: { id: true, email: true, emailVerified: true } }) : null;
  if (!usable || !user) return { ok: false, reason: "invalid_link" };

  const problem = newPasswordProblem(input.newPassword, user.email);
  if (problem) return { ok: false, reason: "new_password", message: problem };

  if (!(await consumeOneTimeToken(input.token, "password_reset", now))) return { ok: false, reason: "invalid_link" };
  const passwordHash = await hashPassword(input.newPassword);
  // Receiving the link proves control of the address as well as registration does.
  await db().user.update({ where: { id: user.id }, data: { passwordHash, emailVerified: user.emailVerified ?? now } });
  await spendOutstandingTokens(user.id, "password_reset", now);

  const active = await activeSessions({ userId: user.id }, now);
  const revokedSessions = await revokeOtherSessions(user.id, undefined, { reason: "password_reset", by: "user", context: input.context, now });
  const byKind = new Map<string, number>();
  for (const { strategy } of active) byKind.set(strategy, (byKind.get(strategy) ?? 0) + 1);
  await audit("password.reset", {
    userId: user.id,
    context: input.context,
    detail: { revokedSessions, kinds: [...byKind].map(([kind, count]) => `${kind}:${count}`).join(",") },
  });
  log.info("password.reset", { userId: user.id, revokedSessions });
  return { ok: true, revokedSessions };
}

/**
 * The dashboard's line for a password.reset audit row: how many sessions of
 * each kind it ended, and what that means for copies of signed tokens on this
 * server as it is configured now.
 */
export function describePasswordReset(detail: string | null): string {
  let parsed: { revokedSessions?: unknown; kinds?: unknown } = {};
  try {
    parsed = JSON.parse(detail ?? "{}") as typeof parsed;
  } catch {
    // an unreadable detail is shown as "no details"
  }
  const count = typeof parsed.revokedSessions === "number" ? parsed.revokedSessions : 0;
  const kinds =
    typeof parsed.kinds === "string" && parsed.kinds
      ? parsed.kinds
          .split(",")
          .map((entry) => {
            const [kind = "", n = "0"] = entry.split(":");
            return `${sessionLabel(kind)} ×${n}`;
          })
          .join(", ")
      : "";
  if (count === 0) return "password reset by mail link; no session was active";
  return `password reset by mail link; ${count} session${count === 1 ? "" : "s"} revoked (${kinds}): database sessions are refused at once, and for signed tokens ${revokedTokenFate(env.JWT_TTL_SECONDS)}`;
}

/** What the sign-in page says after a reset, in words true of this server's configuration. */
export function afterResetNotice(): string {
  return `Your password was changed and every session of the account was signed out: database sessions are refused at once, and for signed tokens (JWT sessions, API access tokens) ${revokedTokenFate(env.JWT_TTL_SECONDS)}. Sign in with the new password.`;
}
