import "server-only";
import { randomUUID } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT, type JWTHeaderParameters, type JWTPayload } from "jose";
import { env } from "./env";
import { SIGNING_ALG, keyRing, type KeyRing } from "./keys";
import { log } from "./log";

/** Only this algorithm is ever accepted; `none`, HS*, RS* … are refused before any key is touched. */
export const ALLOWED_ALGORITHMS = [SIGNING_ALG];

/** The audience of the JWT kept in the browser cookie; other token kinds get their own. */
export const BROWSER_AUDIENCE = "session-or-token:browser";

/** A compact JWS over this size is refused unread (cookies cap at about 4 KB anyway). */
export const MAX_TOKEN_LENGTH = 4096;

export interface BrowserClaims extends JWTPayload {
  sub: string;
  iss: string;
  aud: string;
  iat: number;
  exp: number;
  jti: string;
  email: string;
  name: string | null;
  role: string;
}

export interface SignedToken {
  token: string;
  jti: string;
  expires: Date;
}

export async function signBrowserJwt(
  user: { id: string; email: string; name: string | null; role: string },
  now = new Date(),
): Promise<SignedToken> {
  const { signing } = await keyRing();
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + env.JWT_TTL_SECONDS;
  const jti = randomUUID();
  const token = await new SignJWT({ email: user.email, name: user.name, role: user.role })
    .setProtectedHeader({ alg: SIGNING_ALG, kid: signing.kid, typ: "JWT" })
    .setIssuer(env.JWT_ISSUER)
    .setAudience(BROWSER_AUDIENCE)
    .setSubject(user.id)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(signing.privateKey);
  return { token, jti, expires: new Date(exp * 1000) };
}

export interface VerifiedToken<C> {
  header: JWTHeaderParameters;
  claims: C;
}

function isBrowserClaims(payload: JWTPayload): payload is BrowserClaims {
  return (
    typeof payload.sub === "string" &&
    typeof payload.jti === "string" &&
    typeof payload.iat === "number" &&
    typeof payload.exp === "number" &&
    typeof payload.email === "string" &&
    (typeof payload.name === "string" || payload.name === null) &&
    typeof payload.role === "string"
  );
}

const CLOCK_TOLERANCE_SECONDS = 5;

// A browser sends the same JWT on every request until it expires. The
// signature over those exact bytes cannot change, so a successful verification
// is remembered (keyed by the full token string) and only the time-dependent
// checks are redone. Bounded in size; failures are never cached.
const VERIFIED_CACHE_SIZE = 5000;
const verifiedKey = Symbol.for("session-or-token.verified-jwts");
type GlobalWithVerified = typeof globalThis & { [verifiedKey]?: Map<string, VerifiedToken<BrowserClaims>> };

function verifiedCache(): Map<string, VerifiedToken<BrowserClaims>> {
  const holder = globalThis as GlobalWithVerified;
  return (holder[verifiedKey] ??= new Map());
}

function stillValid(verified: VerifiedToken<BrowserClaims>, byKid: ReadonlyMap<string, unknown>, nowSeconds: number): boolean {
  const { claims, header } = verified;
  if (claims.exp + CLOCK_TOLERANCE_SECONDS <= nowSeconds) return false;
  if (typeof claims.nbf === "number" && claims.nbf - CLOCK_TOLERANCE_SECONDS > nowSeconds) return false;
  // A key taken out of the ring takes its tokens with it.
  return header.kid !== undefined && byKid.has(header.kid);
}

/**
 * Verifies a browser JWT: signature with a known `kid`, the algorithm allowlist,
 * `typ`, `iss`, `aud`, `exp`/`nbf` (with a small clock tolerance) and the claim
 * shapes. Any failure is `null`: callers never learn why, the log does.
 */
export async function verifyBrowserJwt(token: string): Promise<VerifiedToken<BrowserClaims> | null> {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
  const ring = await keyRing();
  const cache = verifiedCache();
  const remembered = cache.get(token);
  if (remembered) {
    if (stillValid(remembered, ring.byKid, Math.floor(Date.now() / 1000))) return remembered;
    cache.delete(token);
    return null;
  }
  const verified = await verifyUncached(token, ring.byKid);
  if (verified) {
    if (cache.size >= VERIFIED_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    cache.set(token, verified);
  }
  return verified;
}

async function verifyUncached(token: string, byKid: KeyRing["byKid"]): Promise<VerifiedToken<BrowserClaims> | null> {
  try {
    const { payload, protectedHeader } = await jwtVerify(
      token,
      (header) => {
        const key = header.kid === undefined ? undefined : byKid.get(header.kid);
        if (!key) throw new joseErrors.JWKSNoMatchingKey();
        return key.publicKey;
      },
      {
        algorithms: ALLOWED_ALGORITHMS,
        issuer: env.JWT_ISSUER,
        audience: BROWSER_AUDIENCE,
        typ: "JWT",
        requiredClaims: ["sub", "iat", "exp", "jti"],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      },
    );
    if (!isBrowserClaims(payload)) return null;
    return { header: protectedHeader, claims: payload };
  } catch (error) {
    log.debug("jwt.rejected", { reason: error instanceof Error ? error.name : "unknown" });
    return null;
  }
}
