// Linking provider identities to accounts: the link itself (an identity is
// never moved between accounts), the last-way-in rule of disconnecting, and
// a first password for a provider-only account.
import "./support/test-env";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { setFirstPassword } from "../lib/account/password";
import { connectedProviders, disconnectProvider } from "../lib/account/provider-accounts";
import { db } from "../lib/platform/db";
import { identitiesOf, identityOwner, isLastWayIn, linkIdentity, unlinkIdentity } from "../lib/users/identities";
import { hashPassword, verifyPassword } from "../lib/users/password";

const context = { userAgent: "node-test", ip: "127.0.0.1" };
const tag = () => randomBytes(4).toString("hex");

async function newUser(passwordHash: string | null = null) {
  return db().user.create({ data: { email: `linking-${tag()}@example.test`, passwordHash } });
}

const identity = (issuer = "https://idp.example") => ({ issuer, subject: `sub-${tag()}` });

test("the last way in: no password and one identity; a password or a second identity leaves a way in", () => {
  assert.equal(isLastWayIn({ hasPassword: false, identities: 1 }), true);
  assert.equal(isLastWayIn({ hasPassword: false, identities: 0 }), true);
  assert.equal(isLastWayIn({ hasPassword: true, identities: 1 }), false);
  assert.equal(isLastWayIn({ hasPassword: false, identities: 2 }), false);
});

test("link: an identity links to one account; linking it again to that account is a no-op, to another is refused", async () => {
  const [owner, other] = await Promise.all([newUser(), newUser()]);
  const key = identity();
  assert.deepEqual(await linkIdentity(owner.id, key, "oidc"), { ok: true, created: true });
  assert.deepEqual(await linkIdentity(owner.id, key, "oidc"), { ok: true, created: false });
  assert.deepEqual(await linkIdentity(other.id, key, "oidc"), { ok: false, reason: "identity_in_use" });
  assert.equal((await identityOwner(key))?.id, owner.id);
  assert.deepEqual(await identitiesOf(other.id), []);
});

test("unlink: the last way in is refused; with a second identity or a password it goes; another user's row is not found", async () => {
  const user = await newUser();
  const first = identity();
  await linkIdentity(user.id, first, "oidc");
  const [only] = await identitiesOf(user.id);
  assert.deepEqual(await unlinkIdentity(user.id, only!.id), { ok: false, reason: "last_way_in" });
  assert.deepEqual(await disconnectProvider(user.id, only!.id, context), { ok: false, reason: "last_way_in" });
  assert.equal((await identitiesOf(user.id)).length, 1);

  // Someone else cannot remove it, whatever its id.
  const stranger = await newUser(await hashPassword("a long password 1"));
  assert.deepEqual(await unlinkIdentity(stranger.id, only!.id), { ok: false, reason: "not_found" });

  await linkIdentity(user.id, identity("https://other.example"), "oidc");
  const removed = await unlinkIdentity(user.id, only!.id);
  assert.ok(removed.ok);
  assert.equal(removed.identity.subject, first.subject);
  const [left] = await identitiesOf(user.id);
  assert.deepEqual(await unlinkIdentity(user.id, left!.id), { ok: false, reason: "last_way_in" });

  await db().user.update({ where: { id: user.id }, data: { passwordHash: await hashPassword("a long password 2") } });
  assert.deepEqual(await disconnectProvider(user.id, left!.id, context), { ok: true, providerId: null });
  assert.deepEqual(await identitiesOf(user.id), []);
  const audited = await db().auditEvent.findMany({ where: { userId: user.id, event: "provider.unlinked" } });
  assert.equal(audited.length, 1);
});

test("unlink: two removals at once of an account's last two identities leave one", async () => {
  const user = await newUser();
  await linkIdentity(user.id, identity(), "oidc");
  await linkIdentity(user.id, identity(), "oidc");
  const [a, b] = await identitiesOf(user.id);
  const results = await Promise.all([unlinkIdentity(user.id, a!.id), unlinkIdentity(user.id, b!.id)]);
  assert.deepEqual(results.map((result) => result.ok).sort(), [false, true]);
  assert.equal((await identitiesOf(user.id)).length, 1);
});

test("connected providers: an identity of an issuer that is not configured is listed by its issuer, with when it was connected", async () => {
  const user = await newUser();
  const key = identity("https://unconfigured.example");
  const before = Date.now();
  await linkIdentity(user.id, key, "oidc");
  const [listed] = await connectedProviders(user.id);
  assert.deepEqual(
    { ...listed, id: undefined, connectedAt: undefined },
    { id: undefined, name: key.issuer, providerId: null, issuer: key.issuer, subject: key.subject, connectedAt: undefined },
  );
  // Stamped when the row is written (a database default may keep whole seconds only).
  const connectedAt = listed!.connectedAt.getTime();
  assert.ok(connectedAt >= before - 1000 && connectedAt <= Date.now() + 1000, `connected at ${listed!.connectedAt.toISOString()}`);
});

test("connected providers: listed oldest connection first", async () => {
  const user = await newUser();
  const [older, newer] = [identity("https://b.example"), identity("https://a.example")];
  await linkIdentity(user.id, older, "oidc");
  await linkIdentity(user.id, newer, "oidc");
  await db().account.updateMany({ where: { userId: user.id, provider: older.issuer }, data: { createdAt: new Date(Date.now() - 60_000) } });
  assert.deepEqual(
    (await connectedProviders(user.id)).map((entry) => entry.issuer),
    [older.issuer, newer.issuer],
  );
  await db().account.updateMany({ where: { userId: user.id, provider: older.issuer }, data: { createdAt: new Date(Date.now() + 60_000) } });
  assert.deepEqual(
    (await connectedProviders(user.id)).map((entry) => entry.issuer),
    [newer.issuer, older.issuer],
  );
});

test("first password: set once for a provider-only account, policy checked, never replacing one", async () => {
  const user = await newUser();
  const weak = await setFirstPassword({ userId: user.id, email: user.email, newPassword: "short", context });
  assert.equal(weak.ok, false);
  assert.equal(!weak.ok && weak.reason, "invalid");
  assert.equal((await db().user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash, null);

  assert.deepEqual(await setFirstPassword({ userId: user.id, email: user.email, newPassword: "Lantern-orbit-meadow-42", context }), { ok: true });
  const stored = (await db().user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash;
  assert.ok(stored && (await verifyPassword(stored, "Lantern-orbit-meadow-42")));

  assert.deepEqual(await setFirstPassword({ userId: user.id, email: user.email, newPassword: "Another-strong-password-77", context }), { ok: false, reason: "has_password" });
  const after = (await db().user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash;
  assert.equal(after, stored);
  assert.equal(await db().auditEvent.count({ where: { userId: user.id, event: "password.set" } }), 1);
});
