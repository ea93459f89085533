// ASVS 5.0 V3.7.2 / CWE-601: after sign-in, every redirect stays on this origin,
// decided on the URL parser's normalised result, not on the raw string.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_AFTER_SIGN_IN, safeRedirectPath } from "../lib/security/redirect";
import { HOSTILE_TARGETS, SAFE_TARGETS } from "./support/redirect-corpus";

test("redirect corpus: every hostile value falls back to the default", () => {
  for (const hostile of HOSTILE_TARGETS) {
    assert.equal(safeRedirectPath(hostile), DEFAULT_AFTER_SIGN_IN, `for ${JSON.stringify(hostile)}`);
  }
});

test("redirect corpus: same-origin paths are kept, normalised", () => {
  for (const [target, expected] of SAFE_TARGETS) assert.equal(safeRedirectPath(target), expected, `for ${target}`);
});

test("an accepted path resolves to this origin for any base, and is a fixed point", () => {
  for (const [target] of SAFE_TARGETS) {
    const accepted = safeRedirectPath(target);
    for (const base of ["http://app.test", "https://app.test:8443/deep/path"]) {
      assert.equal(new URL(accepted, base).origin, new URL(base).origin);
    }
    assert.equal(safeRedirectPath(accepted), accepted);
  }
});

test("a caller-chosen fallback is used for refused values", () => {
  assert.equal(safeRedirectPath("//evil.example", "/"), "/");
});
