import "server-only";
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from "node:crypto";
import { db } from "../platform/db";
import { env } from "../platform/env";
import { nowAndThen } from "../platform/housekeeping";
import { log } from "../platform/log";
import type { SignInOrigin } from "../sessions/store";
import { keyRing } from "../tokens/keys";
import { providerMetadata } from "./backchannel-logout";

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

function sealKey(secret: string): Buffer {
  return createHmac("sha256", secret).update("session-or-token id-token-hint v1").digest();
}

function seal(id: string, idToken: string, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", sealKey(secret), iv);
  cipher.setAAD(Buffer.from(id));
  const body = Buffer.concat([cipher.update(idToken, "utf8"), cipher.final()]);
  return ["v1", iv, body, cipher.getAuthTag()].map((part) => (typeof part === "string" ? part : part.toString("base64url"))).join(".");
}

function open(id: string, sealed: string, secret: string): string | null {
  const [version, iv, body, tag, ...rest] = sealed.split(".");
  if (version !== "v1" || !iv || !body || !tag || rest.length > 0) return null;
  try {
    const decipher = createDecipheriv("aes-256-gcm", sealKey(secret), Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(id));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
  } catch {
    // Sealed under another secret (rotated) or altered: no hint.
    return null;
  }
}

/** Whether sign-out ends provider sessions too (the configuration, before asking the provider). */
export function endsProviderSessions(): boolean {
  return env.OIDC_END_SESSION && Boolean(env.OIDC_ISSUER);
}

/** Keeps a provider sign-in's ID token as the hint for its provider session's logout. */
export async function rememberIdTokenHint(origin: SignInOrigin, idToken: string | undefined, now = new Date()): Promise<void> {
  if (!endsProviderSessions() || origin.method !== "oidc" || origin.issuer !== env.OIDC_ISSUER || !origin.providerSessionId || !idToken) return;
  if (idToken.length > 16 * 1024) return;
  const id = hintId(origin.issuer, origin.providerSessionId);
  const sealed = seal(id, idToken, (await keyRing()).authSecret);
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
  const idToken = row.expiresAt > now ? open(id, row.sealed, (await keyRing()).authSecret) : null;
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
