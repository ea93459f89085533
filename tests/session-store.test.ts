import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import { db } from "../lib/platform/db";
import { hashPassword } from "../lib/users/password";
import { hashToken } from "../lib/tokens/opaque";
import { createSession, findSession } from "../lib/strategies/database";
import { deleteSession, purgeExpiredSessions } from "../lib/sessions/store";
import { idleRules } from "../lib/strategies";
import { databaseStrategy } from "../lib/strategies/database";

const context = { userAgent: "node-test", ip: "127.0.0.1" };

async function newUser() {
  const email = `user-${crypto.randomUUID()}@example.com`;
  return db().user.create({ data: { email, name: "Test", passwordHash: await hashPassword("a long password 1") } });
}

// ASVS 5.0 7.2.3: session tokens are CSPRNG values of at least 128 bits (here 256); only their hash is stored.
test("a new session is stored as a SHA-256 hash of the token, never the token itself", async () => {
  const user = await newUser();
  const { token, session } = await createSession(user.id, context);
  assert.match(token, /^[A-Za-z0-9_-]{43}$/);
  const rows = await db().session.findMany({ where: { userId: user.id } });
  assert.equal(rows.length, 1);
  assert.equal(rows[0]?.sessionToken, hashToken(token));
  assert.notEqual(rows[0]?.sessionToken, token);
  assert.ok(!JSON.stringify(rows).includes(token), "the raw token appears nowhere in the row");
  assert.equal(session.userAgent, "node-test");
  assert.equal(session.ip, "127.0.0.1");
  assert.equal(session.strategy, "database");
});

test("lookup finds the session and its user", async () => {
  const user = await newUser();
  const { token } = await createSession(user.id, context);
  const found = await findSession(token);
  assert.equal(found?.user.email, user.email);
  assert.ok(found && found.expires > new Date());
});

test("an unknown token finds nothing", async () => {
  assert.equal(await findSession("A".repeat(43)), null);
});

// ASVS 5.0 7.4.1: an expired session cannot be used again.
test("an expired session is rejected and its row removed", async () => {
  const user = await newUser();
  const { token, session } = await createSession(user.id, context);
  const later = new Date(session.expires.getTime() + 1000);
  assert.equal(await findSession(token, later), null);
  assert.equal(await db().session.count({ where: { id: session.id } }), 0);
});

// ASVS 5.0 7.4.1: after sign-out the backend session is gone and the token is refused.
test("delete removes the row, and the token is refused afterwards", async () => {
  const user = await newUser();
  const { token } = await createSession(user.id, context);
  assert.equal(await deleteSession(token), true);
  assert.equal(await findSession(token), null);
  assert.equal(await deleteSession(token), false);
});

test("last seen is written at most once per touch interval", async () => {
  const user = await newUser();
  const created = new Date("2030-01-01T00:00:00Z");
  const { token, session } = await createSession(user.id, context, created);
  await findSession(token, new Date(created.getTime() + 10_000));
  let row = await db().session.findUniqueOrThrow({ where: { id: session.id } });
  assert.equal(row.lastSeenAt.getTime(), created.getTime(), "no write within the interval");
  const muchLater = new Date(created.getTime() + 5 * 60_000);
  await findSession(token, muchLater);
  row = await db().session.findUniqueOrThrow({ where: { id: session.id } });
  assert.equal(row.lastSeenAt.getTime(), muchLater.getTime());
});

test("purge removes only expired rows", async () => {
  const user = await newUser();
  const { session: live } = await createSession(user.id, context);
  const { session: old } = await createSession(user.id, context, new Date(Date.now() - 30 * 24 * 3600 * 1000));
  const purged = await purgeExpiredSessions(idleRules());
  assert.ok(purged >= 1);
  assert.equal(await db().session.count({ where: { id: old.id } }), 0);
  assert.equal(await db().session.count({ where: { id: live.id } }), 1);
});

test("the database strategy refuses malformed tokens without a lookup and accepts a real one", async () => {
  const user = await newUser();
  const { token } = await createSession(user.id, context);
  assert.equal((await databaseStrategy.verify(token))?.user.id, user.id);
  for (const bad of ["", "short", `${token}x`, "eyJ.a.b", "A".repeat(43)]) {
    assert.equal(await databaseStrategy.verify(bad), null, bad);
  }
  const result = await databaseStrategy.revoke(token);
  assert.equal(result.revokedOnServer, true);
  assert.equal(await databaseStrategy.verify(token), null);
});
