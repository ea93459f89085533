import "server-only";
import { createHash } from "node:crypto";

const digest = (...parts: string[]) => createHash("sha256").update(parts.join("\n")).digest("base64url");

/**
 * The Redis keys of the session store (./redis-store.ts), shared with the
 * revocation feed (./feed.ts), which loads the revoked ids and listens on the
 * channel. One Redis, not Redis Cluster: the store's scripts build some key
 * names from what they read.
 */
export const redisKeys = {
  session: (id: string) => `sot:session:${id}`,
  sessionPrefix: "sot:session:",
  tokenPrefix: "sot:session-token:",
  token: (tokenHash: string) => `sot:session-token:${tokenHash}`,
  /** Sorted set of a user's session ids, scored by their absolute end (ms). */
  userSessions: (userId: string) => `sot:user-sessions:${userId}`,
  userSessionsPrefix: "sot:user-sessions:",
  /** Every session id, scored by its absolute end (ms): the admin's list. */
  allSessions: "sot:sessions",
  /** Revoked session ids, scored by when they were revoked (ms): what the feed loads. */
  revoked: "sot:revoked-sessions",
  /** Sorted sets of the session ids started from a provider session / by a provider subject, scored by their end (ms): back-channel logout. */
  providerSession: (issuer: string, sid: string) => `sot:idp-session:${digest(issuer, sid)}`,
  providerSubject: (issuer: string, subject: string) => `sot:idp-subject:${digest(issuer, subject)}`,
  refreshToken: (tokenHash: string) => `sot:refresh-token:${tokenHash}`,
  /** The revocation feed's pub/sub channel. */
  channel: "sot:revocations",
} as const;
