import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import { hashPassword, verifyAgainstDummy, verifyPassword } from "../lib/users/password";

// ASVS 5.0 11.4.2: passwords stored with an approved, slow key-derivation function at current parameters.
test("hashes with argon2id at the OWASP minimum cost (m=19456 KiB, t=2, p=1)", async () => {
  const stored = await hashPassword("correct horse battery staple");
  assert.match(stored, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  assert.ok(!stored.includes("correct horse"), "the hash must not contain the password");
});

test("two hashes of one password differ (random salt)", async () => {
  assert.notEqual(await hashPassword("same password here"), await hashPassword("same password here"));
});

test("verifies the right password and refuses a wrong one", async () => {
  const stored = await hashPassword("right password 1");
  assert.equal(await verifyPassword(stored, "right password 1"), true);
  assert.equal(await verifyPassword(stored, "right password 2"), false);
});

test("a malformed stored hash is a failed check, not an exception", async () => {
  assert.equal(await verifyPassword("not-a-phc-string", "anything"), false);
});

test("the dummy check for unknown accounts always fails", async () => {
  assert.equal(await verifyAgainstDummy("demo-password-123"), false);
});
