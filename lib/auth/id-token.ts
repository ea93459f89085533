import "server-only";
import { errors, jwtVerify } from "jose";
import { keySetUnavailable, PROVIDER_SIGNING_ALGORITHMS, providerMetadata } from "./provider-metadata";

/**
 * The ID token's signature. Auth.js (oauth4webapi) checks an ID token's
 * claims — issuer, audience, expiry, nonce — but not its signature: OpenID
 * Connect Core §3.1.3.7 lets a client that received it straight from the token
 * endpoint over TLS trust the connection instead. Here it is checked too,
 * against the keys the provider publishes (its discovery document's
 * `jwks_uri`), so a token response that was forged or altered on the way is
 * refused even where that connection is not what it should be. Issuer and
 * audience are checked again with it: the signature vouches for those claims.
 */

/** Same leeway as Auth.js's own claim checks, so a token it just accepted is not refused for time alone. */
const CLOCK_TOLERANCE_SECONDS = 30;

export type IdTokenRefusal = "missing" | "signature" | "claims";

export type IdTokenCheck = { ok: true } | { ok: false; reason: IdTokenRefusal };

/**
 * Verifies an ID token against the provider's published keys and the issuer
 * and audience it must name. Throws only when the keys cannot be fetched (the
 * provider is unreachable): the caller fails closed.
 */
export async function verifyIdTokenSignature(idToken: string | undefined, expected: { issuer: string; audience: string }, now = new Date()): Promise<IdTokenCheck> {
  if (!idToken) return { ok: false, reason: "missing" };
  const { keys } = await providerMetadata(expected.issuer);
  try {
    await jwtVerify(idToken, keys, {
      algorithms: PROVIDER_SIGNING_ALGORITHMS,
      issuer: expected.issuer,
      audience: expected.audience,
      currentDate: now,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    return { ok: true };
  } catch (error) {
    if (error instanceof errors.JWTClaimValidationFailed || error instanceof errors.JWTExpired) return { ok: false, reason: "claims" };
    if (keySetUnavailable(error)) throw error;
    // A bad signature, a kid the provider never published, a malformed token.
    if (error instanceof errors.JOSEError) return { ok: false, reason: "signature" };
    throw error;
  }
}
