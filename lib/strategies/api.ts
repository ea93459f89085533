import "server-only";
import { createHmac } from "node:crypto";
import { decodeProtectedHeader } from "jose";
import { env } from "../platform/env";
import { log } from "../platform/log";
import { audit } from "../security/audit";
import type { ClientContext } from "../security/request";
import { acceptsSession, durationInWords, revocationIsImmediate, revocationIsPushed, revokedTokenFate, tokenCheck } from "../sessions/revocation";
import {
  createRefreshToken,
  createTokenSession,
  findRefreshToken,
  findSessionById,
  markRefreshTokenUsed,
  revokeSession,
  touchSession,
  type RefreshTokenRecord,
  type Authentication,
  type SignInOrigin,
  type StoredSession,
} from "../sessions/store";
import { signAccessToken, verifyAccessToken, type TokenSubject } from "../tokens/jwt";
import { keyRing } from "../tokens/keys";
import { isOpaqueToken, newOpaqueToken } from "../tokens/opaque";
import { purposeKey } from "../tokens/sealed";
import type { SessionStrategy, VerifiedSession } from "./types";

const KIND = "api";

/**
 * Bearer tokens for non-browser clients (OAuth 2.0 style, RFC 9700 advice):
 * a short-lived access token (JWS, `typ: at+jwt`) and a long-lived, single-use,
 * opaque refresh token. One sign-in starts a family (a Session row of this
 * kind, whose `expires` is the family's absolute lifetime); every
 * refresh token descends from it. Presenting a spent refresh token again means
 * two parties hold it: the whole family is revoked.
 *
 * Concurrent refreshes (several tabs, a retry after a lost response) get the
 * same answer: a refresh token's successor is derived from it with a server
 * secret, so within REFRESH_REUSE_GRACE_SECONDS of its first use the same
 * parent yields the same successor (and a fresh access token), while the
 * unique index on the successor's hash picks exactly one writer.
 */
export interface TokenPair {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  refresh_token: string;
}

export type RefreshOutcome =
  | { ok: true; pair: TokenPair }
  | { ok: false; reason: "unknown" | "expired" | "revoked" | "reused" };

async function successorOf(refreshToken: string): Promise<string> {
  const { authSecret } = await keyRing();
  const key = purposeKey(authSecret, "session-or-token refresh-token successor");
  return createHmac("sha256", key).update(refreshToken).digest("base64url");
}

async function pairFor(user: TokenSubject, familyId: string, refreshToken: string, now: Date): Promise<TokenPair> {
  const access = await signAccessToken(user, familyId, now);
  return {
    access_token: access.token,
    token_type: "Bearer",
    expires_in: Math.round((access.expires.getTime() - now.getTime()) / 1000),
    refresh_token: refreshToken,
  };
}

function refreshExpiry(familyExpires: Date, now: Date): Date {
  return new Date(Math.min(now.getTime() + env.REFRESH_TOKEN_TTL_SECONDS * 1000, familyExpires.getTime()));
}

/**
 * Starts a token family for a user who just proved who they are. The family
 * records that authentication (a password grant: now; a browser session's
 * exchange: that session's) and keeps it: refreshing never changes it. A
 * family exchanged from a browser session also records that session's sign-in
 * (`origin`), so what ends the provider session it came from (back-channel
 * logout) ends the family too.
 */
export async function issueTokenPair(
  user: TokenSubject,
  context: ClientContext,
  now = new Date(),
  authentication?: Authentication,
  origin?: SignInOrigin,
): Promise<TokenPair> {
  const familyExpires = new Date(now.getTime() + env.TOKEN_FAMILY_TTL_SECONDS * 1000);
  const family = await createTokenSession(user.id, KIND, context, familyExpires, now, origin, authentication ?? { time: now, methods: ["pwd"] });
  const refreshToken = newOpaqueToken();
  await createRefreshToken({ token: refreshToken, sessionId: family.id, createdAt: now, expiresAt: refreshExpiry(familyExpires, now) });
  log.info("tokens.issued", { userId: user.id, familyId: family.id });
  return pairFor(user, family.id, refreshToken, now);
}

/**
 * POST /api/token's exchange: a token family for a signed-in browser session,
 * with the authentication the step-up check trusted and the browser session's
 * sign-in origin.
 */
export async function exchangeBrowserSession(session: VerifiedSession, context: ClientContext, authentication: Authentication | null, now = new Date()): Promise<TokenPair> {
  const browser = session.sessionId ? await findSessionById(session.sessionId) : null;
  return issueTokenPair(session.user, context, now, authentication ?? undefined, browser?.origin ?? undefined);
}

export type RefreshStanding =
  | { ok: true; parent: RefreshTokenRecord; family: StoredSession }
  | { ok: false; reason: "unknown" | "expired" | "revoked" };

/**
 * The first half of a refresh, without spending the token: is it known, unexpired,
 * and its family active? (A spent one that passes may still be reuse; see
 * refreshTokenPair.) The comparison lab uses it to watch a revoked family's
 * refresh token get refused without redeeming it.
 */
export async function refreshTokenStanding(refreshToken: string, now = new Date()): Promise<RefreshStanding> {
  if (!isOpaqueToken(refreshToken)) return { ok: false, reason: "unknown" };
  const parent = await findRefreshToken(refreshToken);
  const family = parent && (await findSessionById(parent.sessionId));
  if (!parent || !family || family.strategy !== KIND) return { ok: false, reason: "unknown" };
  if (family.revokedAt) return { ok: false, reason: "revoked" };
  if (family.expires <= now || parent.expiresAt <= now) return { ok: false, reason: "expired" };
  return { ok: true, parent, family };
}

/** Exchanges a refresh token for a new pair; see the module comment for the rules. */
export async function refreshTokenPair(
  refreshToken: string,
  now = new Date(),
  context: ClientContext = { userAgent: null, ip: null },
): Promise<RefreshOutcome> {
  const standing = await refreshTokenStanding(refreshToken, now);
  if (!standing.ok) return standing;
  const { parent, family } = standing;

  const successor = await successorOf(refreshToken);
  if (parent.usedAt === null) {
    // False when another request with the same parent created the successor first.
    const won = await createRefreshToken({ token: successor, sessionId: family.id, createdAt: now, expiresAt: refreshExpiry(family.expires, now) });
    if (won) {
      await markRefreshTokenUsed(refreshToken, now);
      await touchSession(family.id, now, now);
      return { ok: true, pair: await pairFor(family.user, family.id, successor, now) };
    }
  }

  // The parent is spent (or being spent right now by a concurrent request).
  const firstUse = parent.usedAt ?? now;
  if (now.getTime() - firstUse.getTime() <= env.REFRESH_REUSE_GRACE_SECONDS * 1000) {
    const next = await findRefreshToken(successor);
    if (next && next.usedAt === null) return { ok: true, pair: await pairFor(family.user, family.id, successor, now) };
  }
  await revokeSession(family.id, "refresh_token_reuse", now);
  log.warn("refresh.reuse_detected", { familyId: family.id, userId: family.userId, ip: context.ip });
  await audit("refresh.reuse_detected", { userId: family.userId, context, detail: { familyId: family.id } });
  return { ok: false, reason: "reused" };
}

/**
 * Revokes the family an access token (by its `sid`) or a refresh token belongs
 * to, and records it. Unknown tokens are ignored: the caller learns nothing
 * either way.
 */
export async function revokeToken(token: string, context?: ClientContext): Promise<boolean> {
  const access = await verifyAccessToken(token);
  let familyId: string | null = access?.claims.sid ?? null;
  if (!familyId && isOpaqueToken(token)) {
    familyId = (await findRefreshToken(token))?.sessionId ?? null;
  }
  if (!familyId) return false;
  const family = await findSessionById(familyId);
  if (!family || family.strategy !== KIND || !(await revokeSession(family.id, "revoked_by_client"))) return false;
  await audit("session.revoked", { userId: family.userId, context, detail: { by: "client", sessionId: family.id, reason: "revoked_by_client" } });
  return true;
}

/**
 * API clients: an access token in `Authorization: Bearer`, backed by a token
 * family. Not offered at sign-in; POST /api/token starts one.
 */
export const apiStrategy: SessionStrategy<typeof KIND> = {
  kind: KIND,
  label: "API tokens",
  sessionLabel: "API tokens",
  credentialLabel: "API access token (Bearer)",
  credentialForm: "signed",
  transport: "bearer",
  cookieName: null,
  idleTimeoutSeconds: null,

  facts() {
    const lifetime = durationInWords(env.ACCESS_TOKEN_TTL_SECONDS);
    return {
      hint: `short-lived access token (${lifetime}) in Authorization: Bearer, rotating single-use refresh token`,
      steps: [
        "POST /api/token with a password (or a signed-in browser session) returns an access token and a refresh token.",
        revocationIsPushed()
          ? "Every API request verifies the access token's signature and checks its family (sid) against the revocations pushed to this instance: no lookup."
          : revocationIsImmediate()
            ? "Every API request verifies the access token's signature and looks its family (sid) up."
            : "Every API request verifies the access token's signature, with no lookup.",
        `Revoking the family ends the refresh tokens at once; for access tokens ${revokedTokenFate(env.ACCESS_TOKEN_TTL_SECONDS)}.`,
      ],
      check: tokenCheck("family"),
    };
  },

  async issue(user, context, origin, authentication) {
    const pair = await issueTokenPair(user, context, new Date(), authentication, origin);
    return { value: pair.access_token, expires: new Date(Date.now() + pair.expires_in * 1000) };
  },

  async verify(credential) {
    const verified = await verifyAccessToken(credential);
    if (!verified || !(await acceptsSession(verified.claims.sid))) return null;
    const { claims } = verified;
    return {
      strategy: KIND,
      user: { id: claims.sub, email: claims.email, name: claims.name },
      expires: new Date(claims.exp * 1000),
      credential,
      sessionId: claims.sid,
    };
  },

  async revoke(credential) {
    const revoked = await revokeToken(credential);
    return {
      revokedOnServer: revoked,
      summary: `The token family was revoked: its refresh tokens are refused at once; for its access tokens ${revokedTokenFate(env.ACCESS_TOKEN_TTL_SECONDS)}.`,
    };
  },

  async evidence(session) {
    const verified = await verifyAccessToken(session.credential);
    const family = session.sessionId ? await findSessionById(session.sessionId) : null;
    return {
      sections: [
        { title: "Access token header", testId: "access-token-header", content: decodeProtectedHeader(session.credential) },
        { title: "Access token claims", testId: "access-token-claims", content: verified?.claims ?? null },
        {
          title: "Token family the sid claim points to",
          testId: "token-family",
          content: family && { id: family.id, createdAt: family.createdAt.toISOString(), expires: family.expires.toISOString(), revokedAt: family.revokedAt?.toISOString() ?? null },
        },
      ],
      notes: ["The access token is short-lived; the refresh token is single-use and stored only as a hash."],
    };
  },
};
