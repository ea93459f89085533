import "./support/test-env";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { resolveProviderAccount } from "../lib/account/provider-accounts";
import { FLOW_TTL_SECONDS, openFlowChoice, sealFlowChoice } from "../lib/auth/provider-flow";
import { identityFrom, type ProviderIdentity } from "../lib/auth/providers";
import { db } from "../lib/platform/db";

const SECRET = "a-test-secret-of-at-least-32-characters-long";
const STATE = "state-of-this-flow";
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const choice = { strategy: "jwt", provider: "oidc" };
const context = { userAgent: "test", ip: "127.0.0.1" };

test("flow cookie: the choice comes back for the same flow, provider and secret", () => {
  const value = sealFlowChoice(choice, STATE, SECRET, NOW);
  assert.deepEqual(openFlowChoice(value, { state: STATE, provider: "oidc" }, SECRET, NOW + 1000), choice);
});

test("flow cookie: the value does not show the state it is bound to", () => {
  assert.ok(!sealFlowChoice(choice, STATE, SECRET, NOW).includes(Buffer.from(STATE).toString("base64url")));
});

test("flow cookie: another flow's state, another provider, or no state is refused", () => {
  const value = sealFlowChoice(choice, STATE, SECRET, NOW);
  assert.equal(openFlowChoice(value, { state: "state-of-another-flow", provider: "oidc" }, SECRET, NOW), null);
  assert.equal(openFlowChoice(value, { state: STATE, provider: "github" }, SECRET, NOW), null);
  assert.equal(openFlowChoice(value, { state: null, provider: "oidc" }, SECRET, NOW), null);
  assert.equal(openFlowChoice(value, { state: "", provider: "oidc" }, SECRET, NOW), null);
});

test("flow cookie: expired is refused", () => {
  const value = sealFlowChoice(choice, STATE, SECRET, NOW);
  assert.ok(openFlowChoice(value, { state: STATE, provider: "oidc" }, SECRET, NOW + (FLOW_TTL_SECONDS - 1) * 1000));
  assert.equal(openFlowChoice(value, { state: STATE, provider: "oidc" }, SECRET, NOW + FLOW_TTL_SECONDS * 1000), null);
});

test("flow cookie: an edited payload, an edited signature, another key or garbage is refused", () => {
  const value = sealFlowChoice(choice, STATE, SECRET, NOW);
  const [version, body, signature] = value.split(".");
  const payload = JSON.parse(Buffer.from(body!, "base64url").toString("utf8")) as Record<string, unknown>;
  const edited = Buffer.from(JSON.stringify({ ...payload, k: "database" })).toString("base64url");
  const expected = { state: STATE, provider: "oidc" };
  assert.equal(openFlowChoice(`${version}.${edited}.${signature}`, expected, SECRET, NOW), null);
  const flipped = `${signature!.slice(0, -1)}${signature!.endsWith("A") ? "B" : "A"}`;
  assert.equal(openFlowChoice(`${version}.${body}.${flipped}`, expected, SECRET, NOW), null);
  assert.equal(openFlowChoice(value, expected, `${SECRET}-other`, NOW), null);
  for (const garbage of [undefined, "", "v1", "v1..", `v2.${body}.${signature}`, `${value}.extra`, "x".repeat(2000)]) {
    assert.equal(openFlowChoice(garbage, expected, SECRET, NOW), null, `for ${String(garbage).slice(0, 20)}`);
  }
});

test("identity: from ID token claims, with sid; claims that are not what is expected give none", () => {
  assert.deepEqual(identityFrom("oidc", { iss: "https://idp.example", sub: "u1", email: "A@Example.test", email_verified: true, name: "A", sid: "s1", aud: "x" }), {
    issuer: "https://idp.example",
    subject: "u1",
    email: "A@Example.test",
    emailVerified: true,
    name: "A",
    providerSessionId: "s1",
  });
  assert.equal(identityFrom("oidc", { iss: "https://idp.example", sub: "u1", email: "a@example.test" })?.emailVerified, false);
  assert.equal(identityFrom("oidc", { iss: "https://idp.example", sub: "u1", email_verified: "true" })?.emailVerified, true);
  assert.equal(identityFrom("oidc", { sub: "u1" }), null);
  assert.equal(identityFrom("oidc", { iss: "https://idp.example", sub: "" }), null);
  assert.equal(identityFrom("oidc", null), null);
  assert.equal(identityFrom("github", { id: 42, login: "octo", email: "o@example.test", email_verified: true })?.issuer, "https://github.com");
});

function identity(overrides: Partial<ProviderIdentity> = {}): ProviderIdentity {
  const tag = randomBytes(4).toString("hex");
  return {
    issuer: "https://idp.example",
    subject: `sub-${tag}`,
    email: `new-${tag}@example.test`,
    emailVerified: true,
    name: "New Person",
    providerSessionId: null,
    ...overrides,
  };
}

test("account: a new identity with a verified email gets a provider-only account, found again by (issuer, subject)", async () => {
  const fresh = identity({ email: `Mixed-${randomBytes(3).toString("hex")}@Example.test` });
  const first = await resolveProviderAccount(fresh, "oidc", context);
  assert.ok(first.ok && first.created);
  assert.equal(first.user.email, fresh.email!.toLowerCase());
  const stored = await db().user.findUniqueOrThrow({ where: { id: first.user.id }, select: { passwordHash: true, emailVerified: true } });
  assert.equal(stored.passwordHash, null);
  assert.ok(stored.emailVerified);
  // The same subject, whatever email the provider sends now.
  const again = await resolveProviderAccount({ ...fresh, email: "changed@example.test" }, "oidc", context);
  assert.ok(again.ok && !again.created);
  assert.equal(again.user.id, first.user.id);
  // The same subject at another issuer is another identity.
  const elsewhere = await resolveProviderAccount({ ...fresh, issuer: "https://other.example" }, "oidc", context);
  assert.deepEqual(elsewhere, { ok: false, reason: "email_in_use" });
});

test("account: an email an account uses is never linked, verified or not", async () => {
  const owner = await db().user.create({ data: { email: `owner-${randomBytes(4).toString("hex")}@example.test`, passwordHash: "x" } });
  const verified = await resolveProviderAccount(identity({ email: owner.email.toUpperCase(), emailVerified: true }), "oidc", context);
  assert.deepEqual(verified, { ok: false, reason: "email_in_use" });
  // Unverified: refused as any unverified address is, without telling that the account exists.
  const unverified = await resolveProviderAccount(identity({ email: owner.email, emailVerified: false }), "oidc", context);
  assert.deepEqual(unverified, { ok: false, reason: "email_unverified" });
  assert.equal(await db().account.count({ where: { userId: owner.id } }), 0);
});

test("account: no account for an unverified or missing email", async () => {
  const unverified = identity({ emailVerified: false });
  assert.deepEqual(await resolveProviderAccount(unverified, "oidc", context), { ok: false, reason: "email_unverified" });
  assert.equal(await db().user.count({ where: { email: unverified.email! } }), 0);
  assert.deepEqual(await resolveProviderAccount(identity({ email: null }), "oidc", context), { ok: false, reason: "no_email" });
  assert.deepEqual(await resolveProviderAccount(identity({ email: "not an address" }), "oidc", context), { ok: false, reason: "no_email" });
});
