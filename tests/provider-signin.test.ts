import "./support/test-env";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { resolveProviderAccount } from "../lib/account/provider-accounts";
import {
  FLOW_TTL_SECONDS,
  openFlowChoice,
  openPendingLink,
  pendingLinkBelongsTo,
  sealFlowChoice,
  sealPendingLink,
  type FlowPurpose,
  type PendingLink,
} from "../lib/auth/provider-flow";
import { authenticatedSince, providerAuthentication } from "../lib/auth/provider-signin";
import { identityFrom, type ProviderIdentity } from "../lib/auth/providers";
import { db } from "../lib/platform/db";

const SECRET = "a-test-secret-of-at-least-32-characters-long";
const STATE = "state-of-this-flow";
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const choice = { provider: "oidc", purpose: { kind: "signin", strategy: "jwt" } } as const;
const context = { userAgent: "test", ip: "127.0.0.1" };

const pending: PendingLink = {
  provider: "oidc",
  type: "oidc",
  issuer: "https://idp.example",
  subject: "sub-1",
  email: "owner@example.test",
  userId: "user-1",
};

test("flow cookie: the purpose comes back for the same flow, provider and secret, with the flow's start", () => {
  const value = sealFlowChoice(choice, STATE, SECRET, NOW);
  assert.deepEqual(openFlowChoice(value, { state: STATE, provider: "oidc" }, SECRET, NOW + 1000), { ...choice, startedAt: NOW });
  const bound = { provider: "oidc", purpose: { kind: "confirm", userId: "user-1", sessionId: "session-1", returnTo: "/dashboard/security" } } as const;
  assert.deepEqual(openFlowChoice(sealFlowChoice(bound, STATE, SECRET, NOW), { state: STATE, provider: "oidc" }, SECRET, NOW), { ...bound, startedAt: NOW });
});

test("flow cookie: the value shows neither the state it is bound to nor what it carries", () => {
  const value = sealFlowChoice({ provider: "oidc", purpose: { kind: "link", userId: "user-visible", sessionId: "s", returnTo: "/x" } }, STATE, SECRET, NOW);
  for (const secret of [STATE, "user-visible", "link"]) {
    assert.ok(!value.includes(secret) && !value.includes(Buffer.from(secret).toString("base64url")), secret);
  }
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

/**
 * The value with the first character of part `index` (1: IV, 2: ciphertext, 3: tag) changed: it
 * carries the top bits of the first byte (a last character can carry only padding bits).
 */
function edited(value: string, index: number): string {
  const parts = value.split(".");
  const part = parts[index]!;
  parts[index] = `${part.startsWith("A") ? "B" : "A"}${part.slice(1)}`;
  return parts.join(".");
}

test("flow cookie: an edited value, another key, the pending-link cookie's value or garbage is refused", () => {
  const value = sealFlowChoice(choice, STATE, SECRET, NOW);
  const expected = { state: STATE, provider: "oidc" };
  for (const index of [1, 2, 3]) assert.equal(openFlowChoice(edited(value, index), expected, SECRET, NOW), null, `part ${index}`);
  assert.equal(openFlowChoice(value, expected, `${SECRET}-other`, NOW), null);
  // Each cookie has its own key: one cannot stand in for the other.
  assert.equal(openFlowChoice(sealPendingLink(pending, SECRET, NOW), expected, SECRET, NOW), null);
  for (const garbage of [undefined, "", "v1", "v1..", "v1...", `v2${value.slice(2)}`, `${value}.extra`, "x".repeat(5000)]) {
    assert.equal(openFlowChoice(garbage, expected, SECRET, NOW), null, `for ${String(garbage).slice(0, 20)}`);
  }
});

test("flow cookie: a purpose that is not one of the three is refused even when sealed with the right key", () => {
  // A well-formed value the server would never write: a sign-in purpose without a session kind.
  const value = sealFlowChoice({ provider: "oidc", purpose: { kind: "signin" } as unknown as FlowPurpose }, STATE, SECRET, NOW);
  assert.equal(openFlowChoice(value, { state: STATE, provider: "oidc" }, SECRET, NOW), null);
});

test("pending link: opens unchanged while fresh; expired, edited, another key or the flow cookie's value is refused", () => {
  const value = sealPendingLink(pending, SECRET, NOW);
  assert.deepEqual(openPendingLink(value, SECRET, NOW + 1000), pending);
  assert.ok(!value.includes(pending.email) && !value.includes(pending.subject));
  assert.equal(openPendingLink(value, SECRET, NOW + FLOW_TTL_SECONDS * 1000), null);
  for (const index of [1, 2, 3]) assert.equal(openPendingLink(edited(value, index), SECRET, NOW), null, `part ${index}`);
  assert.equal(openPendingLink(value, `${SECRET}-other`, NOW), null);
  assert.equal(openPendingLink(sealFlowChoice(choice, "", SECRET, NOW), SECRET, NOW), null);
  assert.equal(openPendingLink(undefined, SECRET, NOW), null);
});

test("pending link: completed only by the account it was made for, while it still has the verified address", () => {
  assert.equal(pendingLinkBelongsTo(pending, { id: "user-1", email: "owner@example.test" }), true);
  assert.equal(pendingLinkBelongsTo(pending, { id: "user-1", email: "OWNER@example.test" }), true);
  assert.equal(pendingLinkBelongsTo(pending, { id: "user-2", email: "owner@example.test" }), false);
  assert.equal(pendingLinkBelongsTo(pending, { id: "user-1", email: "changed@example.test" }), false);
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
  // …whose verified address the first account uses: not signed in, the link waits for that account's password.
  assert.deepEqual(elsewhere, { ok: false, reason: "email_in_use", owner: { id: first.user.id, email: first.user.email } });
});

test("account: an email an account uses is never linked on the provider's word alone, verified or not", async () => {
  const owner = await db().user.create({ data: { email: `owner-${randomBytes(4).toString("hex")}@example.test`, passwordHash: "x" } });
  const verified = await resolveProviderAccount(identity({ email: owner.email.toUpperCase(), emailVerified: true }), "oidc", context);
  assert.deepEqual(verified, { ok: false, reason: "email_in_use", owner: { id: owner.id, email: owner.email } });
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

test("confirming through the provider: only a sign-in after the confirmation started counts", () => {
  const started = NOW;
  const at = (secondsAfterStart: number) => providerAuthentication({ auth_time: Math.floor(started / 1000) + secondsAfterStart, amr: ["pwd"] }, new Date(started + 60_000));
  assert.equal(authenticatedSince(at(10), started), true);
  assert.equal(authenticatedSince(at(0), started), true);
  // A second or two of clock difference between the provider and this server is tolerated…
  assert.equal(authenticatedSince(at(-2), started), true);
  // …a provider session from before the confirmation is not.
  assert.equal(authenticatedSince(at(-60), started), false);
  assert.equal(authenticatedSince(at(-3600), started), false);
  // No auth_time (GitHub, or a provider that ignored max_age): no confirmation.
  assert.equal(authenticatedSince(providerAuthentication({ sub: "u1" }), started), false);
  assert.deepEqual(at(10)?.methods, ["pwd"]);
});
