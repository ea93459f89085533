import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  BACKCHANNEL_LOGOUT_EVENT,
  LOGOUT_TOKEN_LEEWAY_SECONDS,
  LOGOUT_TOKEN_MAX_AGE_SECONDS,
  checkLogoutClaims,
} from "../lib/auth/backchannel-logout";
import { db } from "../lib/platform/db";
import { createTokenSession, findSessionById, revokeProviderSessions } from "../lib/sessions/store";
import { jwtStrategy } from "../lib/strategies/jwt";
import { exchangeBrowserSession, issueTokenPair, refreshTokenPair } from "../lib/strategies/api";
import { resolveBearer } from "./support/requests";

// The claim checks of a back-channel logout token (OpenID Connect Back-Channel
// Logout 1.0 §2.6) on already-verified claims, and the store's revocation by
// provider session. The signature, the replay check and the endpoint run
// against the real test provider in e2e/oidc-logout.spec.ts.

const ISSUER = "https://idp.example.test";
const AUDIENCE = "session-or-token";
const NOW = new Date(Date.UTC(2026, 10, 23, 12, 0, 0));
const nowSeconds = Math.floor(NOW.getTime() / 1000);
const expected = { issuer: ISSUER, audience: AUDIENCE, now: NOW };
const TYPED = { typ: "logout+jwt" };

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: ISSUER, aud: AUDIENCE, iat: nowSeconds, exp: nowSeconds + 120, jti: "jti-1", events: { [BACKCHANNEL_LOGOUT_EVENT]: {} }, sid: "sid-1", sub: "alice", ...overrides };
}

function without(...names: string[]): Record<string, unknown> {
  const all = claims();
  for (const name of names) delete all[name];
  return all;
}

const reason = (payload: Record<string, unknown>, header: { typ?: string } = TYPED) => {
  const result = checkLogoutClaims(payload, header, expected);
  return result.ok ? "ok" : result.reason;
};

test("logout claims: a well-formed token names its issuer, jti, sid and sub", () => {
  assert.deepEqual(checkLogoutClaims(claims(), TYPED, expected), { ok: true, issuer: ISSUER, jti: "jti-1", sid: "sid-1", sub: "alice" });
  assert.equal(reason(claims({ aud: ["other", AUDIENCE] })), "ok", "an audience array that contains ours");
});

test("logout claims: typ may be absent (explicit typing is recommended), else it must be logout+jwt", () => {
  assert.equal(reason(claims(), {}), "ok");
  assert.equal(reason(claims(), { typ: "application/logout+jwt" }), "ok");
  assert.equal(reason(claims(), { typ: "JWT" }), "typ");
  assert.equal(reason(claims(), { typ: "at+jwt" }), "typ");
});

test("logout claims: sid alone or sub alone is enough; neither is refused", () => {
  assert.deepEqual(checkLogoutClaims(without("sub"), TYPED, expected), { ok: true, issuer: ISSUER, jti: "jti-1", sid: "sid-1", sub: null });
  assert.deepEqual(checkLogoutClaims(without("sid"), TYPED, expected), { ok: true, issuer: ISSUER, jti: "jti-1", sid: null, sub: "alice" });
  assert.equal(reason(without("sid", "sub")), "no_sid_or_sub");
});

test("logout claims: issuer and audience must be ours", () => {
  assert.equal(reason(claims({ iss: "https://other.example.test" })), "issuer");
  assert.equal(reason(claims({ aud: "another-client" })), "audience");
  assert.equal(reason(claims({ aud: [] })), "audience");
  assert.equal(reason(without("aud")), "malformed");
});

test("logout claims: the events claim must hold the back-channel logout event as an object", () => {
  assert.equal(reason(without("events")), "events");
  assert.equal(reason(claims({ events: { [BACKCHANNEL_LOGOUT_EVENT]: "yes" } })), "events");
  assert.equal(reason(claims({ events: { [BACKCHANNEL_LOGOUT_EVENT]: [] } })), "events");
  assert.equal(reason(claims({ events: { "http://schemas.openid.net/event/other": {} } })), "events");
  assert.equal(reason(claims({ events: [BACKCHANNEL_LOGOUT_EVENT] })), "events");
});

test("logout claims: a nonce is refused (it would be an ID token), even an empty one", () => {
  assert.equal(reason(claims({ nonce: "abc" })), "nonce");
  assert.equal(reason(claims({ nonce: "" })), "nonce");
});

test("logout claims: iat and jti are required", () => {
  assert.equal(reason(without("iat")), "iat");
  assert.equal(reason(without("jti")), "jti");
  assert.equal(reason(claims({ jti: "" })), "jti");
  assert.equal(reason(without("exp")), "malformed");
});

test("logout claims: iat within the leeway ahead and the maximum age behind; exp not past", () => {
  assert.equal(reason(claims({ iat: nowSeconds + LOGOUT_TOKEN_LEEWAY_SECONDS })), "ok");
  assert.equal(reason(claims({ iat: nowSeconds + LOGOUT_TOKEN_LEEWAY_SECONDS + 1 })), "iat");
  assert.equal(reason(claims({ iat: nowSeconds - LOGOUT_TOKEN_MAX_AGE_SECONDS })), "ok");
  assert.equal(reason(claims({ iat: nowSeconds - LOGOUT_TOKEN_MAX_AGE_SECONDS - 1 })), "too_old");
  assert.equal(reason(claims({ iat: nowSeconds - 60, exp: nowSeconds - LOGOUT_TOKEN_LEEWAY_SECONDS })), "expired");
});

test("provider sessions: revoked by (issuer, sid), or by (issuer, sub) for all of the subject's, never another issuer's", async () => {
  const user = await db().user.create({ data: { email: `bcl-${crypto.randomUUID()}@example.com`, name: "BCL" } });
  const context = { userAgent: "node-test", ip: "127.0.0.1" };
  const expires = new Date(Date.now() + 3600_000);
  const start = (issuer: string, subject: string, sid: string | null) =>
    createTokenSession(user.id, "jwt", context, expires, new Date(), { method: "oidc", issuer, subject, providerSessionId: sid });
  const a1 = await start(ISSUER, "alice", "sid-a1");
  const a2 = await start(ISSUER, "alice", "sid-a2");
  const other = await start("https://other.example.test", "alice", "sid-a1");
  const password = await createTokenSession(user.id, "jwt", context, expires, new Date(), { method: "password" });

  assert.deepEqual(await revokeProviderSessions({ issuer: ISSUER, sid: "sid-a1", subject: "alice" }, "backchannel_logout"), [a1.id]);
  assert.equal((await findSessionById(a1.id))?.revokedReason, "backchannel_logout");
  assert.equal((await findSessionById(a2.id))?.revokedAt, null);
  assert.deepEqual(await revokeProviderSessions({ issuer: ISSUER, sid: "sid-a1", subject: "bob" }, "backchannel_logout"), [], "sid with another subject");
  assert.deepEqual(await revokeProviderSessions({ issuer: ISSUER, sid: null, subject: "alice" }, "backchannel_logout"), [a2.id]);
  assert.deepEqual(await revokeProviderSessions({ issuer: ISSUER, sid: null, subject: null }, "backchannel_logout"), []);
  assert.equal((await findSessionById(other.id))?.revokedAt, null);
  assert.equal((await findSessionById(password.id))?.revokedAt, null);
});

test("provider sessions: an API token family exchanged from a provider session is revoked with it; one from a password grant is not", async () => {
  const user = await db().user.create({ data: { email: `bcl-family-${crypto.randomUUID()}@example.com`, name: "BCL family" } });
  const context = { userAgent: "node-test", ip: "127.0.0.1" };
  const issued = await jwtStrategy.issue(user, context, { method: "oidc", issuer: ISSUER, subject: "carol", providerSessionId: "sid-c1" });
  const browser = await jwtStrategy.verify(issued.value);
  assert.ok(browser?.sessionId);
  const exchanged = await exchangeBrowserSession(browser, context, null);
  const familyId = (await resolveBearer(`Bearer ${exchanged.access_token}`))?.sessionId;
  assert.ok(familyId);
  assert.deepEqual((await findSessionById(familyId))?.origin, { method: "oidc", issuer: ISSUER, subject: "carol", providerSessionId: "sid-c1" });
  const byPassword = await issueTokenPair(user, context);

  const revoked = await revokeProviderSessions({ issuer: ISSUER, sid: "sid-c1", subject: "carol" }, "backchannel_logout");
  assert.deepEqual(revoked.sort(), [browser.sessionId, familyId].sort());
  assert.equal((await findSessionById(familyId))?.revokedReason, "backchannel_logout");
  assert.deepEqual(await refreshTokenPair(exchanged.refresh_token), { ok: false, reason: "revoked" });
  assert.equal(await resolveBearer(`Bearer ${exchanged.access_token}`), null, "the access token is refused (strict mode: its family is looked up)");
  assert.equal((await refreshTokenPair(byPassword.refresh_token)).ok, true, "a password grant's family has no provider session");
});
