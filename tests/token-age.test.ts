// Tokens from the future, or older than their kind can live, are refused even
// with a valid signature (defence in depth against a leaked key or a clock that
// ran away): issued no later than now + the clock tolerance, not longer ago than
// the kind's lifetime, and never meant to outlive it (exp − iat ≤ lifetime).
import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import { SignJWT, decodeJwt, decodeProtectedHeader } from "jose";
import { env } from "../lib/platform/env";
import { signAccessToken, signBrowserJwt, verifyAccessToken, verifyBrowserJwt } from "../lib/tokens/jwt";
import { keyRing } from "../lib/tokens/keys";

const subject = { id: "user-age", email: "age@example.com", name: "Age" };
const now = () => Math.floor(Date.now() / 1000);

/** A token of the same kind as `token`, re-signed with the server's key after changing its claims. */
async function resigned(token: string, change: (claims: Record<string, unknown>) => Record<string, unknown>): Promise<string> {
  const signing = (await keyRing()).signingKey();
  const header = decodeProtectedHeader(token);
  return new SignJWT(change({ ...decodeJwt(token) }))
    .setProtectedHeader({ alg: "EdDSA", kid: signing.kid, typ: header.typ })
    .sign(signing.privateKey);
}

const kinds = [
  {
    name: "browser JWT",
    lifetime: () => env.JWT_TTL_SECONDS,
    issue: async () => (await signBrowserJwt(subject, "sid-age", new Date(Date.now() + env.JWT_TTL_SECONDS * 1000))).token,
    verify: verifyBrowserJwt,
  },
  {
    name: "access token",
    lifetime: () => env.ACCESS_TOKEN_TTL_SECONDS,
    issue: async () => (await signAccessToken(subject, "sid-age")).token,
    verify: verifyAccessToken,
  },
];

for (const kind of kinds) {
  test(`${kind.name}: the control case verifies, re-signed unchanged`, async () => {
    const token = await resigned(await kind.issue(), (claims) => claims);
    assert.ok(await kind.verify(token));
  });

  test(`${kind.name}: issued an hour or a year in the future → refused`, async () => {
    const original = await kind.issue();
    for (const ahead of [3600, 365 * 24 * 3600]) {
      const future = await resigned(original, (claims) => ({ ...claims, iat: now() + ahead, exp: now() + ahead + 60 }));
      assert.equal(await kind.verify(future), null, `iat ${ahead} s ahead`);
    }
    // Within the clock tolerance (5 s) it still verifies: clocks are never exactly in step.
    const slightlyAhead = await resigned(original, (claims) => ({ ...claims, iat: now() + 2, exp: now() + 62 }));
    assert.ok(await kind.verify(slightlyAhead));
  });

  test(`${kind.name}: older than its lifetime, or meant to outlive it → refused`, async () => {
    const original = await kind.issue();
    const lifetime = kind.lifetime();
    const stale = await resigned(original, (claims) => ({ ...claims, iat: now() - lifetime - 60, exp: now() + 60 }));
    assert.equal(await kind.verify(stale), null, "issued longer ago than the lifetime");
    const tooLong = await resigned(original, (claims) => ({ ...claims, iat: now(), exp: now() + lifetime + 3600 }));
    assert.equal(await kind.verify(tooLong), null, "exp − iat above the lifetime");
  });
}
