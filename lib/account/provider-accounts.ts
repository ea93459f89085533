import "server-only";
import type { ProviderIdentity } from "../auth/providers";
import { db, isUniqueViolation } from "../platform/db";
import { log } from "../platform/log";
import { audit } from "../security/audit";
import type { ClientContext } from "../security/request";
import type { SessionUser } from "../sessions/store";
import { EmailSchema } from "../users/policy";

/**
 * Which account a provider identity signs in to. An identity is known by
 * (issuer, subject) in the Account table, never by its email: an address is
 * only what the provider says it is.
 *
 * - Known identity: its account.
 * - Unknown identity, email verified by the provider and used by no account:
 *   a new account that signs in with this provider only (no password).
 * - Unknown identity whose verified email an account already uses: refused,
 *   not linked: linking would hand the account to whoever controls that
 *   identity. The owner signs in with the password and connects the
 *   provider from the security page (a flow that proves both sides).
 * - Unknown identity without a verified email: refused whether or not an
 *   account uses the address (and without saying which), so that an
 *   unverified address neither takes over an account nor holds one.
 */
export type ProviderAccountResult =
  | { ok: true; user: SessionUser; created: boolean }
  | { ok: false; reason: "email_in_use" | "email_unverified" | "no_email" };

export type ProviderRefusal = Extract<ProviderAccountResult, { ok: false }>["reason"];

async function accountUser(identity: ProviderIdentity): Promise<SessionUser | null> {
  const account = await db().account.findUnique({
    where: { provider_providerAccountId: { provider: identity.issuer, providerAccountId: identity.subject } },
    select: { user: { select: { id: true, email: true, name: true } } },
  });
  return account?.user ?? null;
}

export async function resolveProviderAccount(identity: ProviderIdentity, providerType: string, context: ClientContext): Promise<ProviderAccountResult> {
  const known = await accountUser(identity);
  if (known) return { ok: true, user: known, created: false };

  const email = EmailSchema.safeParse(identity.email ?? "");
  if (!email.success) return refused("no_email", identity, null, context);
  // Before any lookup: an address nobody vouched for learns nothing about which accounts exist.
  if (!identity.emailVerified) return refused("email_unverified", identity, null, context);
  const taken = await db().user.findUnique({ where: { email: email.data }, select: { id: true } });
  if (taken) return refused("email_in_use", identity, taken.id, context);

  try {
    const user = await db().user.create({
      data: {
        email: email.data,
        name: identity.name?.trim().slice(0, 100) || null,
        // The provider vouched for the address (email_verified): that is the proof here.
        emailVerified: new Date(),
        passwordHash: null,
        accounts: { create: { type: providerType, provider: identity.issuer, providerAccountId: identity.subject } },
      },
      select: { id: true, email: true, name: true },
    });
    await audit("register", { userId: user.id, context, detail: { method: "oidc", issuer: identity.issuer } });
    return { ok: true, user, created: true };
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    // A concurrent first sign-in of the same identity created it: use that one.
    const raced = await accountUser(identity);
    if (raced) return { ok: true, user: raced, created: false };
    return refused("email_in_use", identity, null, context);
  }
}

async function refused(reason: ProviderRefusal, identity: ProviderIdentity, userId: string | null, context: ClientContext): Promise<ProviderAccountResult> {
  log.info("signin.provider_refused", { reason, issuer: identity.issuer });
  await audit("signin.failed", {
    userId,
    context,
    detail: { reason, method: "oidc", issuer: identity.issuer },
  });
  return { ok: false, reason };
}
