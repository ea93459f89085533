import "server-only";
import { cookies, headers } from "next/headers";
import { log } from "../platform/log";
import { audit } from "../security/audit";
import { clientContext, isHttps, type ClientContext } from "../security/request";
import { keyRing } from "../tokens/keys";
import { linkIdentity, type IdentityKey, type LinkResult } from "../users/identities";
import { findUserByEmail } from "../users/users";
import {
  openPendingLink,
  PENDING_LINK_COOKIE,
  pendingLinkBelongsTo,
  providerCookieDeletion,
  providerCookieName,
  providerCookieOptions,
  sealPendingLink,
  type PendingLink,
} from "./provider-flow";
import { providerName } from "./providers";

/**
 * Connecting a provider identity to an existing account. It takes proof from
 * both sides: the identity's (a sign-in at the provider that just succeeded)
 * and the account's, either
 * - a sign-in with the account's password: a provider sign-in whose verified
 *   email an account uses is remembered in the pending-link cookie
 *   (./provider-flow.ts) and the browser is sent to the sign-in page; the
 *   next password sign-in to that same account links it. A password sign-in
 *   to any other account, or a cookie that expired or was edited, links
 *   nothing; or
 * - a signed-in session that started the flow from the security page (after
 *   a recent authentication, ./step-up.ts).
 * An unverified email never gets this far (lib/account/provider-accounts.ts).
 */

/** Where a provider sign-in that needs the password first sends the browser. */
export const PENDING_LINK_PATH = "/login?link=pending";

export type LinkVia = "password_proof" | "security_page";

/** Links the identity to the account and records it (the audit log's `provider.linked`). */
export async function connectIdentity(
  userId: string,
  identity: IdentityKey,
  type: string,
  via: LinkVia,
  context: ClientContext,
): Promise<LinkResult> {
  const result = await linkIdentity(userId, identity, type);
  if (!result.ok) {
    log.info("provider.link_refused", { userId, reason: result.reason, issuer: identity.issuer });
    await audit("provider.link_refused", { userId, context, detail: { reason: result.reason, issuer: identity.issuer, via } });
  } else if (result.created) {
    log.info("provider.linked", { userId, issuer: identity.issuer, via });
    await audit("provider.linked", { userId, context, detail: { issuer: identity.issuer, subject: identity.subject, via } });
  }
  return result;
}

async function pendingLinkCookie() {
  const [jar, requestHeaders, keys] = await Promise.all([cookies(), headers(), keyRing()]);
  const https = isHttps(requestHeaders);
  return { jar, requestHeaders, secret: keys.authSecret, https, name: providerCookieName(PENDING_LINK_COOKIE, https) };
}

/** Remembers an identity until the account's owner signs in with the password (in this browser, for ten minutes). */
export async function rememberPendingLink(link: PendingLink): Promise<void> {
  const { jar, secret, https, name } = await pendingLinkCookie();
  jar.set(name, sealPendingLink(link, secret), providerCookieOptions(https));
}

/** What the sign-in page says about a pending link in this browser, or null when there is none (or it is not genuine). */
export async function pendingLinkNotice(): Promise<{ provider: string; email: string } | null> {
  const { jar, secret, name } = await pendingLinkCookie();
  const link = openPendingLink(jar.get(name)?.value, secret);
  if (!link) return null;
  return { provider: providerName(link.provider), email: link.email };
}

/**
 * After a successful password sign-in of the account with this email: links
 * the pending identity if the link was made for this account; the cookie is
 * used up either way. The configured provider's id when a link now exists.
 */
export async function completePendingLink(email: string): Promise<string | null> {
  const { jar, requestHeaders, secret, https, name } = await pendingLinkCookie();
  const value = jar.get(name)?.value;
  if (value === undefined) return null;
  jar.delete(providerCookieDeletion(name, https));
  const link = openPendingLink(value, secret);
  const account = link && (await findUserByEmail(email));
  if (!link || !account || !pendingLinkBelongsTo(link, account)) {
    log.info("provider.pending_link_ignored", { reason: link ? "another_account" : "invalid" });
    return null;
  }
  const result = await connectIdentity(account.id, link, link.type, "password_proof", clientContext(requestHeaders));
  return result.ok ? link.provider : null;
}
