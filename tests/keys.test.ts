import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeProtectedHeader } from "jose";
import { ConfigurationError } from "../lib/platform/errors";
import { forgetKeyRing, keyRing, publicJwks, readKeyFile, rotateKeys, writeKeyFile } from "../lib/tokens/keys";
import { signAccessToken, verifyAccessToken } from "../lib/tokens/jwt";

const user = { id: "user-k", email: "k@example.com", name: "K" };
const kidOf = (token: string) => decodeProtectedHeader(token).kid;

test("keys persist: a restart loads the same key, and its tokens still verify", async () => {
  const { token } = await signAccessToken(user, "sid-k");
  forgetKeyRing();
  assert.ok(await verifyAccessToken(token));
  assert.equal((await keyRing()).signingKey().kid, kidOf(token));
});

test("the JWKS publishes public parts only", async () => {
  const { keys } = await publicJwks();
  assert.ok(keys.length >= 1);
  for (const key of keys) {
    assert.equal("d" in key, false);
    assert.deepEqual([key.kty, key.crv, key.alg, key.use], ["OKP", "Ed25519", "EdDSA", "sig"]);
  }
});

// ASVS 5.0 11.2.2 / 13.3.4: keys can be replaced and rotated without breaking tokens in flight.
test("rotation across a restart: new tokens use the new key, old tokens verify until the old key retires", async () => {
  const before = await signAccessToken(user, "sid-k");
  const oldKid = kidOf(before.token);
  const { file, added } = await rotateKeys(readKeyFile(), { immediately: true, longestTokenSeconds: 900 });
  writeKeyFile(file);
  forgetKeyRing(); // as a restart would

  const after = await signAccessToken(user, "sid-k");
  assert.equal(kidOf(after.token), added.kid);
  assert.notEqual(added.kid, oldKid);
  assert.ok(await verifyAccessToken(after.token));
  assert.ok(await verifyAccessToken(before.token), "the previous key keeps verifying");
  assert.deepEqual((await publicJwks()).keys.map((key) => key.kid).sort(), [oldKid, added.kid].sort());

  // Once its retirement time has passed, the old key and its tokens are gone.
  const retired = readKeyFile();
  writeKeyFile({
    ...retired,
    keys: retired.keys.map((key) => (key.kid === oldKid ? { ...key, retiredAt: new Date(Date.now() - 1000).toISOString() } : key)),
  });
  forgetKeyRing();
  assert.equal(await verifyAccessToken(before.token), null);
  assert.ok(await verifyAccessToken(after.token));
  assert.deepEqual((await publicJwks()).keys.map((key) => key.kid), [added.kid]);
});

test("a rotated key is published at once but signs only after the JWKS cache lifetime", async () => {
  const current = (await keyRing()).signingKey().kid;
  const { file, added } = await rotateKeys(readKeyFile(), { longestTokenSeconds: 900 });
  writeKeyFile(file);
  forgetKeyRing();
  const ring = await keyRing();
  assert.ok(ring.byKid.has(added.kid), "published");
  assert.equal(ring.signingKey().kid, current, "the current key still signs");
  assert.equal(ring.signingKey(new Date(Date.parse(added.activatesAt ?? "") + 1000)).kid, added.kid, "and the new one after activation");
});

// ASVS 5.0 13.3.1: secrets live outside the source; a missing or invalid key set stops start-up.
test("a missing or broken key file is a clear configuration error", () => {
  assert.throws(() => readKeyFile("/nonexistent/keys.json"), (error: unknown) => error instanceof ConfigurationError && /keys:init/.test(error.message));
  assert.throws(() => readKeyFile(import.meta.filename), (error: unknown) => error instanceof ConfigurationError && /not valid JSON/.test(error.message));
});
