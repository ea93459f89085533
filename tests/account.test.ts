import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeJwt } from "jose";
import { CURRENT_PASSWORD_INCORRECT, changePassword } from "../lib/account/password";
import { activeSessionsForUser, revokeOtherSessions, revokeOwnSession } from "../lib/account/sessions";
import { activeSessionsForAdmin, adminRevokeAllSessionsOfUser, adminRevokeSession, usersForAdmin } from "../lib/admin/admin";
import { isAdmin } from "../lib/users/roles";
import { auditEventsForUser } from "../lib/security/audit";
import { db } from "../lib/platform/db";
import { hashPassword, verifyPassword } from "../lib/users/password";
import { resolveBearer } from "./support/requests";
import { createSession, findSession } from "../lib/strategies/database";
import { createTokenSession, isSessionActive } from "../lib/sessions/store";
import { issueTokenPair, refreshTokenPair } from "../lib/strategies/api";
import { UNKNOWN_DEVICE, describeUserAgent, deviceLabel } from "../lib/sessions/device";

const PASSWORD = "a long password 1";
const CHROME_LINUX = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const context = { userAgent: CHROME_LINUX, ip: "127.0.0.1" };

async function newUser(role = "user") {
  const email = `account-${crypto.randomUUID()}@example.com`;
  return db().user.create({ data: { email, name: "Account User", role, passwordHash: await hashPassword(PASSWORD) } });
}

const hour = 3600 * 1000;
const familyOf = (accessToken: string) => String(decodeJwt(accessToken).sid);

/** One session of each kind for the user: a database session, a browser-JWT record, a token family. */
async function sessionsOfEveryKind(userId: string, email: string) {
  const database = await createSession(userId, context);
  const jwt = await createTokenSession(userId, "jwt", context, new Date(Date.now() + hour));
  const pair = await issueTokenPair({ id: userId, email, name: "Account User" }, context);
  return { database, jwt, pair, familyId: familyOf(pair.access_token) };
}

// ---- device labels ----

test("user agents are summarised as browser and operating system", () => {
  assert.equal(deviceLabel(CHROME_LINUX), "Chrome on Linux");
  assert.equal(
    deviceLabel("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"),
    "Edge on Windows",
  );
  assert.equal(deviceLabel("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0"), "Firefox on macOS");
  assert.equal(
    deviceLabel("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"),
    "Safari on iOS",
  );
  assert.equal(
    deviceLabel("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"),
    "Chrome on Android",
  );
  assert.equal(deviceLabel("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36"), "Chrome on Linux");
  assert.equal(deviceLabel("curl/8.5.0"), "curl");
  assert.deepEqual(describeUserAgent("curl/8.5.0"), { browser: "curl", os: null, label: "curl" });
  assert.equal(deviceLabel(null), UNKNOWN_DEVICE);
  assert.equal(deviceLabel(""), UNKNOWN_DEVICE);
  assert.equal(deviceLabel("something-else/1.0"), UNKNOWN_DEVICE);
  assert.equal(deviceLabel("x".repeat(100_000)), UNKNOWN_DEVICE);
});

// ---- listing (ASVS 7.5.2: users can view their active sessions) ----

test("the list holds every active session of the user, of every kind, and marks the current one", async () => {
  const user = await newUser();
  const other = await newUser();
  const { database, jwt, familyId } = await sessionsOfEveryKind(user.id, user.email);
  await createSession(other.id, context);
  const revoked = await createSession(user.id, context);
  await db().session.update({ where: { id: revoked.session.id }, data: { revokedAt: new Date() } });
  await createSession(user.id, context, new Date(Date.now() - 30 * 24 * hour)); // expired

  const list = await activeSessionsForUser(user.id, jwt.id);
  assert.deepEqual(new Set(list.map((row) => row.id)), new Set([database.session.id, jwt.id, familyId]));
  assert.deepEqual(list.map((row) => row.strategy).sort(), ["api", "database", "jwt"]);
  assert.deepEqual(list.filter((row) => row.current).map((row) => row.id), [jwt.id]);
  for (const row of list) {
    assert.equal(row.device, "Chrome on Linux");
    assert.equal(row.ip, "127.0.0.1");
  }
});

// ---- revoking one session (ASVS 7.4.1, 8.2.2) ----

test("a user revokes their own session: the database token is refused at once, the revocation is audited", async () => {
  const user = await newUser();
  const { token, session } = await createSession(user.id, context);
  assert.equal(await revokeOwnSession(user.id, session.id, context), true);
  assert.equal(await findSession(token), null);
  const events = await auditEventsForUser(user.id);
  const revoked = events.find((event) => event.event === "session.revoked");
  assert.ok(revoked, "session.revoked recorded");
  assert.deepEqual(JSON.parse(revoked.detail ?? "{}"), { by: "user", sessionId: session.id, reason: "revoked_by_user" });
  assert.equal(await revokeOwnSession(user.id, session.id, context), false, "a second revoke is a no-op");
});

test("ASVS 8.2.2: another user's session id is refused and nothing is revoked", async () => {
  const owner = await newUser();
  const attacker = await newUser();
  const { token, session } = await createSession(owner.id, context);
  const family = await issueTokenPair(owner, context);
  assert.equal(await revokeOwnSession(attacker.id, session.id, context), false);
  assert.equal(await revokeOwnSession(attacker.id, familyOf(family.access_token), context), false);
  assert.equal(await revokeOwnSession(attacker.id, "not a real id'; --", context), false);
  assert.equal(await revokeOwnSession(attacker.id, "x".repeat(500), context), false);
  assert.ok(await findSession(token), "the owner's database session still works");
  assert.ok(await isSessionActive(familyOf(family.access_token)), "the owner's token family still works");
  assert.equal((await auditEventsForUser(owner.id)).filter((event) => event.event === "session.revoked").length, 0);
});

test("revoking a token family stops its refresh and access tokens", async () => {
  const user = await newUser();
  const pair = await issueTokenPair(user, context);
  assert.ok(await resolveBearer(`Bearer ${pair.access_token}`));
  assert.equal(await revokeOwnSession(user.id, familyOf(pair.access_token), context), true);
  assert.equal(await resolveBearer(`Bearer ${pair.access_token}`), null);
  assert.deepEqual(await refreshTokenPair(pair.refresh_token), { ok: false, reason: "revoked" });
});

// ---- sign out everywhere else (ASVS 7.5.2) ----

test("revoking all others keeps the current session and ends every other one, of every kind", async () => {
  const user = await newUser();
  const bystander = await newUser();
  const { database, jwt, pair, familyId } = await sessionsOfEveryKind(user.id, user.email);
  const current = await createSession(user.id, context);
  const theirs = await createSession(bystander.id, context);

  assert.equal(await revokeOtherSessions(user.id, current.session.id, { context }), 3);
  assert.ok(await findSession(current.token), "the current session still works");
  assert.equal(await findSession(database.token), null);
  assert.equal(await isSessionActive(jwt.id), false);
  assert.equal(await isSessionActive(familyId), false);
  assert.equal(await resolveBearer(`Bearer ${pair.access_token}`), null);
  assert.deepEqual(await refreshTokenPair(pair.refresh_token), { ok: false, reason: "revoked" });
  assert.ok(await findSession(theirs.token), "another user's session is untouched");
  assert.deepEqual((await activeSessionsForUser(user.id, current.session.id)).map((row) => row.id), [current.session.id]);
  const audited = (await auditEventsForUser(user.id)).filter((event) => event.event === "session.revoked");
  assert.equal(audited.length, 3);
  assert.equal(await revokeOtherSessions(user.id, current.session.id), 0, "nothing left to revoke");
});

// ---- password change (ASVS 6.2.2, 6.2.3, 7.4.3, 7.5.1) ----

test("ASVS 6.2.3: a wrong current password changes nothing", async () => {
  const user = await newUser();
  const current = await createSession(user.id, context);
  const other = await createSession(user.id, context);
  const result = await changePassword({
    userId: user.id,
    currentSessionId: current.session.id,
    currentPassword: "not the password",
    newPassword: "Lantern-orbit-meadow-42",
    context,
  });
  assert.deepEqual(result, { ok: false, field: "currentPassword", message: CURRENT_PASSWORD_INCORRECT });
  const stored = await db().user.findUniqueOrThrow({ where: { id: user.id } });
  assert.equal(stored.passwordHash, user.passwordHash);
  assert.ok(await findSession(other.token), "no session was revoked");
  assert.equal((await auditEventsForUser(user.id)).filter((event) => event.event === "password.changed").length, 0);
});

test("a new password must pass the registration rules", async () => {
  const user = await newUser();
  const base = { userId: user.id, currentSessionId: undefined, currentPassword: PASSWORD, context };
  for (const newPassword of ["short", "password123", "aaaaaaaaaaaa", PASSWORD, `${user.email.split("@")[0]}-long-suffix`]) {
    const result = await changePassword({ ...base, newPassword });
    assert.equal(result.ok, false, newPassword);
    assert.equal(!result.ok && result.field, "newPassword", newPassword);
  }
  const stored = await db().user.findUniqueOrThrow({ where: { id: user.id } });
  assert.equal(stored.passwordHash, user.passwordHash);
});

test("ASVS 7.4.3: a password change stores a new argon2id hash and revokes every other session and token family", async () => {
  const user = await newUser();
  const { database, jwt, pair, familyId } = await sessionsOfEveryKind(user.id, user.email);
  const current = await createSession(user.id, context);
  const result = await changePassword({
    userId: user.id,
    currentSessionId: current.session.id,
    currentPassword: PASSWORD,
    newPassword: "Lantern-orbit-meadow-42",
    context,
  });
  assert.deepEqual(result, { ok: true, revokedSessions: 3 });

  const stored = await db().user.findUniqueOrThrow({ where: { id: user.id } });
  assert.match(stored.passwordHash ?? "", /^\$argon2id\$/);
  assert.equal(await verifyPassword(stored.passwordHash!, "Lantern-orbit-meadow-42"), true);
  assert.equal(await verifyPassword(stored.passwordHash!, PASSWORD), false);

  assert.ok(await findSession(current.token), "the session that changed the password stays signed in");
  assert.equal(await findSession(database.token), null);
  assert.equal(await isSessionActive(jwt.id), false);
  assert.equal(await isSessionActive(familyId), false);
  assert.deepEqual(await refreshTokenPair(pair.refresh_token), { ok: false, reason: "revoked" });

  const events = await auditEventsForUser(user.id);
  const changed = events.find((event) => event.event === "password.changed");
  assert.ok(changed);
  assert.deepEqual(JSON.parse(changed.detail ?? "{}"), { revokedSessions: 3 });
  for (const event of events) assert.ok(!(event.detail ?? "").includes("Lantern"), "no password in the audit log");
});

// ---- administrators (ASVS 7.4.5, 8.2.1) ----

test("ASVS 8.2.1: the admin role is read from the database", async () => {
  const admin = await newUser("admin");
  const user = await newUser();
  assert.equal(await isAdmin(admin.id), true);
  assert.equal(await isAdmin(user.id), false);
  assert.equal(await isAdmin("no-such-user"), false);
  await db().user.update({ where: { id: admin.id }, data: { role: "user" } });
  assert.equal(await isAdmin(admin.id), false, "a demoted admin loses the role at once");
});

test("ASVS 7.4.5: an admin revokes any user's session; a non-admin cannot", async () => {
  const admin = await newUser("admin");
  const mallory = await newUser();
  const victim = await newUser();
  const { token, session } = await createSession(victim.id, context);

  assert.deepEqual(await adminRevokeSession(mallory.id, session.id, context), { ok: false });
  assert.ok(await findSession(token), "a non-admin revoked nothing");

  assert.deepEqual(await adminRevokeSession(admin.id, session.id, context), { ok: true, userId: victim.id });
  assert.equal(await findSession(token), null);
  assert.deepEqual(await adminRevokeSession(admin.id, session.id, context), { ok: false }, "already revoked");
  assert.deepEqual(await adminRevokeSession(admin.id, "unknown-id", context), { ok: false });

  const revoked = (await auditEventsForUser(victim.id)).find((event) => event.event === "session.revoked");
  assert.ok(revoked);
  assert.deepEqual(JSON.parse(revoked.detail ?? "{}"), { by: "admin", sessionId: session.id, reason: "revoked_by_admin", actorId: admin.id });
});

test("ASVS 7.4.5: an admin ends every session of one user; the lists show counts and sessions", async () => {
  const admin = await newUser("admin");
  const victim = await newUser();
  const bystander = await newUser();
  const { familyId } = await sessionsOfEveryKind(victim.id, victim.email);
  const theirs = await createSession(bystander.id, context);

  const listed = (await usersForAdmin()).find((row) => row.id === victim.id);
  assert.equal(listed?.activeSessions, 3);
  const sessions = await activeSessionsForAdmin();
  assert.ok(sessions.some((row) => row.id === familyId && row.email === victim.email && row.device === "Chrome on Linux"));

  assert.equal(await adminRevokeAllSessionsOfUser(victim.id, bystander.id, context), null, "not an admin");
  assert.ok(await findSession(theirs.token));
  assert.equal(await adminRevokeAllSessionsOfUser(admin.id, victim.id, context), 3);
  assert.equal((await usersForAdmin()).find((row) => row.id === victim.id)?.activeSessions, 0);
  assert.ok(await findSession(theirs.token), "other users are untouched");
});
