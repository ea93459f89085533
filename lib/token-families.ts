import "server-only";
import { createHmac, hkdfSync } from "node:crypto";
import { audit } from "./audit";
import { db, isUniqueViolation } from "./db";
import { env } from "./env";
import { keyRing } from "./keys";
import { log } from "./log";
import { hashToken, newOpaqueToken, type ClientContext } from "./security";
import { createTokenSession, revokeSession } from "./session-store";
import { signAccessToken, verifyAccessToken, type TokenSubject } from "./tokens";

/**
 * Bearer tokens for non-browser clients (OAuth 2.0 style, RFC 9700 advice):
 * a short-lived access token (JWS, `typ: at+jwt`) and a long-lived, single-use,
 * opaque refresh token. One sign-in starts a family (a Session row with
 * strategy "api", whose `expires` is the family's absolute lifetime); every
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
  const key = Buffer.from(hkdfSync("sha256", authSecret, "", "session-or-token refresh-token successor", 32));
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

/** Starts a token family for a user who just proved who they are. */
export async function issueTokenPair(user: TokenSubject, context: ClientContext, now = new Date()): Promise<TokenPair> {
  const familyExpires = new Date(now.getTime() + env.TOKEN_FAMILY_TTL_SECONDS * 1000);
  const family = await createTokenSession(user.id, "api", context, familyExpires, now);
  const refreshToken = newOpaqueToken();
  await db().refreshToken.create({
    data: { tokenHash: hashToken(refreshToken), sessionId: family.id, createdAt: now, expiresAt: refreshExpiry(familyExpires, now) },
  });
  log.info("tokens.issued", { userId: user.id, familyId: family.id });
  return pairFor(user, family.id, refreshToken, now);
}

/** Exchanges a refresh token for a new pair; see the module comment for the rules. */
export async function refreshTokenPair(
  refreshToken: string,
  now = new Date(),
  context: ClientContext = { userAgent: null, ip: null },
): Promise<RefreshOutcome> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(refreshToken)) return { ok: false, reason: "unknown" };
  const parent = await db().refreshToken.findUnique({
    where: { tokenHash: hashToken(refreshToken) },
    include: { session: { include: { user: { select: { id: true, email: true, name: true } } } } },
  });
  if (!parent || parent.session.strategy !== "api") return { ok: false, reason: "unknown" };
  const family = parent.session;
  if (family.revokedAt) return { ok: false, reason: "revoked" };
  if (family.expires <= now || parent.expiresAt <= now) return { ok: false, reason: "expired" };

  const successor = await successorOf(refreshToken);
  const successorHash = hashToken(successor);
  if (parent.usedAt === null) {
    const won = await db()
      .refreshToken.create({
        data: { tokenHash: successorHash, sessionId: family.id, createdAt: now, expiresAt: refreshExpiry(family.expires, now) },
      })
      .then(
        () => true,
        (error: unknown) => {
          // Another request with the same parent created the successor first.
          if (isUniqueViolation(error)) return false;
          throw error;
        },
      );
    if (won) {
      await db().refreshToken.updateMany({ where: { id: parent.id, usedAt: null }, data: { usedAt: now } });
      await db().session.updateMany({ where: { id: family.id }, data: { lastSeenAt: now } });
      return { ok: true, pair: await pairFor(family.user, family.id, successor, now) };
    }
  }

  // The parent is spent (or being spent right now by a concurrent request).
  const firstUse = parent.usedAt ?? now;
  if (now.getTime() - firstUse.getTime() <= env.REFRESH_REUSE_GRACE_SECONDS * 1000) {
    const next = await db().refreshToken.findUnique({ where: { tokenHash: successorHash } });
    if (next && next.usedAt === null) return { ok: true, pair: await pairFor(family.user, family.id, successor, now) };
  }
  await revokeSession(family.id, "refresh_token_reuse", now);
  log.warn("refresh.reuse_detected", { familyId: family.id, userId: family.userId });
  await audit("refresh.reuse_detected", { userId: family.userId, context, detail: { familyId: family.id } });
  return { ok: false, reason: "reused" };
}

/**
 * Revokes the family an access token (by its `sid`) or a refresh token belongs
 * to. Unknown tokens are ignored: the caller learns nothing either way.
 */
export async function revokeToken(token: string): Promise<void> {
  const access = await verifyAccessToken(token);
  if (access) {
    await revokeSession(access.claims.sid, "revoked_by_client");
    return;
  }
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return;
  const refresh = await db().refreshToken.findUnique({ where: { tokenHash: hashToken(token) }, select: { sessionId: true } });
  if (refresh) await revokeSession(refresh.sessionId, "revoked_by_client");
}
