import "server-only";
import { createHash } from "node:crypto";
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from "jose";
import { z } from "zod";
import { db, isUniqueViolation } from "../platform/db";
import { env } from "../platform/env";
import { nowAndThen } from "../platform/housekeeping";
import { log } from "../platform/log";
import { keySetUnavailable, PROVIDER_SIGNING_ALGORITHMS, providerMetadata } from "./provider-metadata";

/**
 * OpenID Connect Back-Channel Logout 1.0, the relying party's side: the
 * provider POSTs a signed logout token naming one of its sessions (`sid`)
 * and/or a subject (`sub`); once every check below passes, the caller revokes
 * our sessions started from it. Only the generic OpenID Connect provider
 * (OIDC_*) takes part: its issuer and our client id there are the only ones a
 * token may name.
 */

/** Event that marks a JWT as a logout token (spec §2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout";
/** How far a token's `iat` may be ahead of our clock (clock skew). */
export const LOGOUT_TOKEN_LEEWAY_SECONDS = 30;
/** How old a token (by `iat`) may be: the provider sends it when the session ends, not later. */
export const LOGOUT_TOKEN_MAX_AGE_SECONDS = 120;

export type LogoutRefusal =
  | "not_configured"
  | "malformed"
  | "signature"
  | "issuer"
  | "audience"
  | "typ"
  | "iat"
  | "too_old"
  | "expired"
  | "jti"
  | "events"
  | "nonce"
  | "no_sid_or_sub"
  | "replayed";

export type LogoutClaims = { ok: true; issuer: string; jti: string; sid: string | null; sub: string | null } | { ok: false; reason: LogoutRefusal };

const Claims = z.object({
  iss: z.string().min(1),
  aud: z.union([z.string(), z.array(z.string())]),
  iat: z.number().finite(),
  exp: z.number().finite(),
  jti: z.string().min(1).max(255),
  sid: z.string().min(1).max(255).optional(),
  sub: z.string().min(1).max(255).optional(),
});

/**
 * The checks of spec §2.6 steps 3–6 on claims whose signature has been
 * verified, and the header's `typ`. Pure: the unit tests call it directly.
 */
export function checkLogoutClaims(
  payload: JWTPayload,
  header: { typ?: string },
  expected: { issuer: string; audience: string; now: Date },
): LogoutClaims {
  const nowSeconds = Math.floor(expected.now.getTime() / 1000);
  // Explicit typing is recommended, not required (§2.4): absent is accepted, anything else is refused.
  if (header.typ !== undefined && !/^(application\/)?logout\+jwt$/i.test(header.typ)) return { ok: false, reason: "typ" };
  // A nonce would make it look like an ID token, which a logout token must never be mistaken for (§2.4).
  if ("nonce" in payload) return { ok: false, reason: "nonce" };
  const events = payload.events;
  if (typeof events !== "object" || events === null || Array.isArray(events)) return { ok: false, reason: "events" };
  const event = (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT];
  if (typeof event !== "object" || event === null || Array.isArray(event)) return { ok: false, reason: "events" };
  if (typeof payload.iat !== "number") return { ok: false, reason: "iat" };
  if (typeof payload.jti !== "string" || payload.jti === "") return { ok: false, reason: "jti" };
  const parsed = Claims.safeParse(payload);
  if (!parsed.success) return { ok: false, reason: "malformed" };
  const claims = parsed.data;
  if (claims.iss !== expected.issuer) return { ok: false, reason: "issuer" };
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(expected.audience)) return { ok: false, reason: "audience" };
  if (claims.iat > nowSeconds + LOGOUT_TOKEN_LEEWAY_SECONDS) return { ok: false, reason: "iat" };
  if (claims.iat < nowSeconds - LOGOUT_TOKEN_MAX_AGE_SECONDS) return { ok: false, reason: "too_old" };
  if (claims.exp <= nowSeconds - LOGOUT_TOKEN_LEEWAY_SECONDS) return { ok: false, reason: "expired" };
  if (!claims.sid && !claims.sub) return { ok: false, reason: "no_sid_or_sub" };
  return { ok: true, issuer: claims.iss, jti: claims.jti, sid: claims.sid ?? null, sub: claims.sub ?? null };
}

/** The configured provider's issuer and our client id there, or null when none is configured. */
export function backchannelProvider(): { issuer: string; audience: string } | null {
  return env.OIDC_ISSUER && env.OIDC_CLIENT_ID ? { issuer: env.OIDC_ISSUER, audience: env.OIDC_CLIENT_ID } : null;
}

/**
 * Verifies a logout token: signature by the provider's keys, then the claims,
 * then `jti` against replay (recorded only when everything else passed). The
 * provider is the configured one (a test names its own). Throws when the
 * provider's keys cannot be had.
 */
export async function verifyLogoutToken(token: string, provider = backchannelProvider(), now = new Date()): Promise<LogoutClaims> {
  if (!provider) return { ok: false, reason: "not_configured" };
  let header: { typ?: string };
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return { ok: false, reason: "malformed" };
  }
  let payload: JWTPayload;
  try {
    // Time checks are ours (checkLogoutClaims): exp with the same leeway, iat against the maximum age.
    ({ payload } = await jwtVerify(token, (await providerMetadata(provider.issuer)).keys, { algorithms: PROVIDER_SIGNING_ALGORITHMS, currentDate: now, clockTolerance: LOGOUT_TOKEN_LEEWAY_SECONDS }));
  } catch (error) {
    // Discovery or the key set could not be had: the caller fails closed (503, which a provider may retry; a 400 it would not).
    if (keySetUnavailable(error)) throw error;
    if (error instanceof errors.JWTExpired) return { ok: false, reason: "expired" };
    if (error instanceof errors.JOSEError) return { ok: false, reason: "signature" };
    throw error;
  }
  const claims = checkLogoutClaims(payload, header, { ...provider, now });
  if (!claims.ok) return claims;
  if (!(await firstUseOf(claims.issuer, claims.jti, now))) return { ok: false, reason: "replayed" };
  return claims;
}

/**
 * Records a token's `jti` (shared by every instance, in the database); false
 * if it was recorded already. Kept until the token would be refused as too
 * old anyway.
 */
async function firstUseOf(issuer: string, jti: string, now: Date): Promise<boolean> {
  const id = createHash("sha256").update(`${issuer} ${jti}`).digest("base64url");
  const expiresAt = new Date(now.getTime() + (LOGOUT_TOKEN_MAX_AGE_SECONDS + 2 * LOGOUT_TOKEN_LEEWAY_SECONDS) * 1000);
  nowAndThen("logout-tokens.purge", 60 * 60 * 1000, now, async () => (await db().seenLogoutToken.deleteMany({ where: { expiresAt: { lte: now } } })).count);
  try {
    await db().seenLogoutToken.create({ data: { id, expiresAt } });
    return true;
  } catch (error) {
    if (isUniqueViolation(error)) {
      log.warn("backchannel_logout.replayed");
      return false;
    }
    throw error;
  }
}
