import "server-only";
import { createRemoteJWKSet, errors, type JWTVerifyGetKey } from "jose";
import { z } from "zod";

/**
 * An OpenID Connect provider's metadata, from its discovery document: the keys
 * it signs with (ID tokens: ./id-token.ts; logout tokens:
 * ./backchannel-logout.ts) and where RP-initiated logout goes (./rp-logout.ts).
 * Discovered once per process and issuer; jose refetches the key set on an
 * unknown `kid`.
 */

/** Only asymmetric signatures: the provider's public keys are all we hold ("none" and HMAC are refused). */
export const PROVIDER_SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

const Discovery = z.object({ issuer: z.string(), jwks_uri: z.string().url(), end_session_endpoint: z.string().url().optional() });

export interface ProviderMetadata {
  keys: JWTVerifyGetKey;
  /** RP-initiated logout's endpoint, if the provider advertises one. */
  endSessionEndpoint: string | null;
}

const metadata = new Map<string, Promise<ProviderMetadata>>();

async function discover(issuer: string): Promise<ProviderMetadata> {
  const response = await fetch(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000), redirect: "error" });
  if (!response.ok) throw new Error(`discovery answered ${response.status}`);
  const document = Discovery.parse(await response.json());
  if (document.issuer !== issuer) throw new Error("discovery names another issuer");
  return { keys: createRemoteJWKSet(new URL(document.jwks_uri), { timeoutDuration: 5000 }), endSessionEndpoint: document.end_session_endpoint ?? null };
}

/** A configured provider's metadata (a failed discovery is tried again next time). */
export function providerMetadata(issuer: string): Promise<ProviderMetadata> {
  let pending = metadata.get(issuer);
  if (!pending) {
    const attempt = discover(issuer);
    metadata.set(issuer, attempt);
    attempt.catch(() => {
      if (metadata.get(issuer) === attempt) metadata.delete(issuer);
    });
    pending = attempt;
  }
  return pending;
}

/**
 * Whether a verification failed because the provider's key set could not be
 * had — its endpoint timed out, answered other than 200, or sent no valid
 * key set — rather than because of the token. jose reports those as JOSE
 * errors too (the non-200 and unparseable answers as its generic error), so
 * without this they would pass for a bad signature: a logout token refused
 * with 400 is not sent again, and the logout would be lost. Such failures
 * fail closed as the provider being unavailable instead (503, or "cannot be
 * reached" on the sign-in page). A network error is no JOSE error and is
 * thrown as it is.
 */
export function keySetUnavailable(error: unknown): boolean {
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return true;
  return error instanceof errors.JOSEError && error.code === errors.JOSEError.code;
}
