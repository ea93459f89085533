import "server-only";
import { createHash, randomBytes } from "node:crypto";
import { db } from "../platform/db";
import { env } from "../platform/env";
import { nowAndThen } from "../platform/housekeeping";
import { log } from "../platform/log";
import type { SignInOrigin } from "../sessions/store";
import { keyRing } from "../tokens/keys";
import { open, purposeKey, seal } from "../tokens/sealed";
import { providerMetadata } from "./provider-metadata";

/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): signing out of
 * a session that came from the generic OpenID Connect provider also ends the
 * provider session, by sending the browser to the provider's
 * `end_session_endpoint` with `id_token_hint`, `post_logout_redirect_uri` and
 * `state` (OIDC_END_SESSION=false turns it off; a provider that advertises no
 * such endpoint is not asked).
 *
 * The ID token is needed only as that hint. It is kept server-side, never in a
 * cookie or a page: one row per provider session (found by a hash of issuer
 * and `sid`, so every session of ours from that provider session shares it),
 * sealed with AES-256-GCM under a key derived from the Auth.js secret, removed
 * when used and purged once no session of ours could still ask for it. A
 * provider session without `sid` gets no hint and no RP-initiated logout.
 */

/** Where the provider sends the browser back after its logout (registered with the provider, exactly). */
export const POST_LOGOUT_PATHS = { revoked: "/login?signedOut=revoked", cookieOnly: "/login?signedOut=cookie-only" } as const;

const hintId = (issuer: string, sid: string) => createHash("sha256").update(`${issuer} ${sid}`).digest("base64url");

const sealKey = (secret: string) => purposeKey(secret, "session-or-token id-token-hint v1");

/** Whether sign-out ends provider sessions too (the configuration, before asking the provider). */
export function endsProviderSessions(): boolean {
  return env.OIDC_END_SESSION && Boolean(env.OIDC_ISSUER);
}

/** Keeps a provider sign-in's ID token as the hint for its provider session's logout. */
export async function rememberIdTokenHint(origin: SignInOrigin, idToken: string | undefined, now = new Date()): Promise<void> {
  if (!endsProviderSessions() || origin.method !== "oidc" || origin.issuer !== env.OIDC_ISSUER || !origin.providerSessionId || !idToken) return;
  if (idToken.length > 16 * 1024) return;
  const id = hintId(origin.issuer, origin.providerSessionId);
  const sealed = seal(idToken, id, sealKey((await keyRing()).authSecret));
  // As long as any session of ours started from it can last.
  const expiresAt = new Date(now.getTime() + Math.max(env.SESSION_TTL_SECONDS, env.JWT_TTL_SECONDS) * 1000);
  await db().providerSessionHint.upsert({ where: { id }, create: { id, sealed, expiresAt }, update: { sealed, expiresAt } });
  nowAndThen("id-token-hints.purge", 60 * 60 * 1000, now, async () => (await db().providerSessionHint.deleteMany({ where: { expiresAt: { lte: now } } })).count);
}

/**
 * The provider's logout URL for a session being signed out, or null (not a
 * provider session, turned off, no hint, no endpoint, provider unreachable:
 * our own sign-out goes ahead either way). The hint is removed here.
 */
export async function providerLogoutUrl(origin: SignInOrigin | null, appOrigin: string, revokedOnServer: boolean, now = new Date()): Promise<string | null> {
  if (!endsProviderSessions() || origin?.method !== "oidc" || origin.issuer !== env.OIDC_ISSUER || !origin.providerSessionId) return null;
  const id = hintId(origin.issuer, origin.providerSessionId);
  const row = await db().providerSessionHint.findUnique({ where: { id } });
  if (!row) return null;
  await db().providerSessionHint.deleteMany({ where: { id } });
  // Sealed under another secret (rotated) or altered: no hint.
  const opened = row.expiresAt > now ? open(row.sealed, id, sealKey((await keyRing()).authSecret)) : null;
  const idToken = opened?.ok ? opened.plaintext : null;
  if (!idToken) return null;
  let endpoint: string | null;
  try {
    endpoint = (await providerMetadata(origin.issuer)).endSessionEndpoint;
  } catch (error) {
    log.warn("signout.provider_unavailable", { error: error instanceof Error ? error.message : String(error) });
    return null;
  }
  if (!endpoint) return null;
  const url = new URL(endpoint);
  url.searchParams.set("id_token_hint", idToken);
  url.searchParams.set("post_logout_redirect_uri", `${appOrigin}${revokedOnServer ? POST_LOGOUT_PATHS.revoked : POST_LOGOUT_PATHS.cookieOnly}`);
  // Returned unchanged on the way back; that page acts on nothing, so it is not checked there.
  url.searchParams.set("state", randomBytes(16).toString("base64url"));
  return url.toString();
}
