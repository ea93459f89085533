import "server-only";
import { randomUUID } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT, type JWTHeaderParameters, type JWTPayload } from "jose";
import { env } from "../platform/env";
import { log } from "../platform/log";
import { SIGNING_ALG, keyRing, keyRingKnowing, type KeyRing } from "./keys";

/** Only this algorithm is ever accepted; `none`, HS*, RS* … are refused before any key is touched. */
export const ALLOWED_ALGORITHMS = [SIGNING_ALG];

/**
 * The audience of the JWT kept in the browser cookie. Short, as it travels in
 * every request's cookie; only this server ever verifies these tokens.
 */
export const BROWSER_AUDIENCE = "sot:browser";
/** The audience of API access tokens (what `Authorization: Bearer` carries). */
export const API_AUDIENCE = "session-or-token:api";
/** `client_id` of access tokens this app issues to its own clients (RFC 9068 requires the claim). */
export const FIRST_PARTY_CLIENT_ID = "session-or-token";

/** A compact JWS over this size is refused unread (cookies cap at about 4 KB anyway). */
export const MAX_TOKEN_LENGTH = 4096;
const CLOCK_TOLERANCE_SECONDS = 5;

/** What every token says: who (`sub`), which server-side session (`sid`), and when. */
interface CommonClaims extends JWTPayload {
  sub: string;
  iss: string;
  aud: string;
  iat: number;
  exp: number;
  /** The server-side session (Session.id) this token belongs to. */
  sid: string;
}

/**
 * The browser cookie's JWT carries only what this server needs to accept it:
 * `sub`, `sid`, `iat`, `exp`, `iss`, `aud` (and `alg`, `kid`, `typ` in the
 * header), about 340 bytes as a cookie. No `jti`: nothing refers to a single
 * browser token (revocation is per session, by `sid`). No name or e-mail: they
 * would repeat what `sub` identifies, grow the cookie with every long address,
 * and go stale on a change; the server reads them from the user's row.
 */
export interface BrowserClaims extends CommonClaims {
  /**
   * When the user last proved who they are in this session (OpenID Connect
   * `auth_time`, seconds) and how (RFC 8176 `amr`). Renewal copies them; only
   * a confirmation moves them. Signed like the rest, so an edited value fails
   * the signature. Absent on tokens issued before they were added.
   */
  auth_time?: number;
  amr?: string[];
}

/** What the browser claims carry about the authentication (both or neither). */
export interface AuthenticationClaims {
  time: Date;
  methods: string[];
}

function hasBrowserClaims(payload: JWTPayload): payload is BrowserClaims {
  if (!hasCommonClaims(payload)) return false;
  if (payload.auth_time === undefined && payload.amr === undefined) return true;
  return (
    typeof payload.auth_time === "number" &&
    Number.isInteger(payload.auth_time) &&
    Array.isArray(payload.amr) &&
    payload.amr.every((value) => typeof value === "string")
  );
}

/** The authentication a verified browser token states; null when it states none. */
export function authenticationOf(claims: BrowserClaims): AuthenticationClaims | null {
  return typeof claims.auth_time === "number" ? { time: new Date(claims.auth_time * 1000), methods: claims.amr ?? [] } : null;
}

/**
 * RFC 9068 access token: for other services too, so it says who the user is
 * by itself (`email`, `name`), and has its own id (`jti`) and `client_id`.
 */
export interface AccessClaims extends CommonClaims {
  jti: string;
  client_id: string;
  email: string;
  name: string | null;
}

/**
 * A kind of token: its `typ` header and audience tell kinds apart, so a token
 * minted for one purpose is never accepted for another. Its lifetime bounds
 * its age: a token issued in the future, or longer ago than any token of the
 * kind can live, is refused even with a valid signature (defence in depth
 * against a leaked key or a clock that ran away).
 */
interface TokenKind<C extends CommonClaims> {
  name: string;
  typ: string;
  audience: string;
  /** Claims jose must find before the shapes are checked. */
  requiredClaims: string[];
  lifetimeSeconds(): number;
  hasClaims(payload: JWTPayload): payload is C;
}

const nonEmpty = (value: unknown): value is string => typeof value === "string" && value.length > 0;

function hasCommonClaims(payload: JWTPayload): payload is CommonClaims {
  return nonEmpty(payload.sub) && nonEmpty(payload.sid) && typeof payload.iat === "number" && typeof payload.exp === "number";
}

export const browserToken: TokenKind<BrowserClaims> = {
  name: "browser",
  typ: "JWT",
  audience: BROWSER_AUDIENCE,
  requiredClaims: ["sub", "sid", "iat", "exp"],
  lifetimeSeconds: () => env.JWT_TTL_SECONDS,
  hasClaims: hasBrowserClaims,
};

/** RFC 9068 access token. */
export const accessToken: TokenKind<AccessClaims> = {
  name: "access",
  typ: "at+jwt",
  audience: API_AUDIENCE,
  requiredClaims: ["sub", "sid", "iat", "exp", "jti", "client_id"],
  lifetimeSeconds: () => env.ACCESS_TOKEN_TTL_SECONDS,
  hasClaims: (payload): payload is AccessClaims =>
    hasCommonClaims(payload) &&
    nonEmpty(payload.jti) &&
    nonEmpty(payload.client_id) &&
    typeof payload.email === "string" &&
    (typeof payload.name === "string" || payload.name === null),
};

export interface SignedToken {
  token: string;
  expires: Date;
}

export interface TokenSubject {
  id: string;
  email: string;
  name: string | null;
}

async function signToken<C extends CommonClaims>(
  kind: TokenKind<C>,
  subjectId: string,
  sid: string,
  extraClaims: Record<string, unknown>,
  ttlSeconds: number,
  now: Date,
): Promise<SignedToken> {
  const signing = (await keyRing()).signingKey(now);
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + ttlSeconds;
  const token = await new SignJWT({ ...extraClaims, sid })
    .setProtectedHeader({ alg: SIGNING_ALG, kid: signing.kid, typ: kind.typ })
    .setIssuer(env.JWT_ISSUER)
    .setAudience(kind.audience)
    .setSubject(subjectId)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(signing.privateKey);
  return { token, expires: new Date(exp * 1000) };
}

export function signBrowserJwt(
  user: Pick<TokenSubject, "id">,
  sid: string,
  expires: Date,
  now = new Date(),
  authentication: AuthenticationClaims | null = null,
): Promise<SignedToken> {
  const ttl = Math.max(1, Math.floor((expires.getTime() - now.getTime()) / 1000));
  const claims = authentication ? { auth_time: Math.floor(authentication.time.getTime() / 1000), amr: authentication.methods } : {};
  return signToken(browserToken, user.id, sid, claims, ttl, now);
}

export async function signAccessToken(user: TokenSubject, sid: string, now = new Date()): Promise<SignedToken & { jti: string }> {
  const jti = randomUUID();
  const claims = { jti, client_id: FIRST_PARTY_CLIENT_ID, email: user.email, name: user.name };
  return { ...(await signToken(accessToken, user.id, sid, claims, env.ACCESS_TOKEN_TTL_SECONDS, now)), jti };
}

export interface VerifiedToken<C> {
  header: JWTHeaderParameters;
  claims: C;
}

// A client sends the same token on every request until it expires. The
// signature over those exact bytes cannot change, so a successful verification
// is remembered (keyed by the full token string, with its kind) and only the
// time-dependent checks are redone. Bounded in size; failures are never cached.
// Revocation is not part of this: it is checked per request by the caller.
const VERIFIED_CACHE_SIZE = 5000;
interface Remembered {
  /** The kind's name: the proxy and the app are separate bundles, each with its own kind objects. */
  kind: string;
  verified: VerifiedToken<CommonClaims>;
}
const verifiedKey = Symbol.for("session-or-token.verified-jwts");
type GlobalWithVerified = typeof globalThis & { [verifiedKey]?: Map<string, Remembered> };

function verifiedCache(): Map<string, Remembered> {
  const holder = globalThis as GlobalWithVerified;
  return (holder[verifiedKey] ??= new Map());
}

/** Issued no later than now (with the clock tolerance), and not longer ago than the kind's lifetime, nor meant to outlive it. */
function ageIsPlausible(kind: TokenKind<CommonClaims>, claims: CommonClaims, nowSeconds: number): boolean {
  const lifetime = kind.lifetimeSeconds();
  if (claims.iat - CLOCK_TOLERANCE_SECONDS > nowSeconds) return false;
  if (nowSeconds - claims.iat > lifetime + CLOCK_TOLERANCE_SECONDS) return false;
  return claims.exp - claims.iat <= lifetime;
}

function stillValid(kind: TokenKind<CommonClaims>, verified: VerifiedToken<CommonClaims>, ring: KeyRing, nowSeconds: number): boolean {
  const { claims, header } = verified;
  if (claims.exp + CLOCK_TOLERANCE_SECONDS <= nowSeconds) return false;
  if (!ageIsPlausible(kind, claims, nowSeconds)) return false;
  if (typeof claims.nbf === "number" && claims.nbf - CLOCK_TOLERANCE_SECONDS > nowSeconds) return false;
  // A key taken out of the ring takes its tokens with it.
  return header.kid !== undefined && ring.byKid.has(header.kid);
}

/**
 * Verifies a token of the given kind: signature with a known `kid`, the
 * algorithm allowlist, `typ`, `iss`, `aud`, `exp`/`nbf` (with a small clock
 * tolerance) and the claim shapes. Any failure is `null`: callers never learn
 * why, the log does.
 */
export async function verifyToken<C extends CommonClaims>(kind: TokenKind<C>, token: string): Promise<VerifiedToken<C> | null> {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
  const ring = await keyRing();
  const cache = verifiedCache();
  const remembered = cache.get(token);
  if (remembered) {
    if (remembered.kind !== kind.name) return null;
    if (stillValid(kind as TokenKind<CommonClaims>, remembered.verified, ring, Math.floor(Date.now() / 1000))) return remembered.verified as VerifiedToken<C>;
    cache.delete(token);
    return null;
  }
  const verified = await verifyUncached(kind, token, ring);
  if (verified) {
    if (cache.size >= VERIFIED_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    cache.set(token, { kind: kind.name, verified });
  }
  return verified;
}

async function verifyUncached<C extends CommonClaims>(kind: TokenKind<C>, token: string, ring: KeyRing): Promise<VerifiedToken<C> | null> {
  try {
    const { payload, protectedHeader } = await jwtVerify(
      token,
      async (header) => {
        if (header.kid === undefined) throw new joseErrors.JWKSNoMatchingKey();
        // A kid this instance does not know yet may be a key another instance has just
        // rotated in: the store is asked again (rate-bounded) before the token is refused.
        const key = ring.byKid.get(header.kid) ?? (await keyRingKnowing(header.kid)).byKid.get(header.kid);
        if (!key) throw new joseErrors.JWKSNoMatchingKey();
        return key.publicKey;
      },
      {
        algorithms: ALLOWED_ALGORITHMS,
        issuer: env.JWT_ISSUER,
        audience: kind.audience,
        typ: kind.typ,
        requiredClaims: kind.requiredClaims,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      },
    );
    if (!kind.hasClaims(payload)) return null;
    if (!ageIsPlausible(kind as TokenKind<CommonClaims>, payload, Math.floor(Date.now() / 1000))) {
      log.debug("jwt.rejected", { kind: kind.name, reason: "implausible_age" });
      return null;
    }
    return { header: protectedHeader, claims: payload };
  } catch (error) {
    log.debug("jwt.rejected", { kind: kind.name, reason: error instanceof Error ? error.name : "unknown" });
    return null;
  }
}

export const verifyBrowserJwt = (token: string) => verifyToken(browserToken, token);
export const verifyAccessToken = (token: string) => verifyToken(accessToken, token);
