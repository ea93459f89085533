import "server-only";
import { env } from "../platform/env";
import type { ClientContext } from "../security/request";
import { feedEpoch, forgetSession, rememberSession, rememberedSession } from "../sessions/feed";
import {
  deleteSession,
  deleteSessionById,
  findSessionByToken,
  findSessionByTokenHash,
  findSessionById,
  insertSession,
  isIdle,
  recordActivity,
  recordAuthentication,
  sessionStoreLabel,
  type Authentication,
  type SignInOrigin,
  type StoredSession,
} from "../sessions/store";
import { revocationIsPushed } from "../sessions/revocation";
import { hashToken, isOpaqueToken, newOpaqueToken } from "../tokens/opaque";
import type { SessionStrategy } from "./types";

const KIND = "database";
const COOKIE = "sot.session";
const idleRules = () => [{ kind: KIND, idleTimeoutSeconds: env.SESSION_IDLE_TIMEOUT_SECONDS }];

/** Starts a database session: a random token for the cookie, its hash in a new row. */
export async function createSession(
  userId: string,
  context: ClientContext,
  now = new Date(),
  origin?: SignInOrigin,
  authentication?: Authentication,
): Promise<{ token: string; session: StoredSession }> {
  const token = newOpaqueToken();
  const expires = new Date(now.getTime() + env.SESSION_TTL_SECONDS * 1000);
  const session = await insertSession({ tokenHash: hashToken(token), userId, kind: KIND, expires, context, now, origin, authentication });
  return { token, session };
}

/**
 * Looks the token up. Unknown, revoked, past its absolute lifetime or idle for
 * longer than SESSION_IDLE_TIMEOUT_SECONDS → null (an expired row is deleted
 * on the way). A hit records activity (sliding renewal of the idle timeout,
 * never of the absolute end).
 */
export async function findSession(token: string, now = new Date()): Promise<StoredSession | null> {
  const tokenHash = hashToken(token);
  const remembered = rememberedSession(tokenHash, now.getTime());
  if (remembered === "revoked") return null;
  let session = remembered && (remembered.value as StoredSession);
  if (session && (session.expires <= now || isIdle(session, now, idleRules()))) {
    // Idle here, but another instance may have seen it since: ask the store.
    forgetSession(tokenHash);
    session = null;
  }
  const epoch = feedEpoch();
  if (!session) {
    session = await findSessionByTokenHash(tokenHash);
    if (!session || session.strategy !== KIND || session.revokedAt) return null;
    if (session.expires <= now || isIdle(session, now, idleRules())) {
      await deleteSessionById(session.id);
      return null;
    }
  }
  session.lastSeenAt = await recordActivity(session, now);
  // Pushed revocation (feed live): kept in memory until its idle or absolute end, or a notice.
  rememberSession(tokenHash, session.id, session, Math.min(session.expires.getTime(), session.lastSeenAt.getTime() + env.SESSION_IDLE_TIMEOUT_SECONDS * 1000), epoch);
  return session;
}

export { deleteSession };

/** Opaque token in the cookie, the session itself in the database. */
export const databaseStrategy: SessionStrategy<typeof KIND> = {
  kind: KIND,
  label: "Database session",
  sessionLabel: "Database session",
  credentialLabel: "Database session",
  credentialForm: "opaque",
  transport: "cookie",
  cookieName: COOKIE,
  get idleTimeoutSeconds() {
    return env.SESSION_IDLE_TIMEOUT_SECONDS;
  },

  facts() {
    const pushed = revocationIsPushed();
    return {
      hint: "opaque id in the cookie, session row in the database, looked up on every request",
      steps: [
        "At sign-in the server stores a session row and gives the browser a random id in an HttpOnly cookie.",
        "Every request looks the id up. The database keeps only its hash.",
        "Sign-out deletes the row: the id is refused from the next request on.",
      ],
      check: "database lookup",
      sequence: {
        participants: ["Browser", "Server", sessionStoreLabel()],
        phases: [
          {
            title: "Sign-in",
            messages: [
              { from: 0, to: 1, label: "POST sign-in: email, password" },
              { from: 1, to: 2, label: "store the session under hash(id)" },
              { from: 1, to: 0, label: `Set-Cookie: ${COOKIE}=<random id>`, reply: true },
            ],
          },
          {
            title: "Every request",
            messages: [
              { from: 0, to: 1, label: "GET /dashboard with the cookie" },
              // Pushed mode: a session read once is kept in memory until a pushed notice drops it.
              pushed
                ? { from: 1, to: 1, label: "find the session by hash(id) in memory (read once, then kept)" }
                : { from: 1, to: 2, label: "read the session by hash(id)" },
              { from: 1, to: 0, label: "page", reply: true },
            ],
          },
          {
            title: "Sign-out",
            messages: [
              { from: 0, to: 1, label: "POST sign-out with the cookie" },
              { from: 1, to: 2, label: "delete the session" },
              ...(pushed ? [{ from: 1, to: 1, label: "push the deletion to every instance" }] : []),
              { from: 1, to: 0, label: "cookie cleared; the id is refused from now on", reply: true },
            ],
          },
        ],
      },
    };
  },

  async issue(user, context, origin, authentication) {
    const { token, session } = await createSession(user.id, context, new Date(), origin, authentication);
    return { value: token, expires: session.expires };
  },

  async verify(credential) {
    // A well-formed token is 43 base64url characters; anything else is not looked up.
    if (!isOpaqueToken(credential)) return null;
    const session = await findSession(credential);
    if (!session) return null;
    return { strategy: KIND, user: session.user, expires: session.expires, credential, sessionId: session.id, authentication: session.authentication };
  },

  async reauthenticate(session, authentication) {
    if (!session.sessionId) return { recorded: false, credential: null };
    const recorded = await recordAuthentication(session.sessionId, authentication);
    // The copy pushed mode keeps in memory would still show the old time.
    forgetSession(hashToken(session.credential));
    return { recorded, credential: null };
  },

  async currentAuthentication(session) {
    // The row, not the in-memory copy (pushed mode) nor the one this request
    // verified: a confirmation on another instance or a moment ago counts.
    return session.sessionId ? ((await findSessionById(session.sessionId))?.authentication ?? null) : null;
  },

  async revoke(credential) {
    const removed = await deleteSession(credential);
    return {
      revokedOnServer: removed,
      summary: removed
        ? "The session row was deleted. The old cookie value is now refused on its very next use."
        : "No session row matched; nothing was left to revoke.",
    };
  },

  async evidence(session) {
    const row = await findSessionByToken(session.credential);
    return {
      sections: [
        {
          title: "Session row in the database",
          testId: "session-row",
          content: row && {
            id: row.id,
            sessionToken: `${row.tokenHash?.slice(0, 12)}… (SHA-256 of the cookie, base64url)`,
            userId: row.userId,
            strategy: row.strategy,
            createdAt: row.createdAt.toISOString(),
            expires: row.expires.toISOString(),
            lastSeenAt: row.lastSeenAt.toISOString(),
            userAgent: row.userAgent,
            ip: row.ip,
          },
        },
      ],
      notes: [
        "The cookie is an opaque random value: it means nothing without the database.",
        "Every request looks it up, so deleting the row signs the browser out at once.",
        "The database stores only a hash: a stolen backup cannot be replayed as cookies.",
      ],
    };
  },
};
