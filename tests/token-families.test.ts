import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeJwt } from "jose";
import { db } from "../lib/platform/db";
import { env } from "../lib/platform/env";
import { hashPassword } from "../lib/users/password";
import { hashToken } from "../lib/tokens/opaque";
import { resolveBearer } from "./support/requests";
import { issueTokenPair, refreshTokenPair, revokeToken } from "../lib/strategies/api";

const context = { userAgent: "node-test", ip: "127.0.0.1" };

async function newUser() {
  const email = `tokens-${crypto.randomUUID()}@example.com`;
  return db().user.create({ data: { email, name: "Token User", passwordHash: await hashPassword("a long password 1") } });
}

const bearer = (token: string) => resolveBearer(`Bearer ${token}`);
const familyOf = (accessToken: string) => String(decodeJwt(accessToken).sid);

test("a pair: short-lived access token, opaque refresh token stored only as a hash", async () => {
  const user = await newUser();
  const pair = await issueTokenPair(user, context);
  assert.equal(pair.token_type, "Bearer");
  assert.ok(pair.expires_in > 0 && pair.expires_in <= 15 * 60);
  assert.match(pair.refresh_token, /^[A-Za-z0-9_-]{43}$/);
  const rows = await db().refreshToken.findMany({ where: { sessionId: familyOf(pair.access_token) } });
  assert.equal(rows.length, 1);
  assert.equal(rows[0]?.tokenHash, hashToken(pair.refresh_token));
  assert.ok(!JSON.stringify(rows).includes(pair.refresh_token));
  assert.equal((await bearer(pair.access_token))?.user.id, user.id);
});

// ASVS 5.0 10.4.5: a used refresh token is invalidated by rotation.
test("refresh returns a new pair and spends the old refresh token", async () => {
  const user = await newUser();
  const first = await issueTokenPair(user, context);
  const outcome = await refreshTokenPair(first.refresh_token);
  assert.ok(outcome.ok);
  assert.notEqual(outcome.pair.refresh_token, first.refresh_token);
  assert.notEqual(outcome.pair.access_token, first.access_token);
  assert.equal(familyOf(outcome.pair.access_token), familyOf(first.access_token), "same family");
  const spent = await db().refreshToken.findUnique({ where: { tokenHash: hashToken(first.refresh_token) } });
  assert.ok(spent?.usedAt, "the old refresh token is marked used");
});

// ASVS 5.0 10.4.5: reuse of a rotated refresh token revokes every token of that authorization.
// RFC 9700 §4.14.2: refresh token reuse revokes the whole family.
test("reuse after the grace window answers reused and revokes the whole family", async () => {
  const user = await newUser();
  const start = new Date();
  const first = await issueTokenPair(user, context, start);
  const second = await refreshTokenPair(first.refresh_token, start);
  assert.ok(second.ok);
  const later = new Date(start.getTime() + (env.REFRESH_REUSE_GRACE_SECONDS + 1) * 1000);
  const replay = await refreshTokenPair(first.refresh_token, later);
  assert.deepEqual(replay, { ok: false, reason: "reused" });
  // Every descendant is dead: the current refresh token and (strict mode) the access tokens.
  assert.deepEqual(await refreshTokenPair(second.pair.refresh_token, later), { ok: false, reason: "revoked" });
  assert.equal(await bearer(second.pair.access_token), null);
  assert.equal(await bearer(first.access_token), null);
  const family = await db().session.findUniqueOrThrow({ where: { id: familyOf(first.access_token) } });
  assert.equal(family.revokedReason, "refresh_token_reuse");
});

test("concurrent refreshes with one token all succeed with the same successor; the family survives", async () => {
  const user = await newUser();
  const first = await issueTokenPair(user, context);
  const outcomes = await Promise.all(Array.from({ length: 5 }, () => refreshTokenPair(first.refresh_token)));
  assert.ok(outcomes.every((outcome) => outcome.ok), JSON.stringify(outcomes));
  const successors = new Set(outcomes.map((outcome) => (outcome.ok ? outcome.pair.refresh_token : "")));
  assert.equal(successors.size, 1, "one successor for all");
  const [successor] = successors;
  assert.equal(await db().refreshToken.count({ where: { sessionId: familyOf(first.access_token) } }), 2, "exactly one successor row");
  const next = await refreshTokenPair(String(successor));
  assert.ok(next.ok, "the successor works: nobody was logged out");
});

test("a retry within the grace window gets the same refresh token back, not a revocation", async () => {
  const user = await newUser();
  const start = new Date();
  const first = await issueTokenPair(user, context, start);
  const a = await refreshTokenPair(first.refresh_token, start);
  const b = await refreshTokenPair(first.refresh_token, new Date(start.getTime() + 2000));
  assert.ok(a.ok && b.ok);
  assert.equal(a.pair.refresh_token, b.pair.refresh_token);
});

test("a retry within the grace window after the successor was used is reuse", async () => {
  const user = await newUser();
  const start = new Date();
  const first = await issueTokenPair(user, context, start);
  const a = await refreshTokenPair(first.refresh_token, start);
  assert.ok(a.ok);
  assert.ok((await refreshTokenPair(a.pair.refresh_token, start)).ok);
  assert.deepEqual(await refreshTokenPair(first.refresh_token, new Date(start.getTime() + 1000)), { ok: false, reason: "reused" });
});

// ASVS 5.0 10.4.8: refresh tokens expire absolutely, however often they slide.
test("a family has an absolute lifetime: no refresh past it", async () => {
  const user = await newUser();
  const start = new Date();
  const first = await issueTokenPair(user, context, start);
  const afterFamily = new Date(start.getTime() + (env.TOKEN_FAMILY_TTL_SECONDS + 1) * 1000);
  assert.deepEqual(await refreshTokenPair(first.refresh_token, afterFamily), { ok: false, reason: "expired" });
});

test("token kinds never cross: an access token is not a refresh token and vice versa", async () => {
  const user = await newUser();
  const pair = await issueTokenPair(user, context);
  assert.deepEqual(await refreshTokenPair(pair.access_token), { ok: false, reason: "unknown" });
  assert.equal(await bearer(pair.refresh_token), null);
  assert.deepEqual(await refreshTokenPair("A".repeat(43)), { ok: false, reason: "unknown" });
});

// ASVS 5.0 7.4.1: revoked self-contained tokens are refused (strict mode keeps the revocation list: the sid row).
test("revoking by refresh token or by access token ends the family (strict mode: at once)", async () => {
  const user = await newUser();
  const byRefresh = await issueTokenPair(user, context);
  await revokeToken(byRefresh.refresh_token);
  assert.equal(await bearer(byRefresh.access_token), null);
  const byAccess = await issueTokenPair(user, context);
  await revokeToken(byAccess.access_token);
  assert.deepEqual(await refreshTokenPair(byAccess.refresh_token), { ok: false, reason: "revoked" });
  await revokeToken("not a token at all");
});

test("garbage and oversized Authorization headers are refused, never thrown", async () => {
  for (const header of ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a.b", "Bearer a.b.c.d", "Bearer ../../etc", `Bearer ${"a".repeat(9000)}.b.c`]) {
    assert.equal(await resolveBearer(header), null, header.slice(0, 30));
  }
});
