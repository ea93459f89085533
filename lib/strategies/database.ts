import "server-only";
import { createSession, deleteSession, findSession } from "../session-store";
import type { SessionStrategy } from "./types";

/** Opaque token in the cookie, the session itself in the database. */
export const databaseStrategy: SessionStrategy<"database"> = {
  name: "database",
  label: "Database session",
  hint: "opaque id in the cookie, session row in the database",
  cookieName: "sot.session",

  async issue(user, context) {
    const { token, session } = await createSession(user.id, context);
    return { value: token, expires: session.expires };
  },

  async verify(credential) {
    // A well-formed token is 43 base64url characters; anything else is not looked up.
    if (!/^[A-Za-z0-9_-]{43}$/.test(credential)) return null;
    const session = await findSession(credential);
    if (!session) return null;
    return { strategy: "database", user: session.user, expires: session.expires, credential, sessionId: session.id };
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
    const row = await findSession(session.credential);
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
