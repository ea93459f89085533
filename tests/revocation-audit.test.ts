// ASVS 5.0 16.3.1: every path that ends a session writes an audit row with the
// client's address. (Sign-out and the revocation at sign-in run inside a browser
// request: e2e/hardening.spec.ts checks those rows over HTTP.)
import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import { changePassword } from "../lib/account/password";
import { revokeOtherSessions, revokeOwnSession } from "../lib/account/sessions";
import { adminRevokeAllSessionsOfUser, adminRevokeSession } from "../lib/admin/admin";
import { db } from "../lib/platform/db";
import { issueTokenPair, refreshTokenPair, revokeToken } from "../lib/strategies/api";
import { createSession } from "../lib/strategies/database";
import { jwtStrategy } from "../lib/strategies/jwt";
import { hashPassword } from "../lib/users/password";

const PASSWORD = "a long password 1";
const deviceContext = { userAgent: "node-test", ip: "127.0.0.1" };
/** The client that ends the session: its address must be the one recorded. */
const actorContext = { userAgent: "node-test", ip: "198.51.100.7" };

async function newUser(role = "user") {
  const email = `audit-${crypto.randomUUID()}@example.com`;
  return db().user.create({ data: { email, name: "Audit", role, passwordHash: await hashPassword(PASSWORD) } });
}

async function eventsOf(userId: string, event: string) {
  return db().auditEvent.findMany({ where: { userId, event }, orderBy: { createdAt: "asc" } });
}

function assertRecorded(rows: { ip: string | null; detail: string | null }[], count: number, reason: string) {
  assert.equal(rows.length, count, `${count} row(s) for ${reason}`);
  for (const row of rows) {
    assert.equal(row.ip, actorContext.ip, `the client address is recorded for ${reason}`);
    assert.match(row.detail ?? "", new RegExp(reason));
  }
}

test("revoke one session, sign out everywhere else, password change and admin revocations are audited with the address", async () => {
  const user = await newUser();
  const one = await createSession(user.id, deviceContext);
  assert.equal(await revokeOwnSession(user.id, one.session.id, actorContext), true);
  assertRecorded(await eventsOf(user.id, "session.revoked"), 1, "revoked_by_user");

  const keep = await createSession(user.id, deviceContext);
  await createSession(user.id, deviceContext);
  await jwtStrategy.issue(user, deviceContext);
  assert.equal(await revokeOtherSessions(user.id, keep.session.id, { reason: "signed_out_elsewhere", by: "user", context: actorContext }), 2);
  assertRecorded((await eventsOf(user.id, "session.revoked")).slice(1), 2, "signed_out_elsewhere");

  await issueTokenPair(user, deviceContext);
  const changed = await changePassword({ userId: user.id, currentSessionId: keep.session.id, currentPassword: PASSWORD, newPassword: "Another-long-pass-9", context: actorContext });
  assert.deepEqual(changed, { ok: true, revokedSessions: 1 });
  assertRecorded((await eventsOf(user.id, "session.revoked")).slice(3), 1, "password_changed");
  assert.equal((await eventsOf(user.id, "password.changed"))[0]?.ip, actorContext.ip);

  const admin = await newUser("admin");
  const target = await createSession(user.id, deviceContext);
  assert.deepEqual(await adminRevokeSession(admin.id, target.session.id, actorContext), { ok: true, userId: user.id });
  assert.equal(await adminRevokeAllSessionsOfUser(admin.id, user.id, actorContext), 1);
  assertRecorded((await eventsOf(user.id, "session.revoked")).slice(4), 2, "revoked_by_admin");
});

test("token revocation and refresh-token reuse are audited with the address", async () => {
  const user = await newUser();
  const revoked = await issueTokenPair(user, deviceContext);
  assert.equal(await revokeToken(revoked.refresh_token, actorContext), true);
  assertRecorded(await eventsOf(user.id, "session.revoked"), 1, "revoked_by_client");
  assert.equal(await revokeToken(revoked.access_token, actorContext), false, "an already revoked family is not recorded twice");
  assert.equal(await revokeToken("not-a-token", actorContext), false);

  const reused = await issueTokenPair(user, deviceContext);
  const later = new Date(Date.now() + 60_000);
  assert.equal((await refreshTokenPair(reused.refresh_token, new Date(), deviceContext)).ok, true);
  assert.deepEqual(await refreshTokenPair(reused.refresh_token, later, actorContext), { ok: false, reason: "reused" });
  const [reuse] = await eventsOf(user.id, "refresh.reuse_detected");
  assert.equal(reuse?.ip, actorContext.ip);
});
