// Stateless revocation mode: this server trusts a valid token until `exp`.
import "./support/stateless-mode";
import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import { db } from "../lib/platform/db";
import { resolveBearer } from "./support/requests";
import { jwtStrategy } from "../lib/strategies/jwt";
import { issueTokenPair, revokeToken } from "../lib/strategies/api";

const context = { userAgent: "node-test", ip: "127.0.0.1" };

async function newUser() {
  return db().user.create({ data: { email: `stateless-${crypto.randomUUID()}@example.com`, name: "Stateless" } });
}

test("stateless: a revoked access token keeps working until it expires", async () => {
  const user = await newUser();
  const pair = await issueTokenPair(user, context);
  await revokeToken(pair.access_token);
  const session = await resolveBearer(`Bearer ${pair.access_token}`);
  assert.equal(session?.user.id, user.id);
});

test("stateless: a signed-out browser JWT still verifies until exp, and sign-out says so", async () => {
  const user = await newUser();
  const issued = await jwtStrategy.issue(user, context);
  const result = await jwtStrategy.revoke(issued.value);
  assert.equal(result.revokedOnServer, false);
  assert.ok((await jwtStrategy.verify(issued.value)) !== null);
  const record = await db().session.findFirstOrThrow({ where: { userId: user.id } });
  assert.ok(record.revokedAt, "the record is marked revoked all the same");
});
