import "server-only";
import { decodeProtectedHeader } from "jose";
import { env } from "../env";
import { acceptsSession, revocationSummary } from "../revocation";
import { activeSessionExpiry, createTokenSession, findSessionById, revokeSession, touchSession } from "../session-store";
import { signBrowserJwt, verifyBrowserJwt } from "../tokens";
import type { SessionStrategy } from "./types";

function tokenExpiry(now: Date, sessionEnds: Date): Date {
  return new Date(Math.min(now.getTime() + env.JWT_TTL_SECONDS * 1000, sessionEnds.getTime()));
}

/**
 * A signed JWT in the cookie. The claims travel with the token; the server
 * keeps one small row per sign-in, which the token's `sid` points to, so that
 * sign-out and "revoke" can mean something (the hybrid model).
 */
export const jwtStrategy: SessionStrategy<"jwt"> = {
  name: "jwt",
  label: "JWT",
  hint: "signed token in the cookie, verified without a lookup",
  cookieName: "sot.jwt",

  async issue(user, context) {
    const now = new Date();
    // The record lives for the session's absolute lifetime; each JWT only for JWT_TTL_SECONDS of it.
    const sessionEnds = new Date(now.getTime() + env.SESSION_TTL_SECONDS * 1000);
    const session = await createTokenSession(user.id, "jwt", context, sessionEnds, now);
    const expires = tokenExpiry(now, sessionEnds);
    const { token } = await signBrowserJwt(user, session.id, expires, now);
    return { value: token, expires };
  },

  async renew(session) {
    const now = new Date();
    // Renew once half of the token's life is gone; before that, nothing is written or signed.
    if (!session.sessionId || session.expires.getTime() - now.getTime() > (env.JWT_TTL_SECONDS * 1000) / 2) return null;
    const sessionEnds = await activeSessionExpiry(session.sessionId, now);
    if (!sessionEnds) return null;
    const expires = tokenExpiry(now, sessionEnds);
    if (expires <= session.expires) return null;
    // Of concurrent requests due for renewal, one wins the write and renews; the rest keep the valid token they have.
    if (!(await touchSession(session.sessionId, now, new Date(now.getTime() - (env.JWT_TTL_SECONDS * 1000) / 2)))) return null;
    const { token } = await signBrowserJwt(session.user, session.sessionId, expires, now);
    return { value: token, expires };
  },

  async verify(credential) {
    const verified = await verifyBrowserJwt(credential);
    if (!verified || !(await acceptsSession(verified.claims.sid))) return null;
    const { claims } = verified;
    return {
      strategy: "jwt",
      user: { id: claims.sub, email: claims.email, name: claims.name, role: claims.role },
      expires: new Date(claims.exp * 1000),
      credential,
      sessionId: claims.sid,
    };
  },

  async revoke(credential) {
    const verified = await verifyBrowserJwt(credential);
    const revoked = verified ? await revokeSession(verified.claims.sid, "sign_out") : false;
    const strict = env.REVOCATION_MODE === "strict";
    return {
      revokedOnServer: revoked && strict,
      summary: strict
        ? "The cookie was deleted and the session behind the token marked revoked: this server refuses a copy of it from the next request on. A service that only holds the public key would still accept it until it expires."
        : "The cookie was deleted and the session marked revoked, but this server runs stateless: a copy of the token still verifies until it expires.",
    };
  },

  async evidence(session) {
    const verified = await verifyBrowserJwt(session.credential);
    const record = session.sessionId ? await findSessionById(session.sessionId) : null;
    return {
      sections: [
        { title: "JWT header", testId: "jwt-header", content: decodeProtectedHeader(session.credential) },
        { title: "JWT claims", testId: "jwt-claims", content: verified?.claims ?? null },
        {
          title: "Server-side record the sid claim points to",
          testId: "session-record",
          content: record && {
            id: record.id,
            strategy: record.strategy,
            createdAt: record.createdAt.toISOString(),
            expires: record.expires.toISOString(),
            revokedAt: record.revokedAt?.toISOString() ?? null,
            userAgent: record.userAgent,
          },
        },
      ],
      notes: [
        "The cookie carries the claims themselves, signed with the server's Ed25519 key.",
        "Checking the signature needs only the public key and no database, so other services can do it too.",
        revocationSummary(),
      ],
    };
  },
};
