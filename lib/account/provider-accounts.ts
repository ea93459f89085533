import "server-only";
import { providerForIssuer, type ProviderIdentity } from "../auth/providers";
import { db, isUniqueViolation } from "../platform/db";
import { log } from "../platform/log";
import { audit } from "../security/audit";
import type { ClientContext } from "../security/request";
import type { SessionUser } from "../sessions/store";
import { identitiesOf, identityOwner, unlinkIdentity } from "../users/identities";
import { EmailSchema } from "../users/policy";

/**
 * Which account a provider identity signs in to. An identity is known by
 * (issuer, subject) in the Account table, never by its email: an address is
 * only what the provider says it is.
 *
 * - Known identity: its account.
 * - Unknown identity, email verified by the provider and used by no account:
 *   a new account that signs in with this provider only (no password).
 * - Unknown identity whose verified email an account already uses: not
 *   signed in and not linked yet (`owner` says which account): linking on the
 *   provider's word alone would hand the account to whoever controls that
 *   identity. The link waits for proof from the account's side, a sign-in
 *   with its password (lib/auth/provider-link.ts); or the owner connects the
 *   provider from the security page while signed in.
 * - Unknown identity without a verified email: refused whether or not an
 *   account uses the address (and without saying which), so that an
 *   unverified address neither takes over an account nor holds one.
 */
export type ProviderAccountResult =
  | { ok: true; user: SessionUser; created: boolean }
  | { ok: false; reason: "email_in_use"; owner: { id: string; email: string } | null }
  | { ok: false; reason: "email_unverified" | "no_email" };

export type ProviderRefusal = Extract<ProviderAccountResult, { ok: false }>["reason"];

export async function resolveProviderAccount(identity: ProviderIdentity, providerType: string, context: ClientContext): Promise<ProviderAccountResult> {
  const known = await identityOwner(identity);
  if (known) return { ok: true, user: known, created: false };

  const email = EmailSchema.safeParse(identity.email ?? "");
  if (!email.success) return refused("no_email", identity, null, context);
  // Before any lookup: an address nobody vouched for learns nothing about which accounts exist.
  if (!identity.emailVerified) return refused("email_unverified", identity, null, context);
  const taken = await db().user.findUnique({ where: { email: email.data }, select: { id: true, email: true } });
  if (taken) return { ...(await refused("email_in_use", identity, taken.id, context)), owner: taken };

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
    const raced = await identityOwner(identity);
    if (raced) return { ok: true, user: raced, created: false };
    // The address was taken meanwhile: refused, and no link is offered for an account not seen here.
    return { ...(await refused("email_in_use", identity, null, context)), owner: null };
  }
}

async function refused<Reason extends ProviderRefusal>(reason: Reason, identity: ProviderIdentity, userId: string | null, context: ClientContext): Promise<{ ok: false; reason: Reason }> {
  log.info("signin.provider_refused", { reason, issuer: identity.issuer });
  await audit("signin.failed", {
    userId,
    context,
    detail: { reason, method: "oidc", issuer: identity.issuer },
  });
  return { ok: false, reason };
}

/** A provider identity of the user, as the security page lists it. */
export interface ConnectedProvider {
  /** The Account row's id: what "Disconnect" sends. */
  id: string;
  /** The configured provider's name, or the issuer when it is no longer configured. */
  name: string;
  /** The configured provider's id, or null. */
  providerId: string | null;
  issuer: string;
  subject: string;
  connectedAt: Date;
}

export async function connectedProviders(userId: string): Promise<ConnectedProvider[]> {
  return (await identitiesOf(userId)).map((identity) => {
    const configured = providerForIssuer(identity.issuer);
    return {
      id: identity.id,
      name: configured?.name ?? identity.issuer,
      providerId: configured?.id ?? null,
      issuer: identity.issuer,
      subject: identity.subject,
      connectedAt: identity.connectedAt,
    };
  });
}

export type DisconnectResult = { ok: true; providerId: string | null } | { ok: false; reason: "not_found" | "last_way_in" };

/** Disconnects one of the user's own provider identities, unless it is the last way in (../users/identities.ts). */
export async function disconnectProvider(userId: string, accountId: string, context: ClientContext): Promise<DisconnectResult> {
  const result = await unlinkIdentity(userId, accountId);
  if (!result.ok) {
    log.info("provider.unlink_refused", { userId, reason: result.reason });
    return result;
  }
  const { issuer, subject } = result.identity;
  await audit("provider.unlinked", { userId, context, detail: { issuer, subject } });
  log.info("provider.unlinked", { userId, issuer });
  return { ok: true, providerId: providerForIssuer(issuer)?.id ?? null };
}
