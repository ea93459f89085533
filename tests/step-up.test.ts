// Step-up authentication: the window check, and the authentication time a
// session records at sign-in — carried unchanged by a browser JWT's sliding
// renewal and a token family's refreshes, moved only by a confirmation.
import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeJwt } from "jose";
import { isRecentAuthentication } from "../lib/auth/step-up";
import { db } from "../lib/platform/db";
import { findSessionById, recordAuthentication, revokeSession } from "../lib/sessions/store";
import { issueTokenPair, refreshTokenPair } from "../lib/strategies/api";
import { databaseStrategy } from "../lib/strategies/database";
import { jwtStrategy } from "../lib/strategies/jwt";
import { hashPassword } from "../lib/users/password";

const context = { userAgent: "node-test", ip: "127.0.0.1" };
const origin = { method: "password" } as const;

async function newUser() {
  const email = `step-up-${crypto.randomUUID()}@example.com`;
  return db().user.create({ data: { email, name: "Step-up User", passwordHash: await hashPassword("a long password 1") } });
}

test("the window: recent inside, refused outside, unknown and far-future refused", () => {
  const now = new Date("2026-01-01T12:00:00Z");
  const at = (secondsAgo: number) => ({ time: new Date(now.getTime() - secondsAgo * 1000), methods: ["pwd"] });
  assert.equal(isRecentAuthentication(at(0), now, 600), true);
  assert.equal(isRecentAuthentication(at(600), now, 600), true);
  assert.equal(isRecentAuthentication(at(601), now, 600), false);
  assert.equal(isRecentAuthentication(at(-3600), now, 600), false);
  assert.equal(isRecentAuthentication(null, now, 600), false);
  assert.equal(isRecentAuthentication(undefined, now, 600), false);
});

test("a browser JWT states auth_time and amr; sliding renewal keeps them", async () => {
  const user = await newUser();
  const signedInAt = new Date(Date.now() - 30_000);
  const issued = await jwtStrategy.issue(user, context, origin, { time: signedInAt, methods: ["pwd"] });
  const claims = decodeJwt(issued.value);
  assert.equal(claims.auth_time, Math.floor(signedInAt.getTime() / 1000));
  assert.deepEqual(claims.amr, ["pwd"]);
  const verified = await jwtStrategy.verify(issued.value);
  assert.ok(verified);
  assert.equal(verified.authentication?.time.getTime(), Math.floor(signedInAt.getTime() / 1000) * 1000);
  // Past half its life (as the proxy would see it a while later): renewed, same authentication.
  await db().session.update({ where: { id: String(claims.sid) }, data: { lastSeenAt: new Date(Date.now() - 3_600_000) } });
  const renewed = await jwtStrategy.renew!({ ...verified, expires: new Date(Date.now() + 1000) });
  assert.ok(renewed);
  const renewedClaims = decodeJwt(renewed.value);
  // A new token (issued now; within the same second as the first it can be byte-identical to it).
  assert.ok(renewedClaims.iat! >= claims.iat!);
  assert.equal(renewedClaims.sid, claims.sid);
  assert.equal(renewedClaims.auth_time, claims.auth_time);
  assert.deepEqual(renewedClaims.amr, ["pwd"]);
  assert.equal((await findSessionById(String(claims.sid)))?.authentication?.time.getTime(), signedInAt.getTime());
});

test("a confirmation moves the authentication time: the record, and a new JWT", async () => {
  const user = await newUser();
  const long = new Date(Date.now() - 3_600_000);
  const issued = await jwtStrategy.issue(user, context, origin, { time: long, methods: ["pwd"] });
  const verified = await jwtStrategy.verify(issued.value);
  assert.ok(verified);
  const confirmedAt = new Date();
  const outcome = await jwtStrategy.reauthenticate!(verified, { time: confirmedAt, methods: ["pwd"] });
  assert.equal(outcome.recorded, true);
  assert.ok(outcome.credential);
  assert.equal(decodeJwt(outcome.credential.value).auth_time, Math.floor(confirmedAt.getTime() / 1000));
  assert.equal((await findSessionById(verified.sessionId!))?.authentication?.time.getTime(), confirmedAt.getTime());
  // A revoked session cannot be confirmed back to life.
  await revokeSession(verified.sessionId!, "test");
  assert.equal((await jwtStrategy.reauthenticate!(verified, { time: new Date(), methods: ["pwd"] })).recorded, false);
});

test("a database session records its authentication; only a confirmation changes it", async () => {
  const user = await newUser();
  const signedInAt = new Date(Date.now() - 60_000);
  const issued = await databaseStrategy.issue(user, context, { method: "email_link" }, { time: signedInAt, methods: ["otp"] });
  const verified = await databaseStrategy.verify(issued.value);
  assert.ok(verified?.sessionId);
  assert.deepEqual(verified.authentication, { time: signedInAt, methods: ["otp"] });
  const later = new Date();
  assert.equal(await recordAuthentication(verified.sessionId, { time: later, methods: ["pwd"] }), true);
  assert.deepEqual(await databaseStrategy.currentAuthentication!(verified), { time: later, methods: ["pwd"] });
});

test("a token family carries the authentication it started with across refreshes", async () => {
  const user = await newUser();
  const browserAuthentication = { time: new Date(Date.now() - 120_000), methods: ["pwd"] };
  const pair = await issueTokenPair(user, context, new Date(), browserAuthentication);
  const family = String(decodeJwt(pair.access_token).sid);
  const refreshed = await refreshTokenPair(pair.refresh_token);
  assert.ok(refreshed.ok);
  const again = await refreshTokenPair(refreshed.pair.refresh_token);
  assert.ok(again.ok);
  assert.deepEqual((await findSessionById(family))?.authentication, browserAuthentication);
});
