import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeJwt } from "jose";
import { db } from "../lib/platform/db";
import { jwtStrategy } from "../lib/strategies/jwt";

const context = { userAgent: "node-test", ip: "127.0.0.1" };

// ASVS 5.0 7.4.1: a signed-out JWT session cannot be used again (the sid record acts as the revocation list).
test("strict (default): a browser JWT is tied to a session record and refused right after sign-out", async () => {
  const user = await db().user.create({ data: { email: `strict-${crypto.randomUUID()}@example.com`, name: "Strict" } });
  const issued = await jwtStrategy.issue(user, context);
  const sid = String(decodeJwt(issued.value).sid);
  const record = await db().session.findUniqueOrThrow({ where: { id: sid } });
  assert.equal(record.strategy, "jwt");
  assert.equal(record.sessionToken, null, "no token is stored for a JWT session");
  assert.ok((await jwtStrategy.verify(issued.value)) !== null);
  const result = await jwtStrategy.revoke(issued.value);
  assert.equal(result.revokedOnServer, true);
  assert.equal(await jwtStrategy.verify(issued.value), null);
});
