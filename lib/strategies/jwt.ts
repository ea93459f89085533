import "server-only";
import { decodeProtectedHeader } from "jose";
import { env } from "../platform/env";
import { isLive, sessionKnownActive } from "../sessions/feed-checks";
import { rememberedProfile } from "../sessions/profiles";
import { durationInWords, revocationIsImmediate, revocationIsPushed, revocationSummary, revokedTokenFate, tokenCheck } from "../sessions/revocation";
import {
  activeSessionExpiry,
  activeSessionUser,
  createTokenSession,
  findSessionById,
  recordAuthentication,
  revokeSession,
  sessionStoreLabel,
  touchSession,
  type SessionUser,
} from "../sessions/store";
import { authenticationOf, signBrowserJwt, verifyBrowserJwt, type BrowserClaims } from "../tokens/jwt";
import type { Sequence, SequenceMessage, SessionStrategy } from "./types";

const KIND = "jwt";
const COOKIE = "sot.jwt";

/** Sign-in, a request and sign-out with a browser JWT, as this server's revocation mode does them. */
function jwtSequence(immediate: boolean, pushed: boolean): Sequence {
  const [browser, server, store] = [0, 1, 2];
  const check: SequenceMessage[] = pushed
    ? [{ from: server, to: server, label: "verify the signature; sid in the revoked list in memory? (no lookup)" }]
    : immediate
      ? [
          { from: server, to: server, label: "verify the signature" },
          { from: server, to: store, label: "look up sid: revoked?" },
        ]
      : [{ from: server, to: server, label: "verify the signature (no lookup)" }];
  return {
    participants: ["Browser", "Server (private key)", sessionStoreLabel()],
    phases: [
      {
        title: "Sign-in",
        messages: [
          { from: browser, to: server, label: "POST sign-in: email, password" },
          { from: server, to: store, label: "store a session record: its id is the sid" },
          { from: server, to: server, label: "sign {sub, sid, exp, …} with the private key" },
          { from: server, to: browser, label: `Set-Cookie: ${COOKIE}=<header.claims.signature>`, reply: true },
        ],
      },
      {
        title: "Every request",
        messages: [{ from: browser, to: server, label: "GET /dashboard with the cookie" }, ...check, { from: server, to: browser, label: "page", reply: true }],
      },
      {
        title: "Sign-out",
        messages: [
          { from: browser, to: server, label: "POST sign-out with the cookie" },
          { from: server, to: store, label: "mark the session revoked" },
          ...(pushed ? [{ from: server, to: server, label: "push the revocation to every instance" }] : []),
          immediate
            ? { from: server, to: browser, label: "cookie cleared; a copy is refused here, but verifies elsewhere until exp", reply: true }
            : { from: server, to: browser, label: "cookie cleared; a copy still works here until exp", reply: true },
        ],
      },
    ],
  };
}

/**
 * The user a verified token stands for. Strict: one primary-key read of its
 * session (revoked, expired or another user's → null), joined with the user.
 * Pushed (feed live): the revoked ids in memory instead of the lookup.
 * Stateless: no session lookup; the user's name and e-mail from memory.
 */
async function tokenUser(claims: BrowserClaims): Promise<SessionUser | null> {
  if (!revocationIsImmediate()) return rememberedProfile(claims.sub);
  if (isLive()) return (await sessionKnownActive(claims.sid, claims.sub)) ? rememberedProfile(claims.sub) : null;
  return activeSessionUser(claims.sid, claims.sub);
}

function tokenExpiry(now: Date, sessionEnds: Date): Date {
  return new Date(Math.min(now.getTime() + env.JWT_TTL_SECONDS * 1000, sessionEnds.getTime()));
}

/**
 * A signed JWT in the cookie. The claims travel with the token; the server
 * keeps one small row per sign-in, which the token's `sid` points to, so that
 * sign-out and "revoke" can mean something (the hybrid model).
 */
export const jwtStrategy: SessionStrategy<typeof KIND> = {
  kind: KIND,
  label: "JWT",
  sessionLabel: "JWT (browser)",
  credentialLabel: "Browser JWT",
  credentialForm: "signed",
  transport: "cookie",
  cookieName: COOKIE,
  // A browser JWT is renewed while in use; unused, it simply expires (JWT_TTL_SECONDS).
  idleTimeoutSeconds: null,

  facts() {
    const lifetime = durationInWords(env.JWT_TTL_SECONDS);
    const immediate = revocationIsImmediate();
    const pushed = revocationIsPushed();
    const sequence = jwtSequence(immediate, pushed);
    if (pushed)
      return {
        hint: `signed token in the cookie (${lifetime}), signature checked and its session compared with the revocations pushed to every instance`,
        steps: [
          "At sign-in the server signs a JSON Web Token with its private key; the claims travel in the cookie.",
          "Every request verifies the signature and checks the token's session (sid) against the revoked sessions this instance holds in memory: no lookup.",
          "Sign-out deletes the cookie, marks the session revoked and pushes that to every instance: a copy is refused from the next request on; a service holding only the public key accepts it until it expires.",
        ],
        check: tokenCheck("session"),
        sequence,
      };
    return immediate
      ? {
          hint: `signed token in the cookie (${lifetime}), signature checked and its session looked up on every request`,
          steps: [
            "At sign-in the server signs a JSON Web Token with its private key; the claims travel in the cookie.",
            "Every request verifies the signature and looks the token's session (sid) up by primary key: every service with the public key can verify it, but only this server knows about revocation.",
            "Sign-out deletes the cookie and marks the session revoked: this server refuses a copy from the next request on; a service holding only the public key accepts it until it expires.",
          ],
          check: tokenCheck("session"),
          sequence,
        }
      : {
          hint: `signed token in the cookie (${lifetime}), verified without a lookup`,
          steps: [
            "At sign-in the server signs a JSON Web Token with its private key; the claims travel in the cookie.",
            "Every request verifies the signature: no lookup, and any service with the public key can do it.",
            `Sign-out deletes the cookie, but ${revokedTokenFate(env.JWT_TTL_SECONDS)}.`,
          ],
          check: tokenCheck("session"),
          sequence,
        };
  },

  async issue(user, context, origin, authentication) {
    const now = new Date();
    // The record lives for the session's absolute lifetime; each JWT only for JWT_TTL_SECONDS of it.
    const sessionEnds = new Date(now.getTime() + env.SESSION_TTL_SECONDS * 1000);
    const session = await createTokenSession(user.id, KIND, context, sessionEnds, now, origin, authentication);
    const expires = tokenExpiry(now, sessionEnds);
    const { token } = await signBrowserJwt(user, session.id, expires, now, authentication ?? null);
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
    // The renewed token states the same authentication as the one it replaces: renewal is not a sign-in.
    const { token } = await signBrowserJwt(session.user, session.sessionId, expires, now, session.authentication ?? null);
    return { value: token, expires };
  },

  async reauthenticate(session, authentication) {
    const now = new Date();
    if (!session.sessionId || !(await recordAuthentication(session.sessionId, authentication, now))) return { recorded: false, credential: null };
    const sessionEnds = await activeSessionExpiry(session.sessionId, now);
    if (!sessionEnds) return { recorded: false, credential: null };
    // A new token with the new auth_time: every revocation mode reads the time from
    // the signed claim, so the cookie is what makes the confirmation count.
    const expires = tokenExpiry(now, sessionEnds);
    const { token } = await signBrowserJwt(session.user, session.sessionId, expires, now, authentication);
    return { recorded: true, credential: { value: token, expires } };
  },

  async currentAuthentication(session) {
    const claimed = session.authentication ?? null;
    // Stateless mode reads nothing per request: the signed claim is the answer.
    if (!revocationIsImmediate() || !session.sessionId) return claimed;
    // Otherwise the record is read too and the earlier of the two counts: a
    // confirmation moves both (the record, and the new cookie's claim).
    const recorded = (await findSessionById(session.sessionId))?.authentication ?? null;
    if (!claimed || !recorded) return null;
    return recorded.time < claimed.time ? recorded : claimed;
  },

  async verify(credential) {
    const verified = await verifyBrowserJwt(credential);
    const user = verified && (await tokenUser(verified.claims));
    if (!verified || !user) return null;
    const { claims } = verified;
    return {
      strategy: KIND,
      user,
      expires: new Date(claims.exp * 1000),
      credential,
      sessionId: claims.sid,
      authentication: authenticationOf(claims),
    };
  },

  async revoke(credential) {
    const verified = await verifyBrowserJwt(credential);
    const revoked = verified ? await revokeSession(verified.claims.sid, "sign_out") : false;
    const immediate = revocationIsImmediate();
    return {
      revokedOnServer: revoked && immediate,
      summary: `The session behind the token was marked revoked: ${revokedTokenFate(env.JWT_TTL_SECONDS)}.${
        immediate ? " A service that only holds the public key would still accept it until it expires." : ""
      }`,
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
        "Checking the signature needs only the public key, so other services can do it too.",
        revocationSummary(),
      ],
    };
  },
};
