import "server-only";
import { z } from "zod";
import { alreadyRegisteredMail, finishSignUpMail } from "../mail/messages";
import { queueMail } from "../mail/send";
import { env } from "../platform/env";
import { log } from "../platform/log";
import { limitByAccount, limitByIp, type Blocked } from "../security/rate-limit";
import type { ClientContext } from "../security/request";
import { isBrowserKind, type StrategyKind } from "../strategies";
import { consumeOneTimeToken, createOneTimeToken } from "../tokens/one-time";
import { hashPassword } from "../users/password";
import type { Registration } from "../users/policy";
import { DuplicateEmailError, createUser, findUserByEmail, type UserRecord } from "../users/users";

/**
 * Registration without account enumeration (ASVS 5.0 V6.3.8) and with a
 * verified address. A valid form always gets the same answer, whether the
 * address is new or taken, and the same work is done for both:
 *
 *   1. count the attempt per client address and per address (same keys, same statements);
 *   2. hash the password with argon2id (a taken address: hashed all the same, then dropped);
 *   3. write one OneTimeToken row (new: "register", with the name, hash and
 *      session kind in its payload; taken: "register.existing", no payload, never usable);
 *   4. queue one mail (new: the link that finishes sign-up; taken: "someone tried
 *      to register with your address — sign in or reset your password").
 *
 * The account exists only once the link is used (`finishRegistration`), with
 * `emailVerified` set: before that there is nothing to sign in to.
 */

export type StartRegistrationResult = { status: "sent"; email: string } | { status: "blocked"; blocked: Blocked };

export async function startRegistration(
  registration: Registration,
  kind: StrategyKind,
  context: ClientContext,
  now = new Date(),
): Promise<StartRegistrationResult> {
  const blocked = (await limitByIp("register", context, now)) ?? (await limitByAccount("register", registration.email, context, now));
  if (blocked) return { status: "blocked", blocked };

  const passwordHash = await hashPassword(registration.password);
  const existing = await findUserByEmail(registration.email);
  const payload: PendingRegistration = { name: registration.name, passwordHash, kind };
  const token = await createOneTimeToken({
    purpose: existing ? "register.existing" : "register",
    email: registration.email,
    payload: existing ? null : JSON.stringify(payload),
    ttlSeconds: env.EMAIL_LINK_TTL_SECONDS,
    now,
  });
  queueMail(existing ? alreadyRegisteredMail(registration.email) : finishSignUpMail(registration.email, token));
  log.info("register.link_queued", { existing: Boolean(existing) });
  return { status: "sent", email: registration.email };
}

/** What a "register" token's payload holds until the link is used. */
const PendingRegistrationSchema = z.object({
  name: z.string().min(1).max(100),
  passwordHash: z.string().startsWith("$argon2id$"),
  kind: z.string().refine(isBrowserKind),
});
type PendingRegistration = z.infer<typeof PendingRegistrationSchema>;

export type FinishRegistrationResult =
  | { ok: true; user: UserRecord; kind: string }
  /** Malformed, unknown, expired or already used. */
  | { ok: false; reason: "invalid_link" }
  /** The link was valid, but the address got an account in the meantime (e.g. a second link of the same address). */
  | { ok: false; reason: "already_registered" };

/** Uses a registration link: creates the account (address verified now) and says which session kind was chosen. */
export async function finishRegistration(token: unknown, context: ClientContext, now = new Date()): Promise<FinishRegistrationResult> {
  const record = await consumeOneTimeToken(token, "register", now);
  if (!record) return { ok: false, reason: "invalid_link" };
  let pending: PendingRegistration;
  try {
    pending = PendingRegistrationSchema.parse(JSON.parse(record.payload ?? ""));
  } catch {
    // Never log the payload or the parser's message about it: it holds a password hash.
    log.warn("register.bad_payload", { tokenId: record.id });
    return { ok: false, reason: "invalid_link" };
  }
  try {
    const user = await createUser({ name: pending.name, email: record.email, passwordHash: pending.passwordHash, emailVerified: now }, context);
    return { ok: true, user, kind: pending.kind };
  } catch (error) {
    if (error instanceof DuplicateEmailError) return { ok: false, reason: "already_registered" };
    throw error;
  }
}
