import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import { clientContext, isSameOriginRequest } from "../lib/security/request";
import { hashToken, newOpaqueToken } from "../lib/tokens/opaque";
import { DEFAULT_AFTER_SIGN_IN, safeRedirectPath } from "../lib/security/redirect";

test("callbackUrl: same-origin paths are kept", () => {
  assert.equal(safeRedirectPath("/dashboard"), "/dashboard");
  assert.equal(safeRedirectPath("/dashboard/x?tab=1#top"), "/dashboard/x?tab=1#top");
});

// Open-redirect protection: after sign-in, redirects stay on this origin.
test("callbackUrl: anything that could leave the origin lands on the dashboard", () => {
  for (const hostile of [
    "https://evil.example/",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "http:evil.example",
    "/%0d%0aSet-Cookie:x",
    "/\tevil",
    "",
    undefined,
    ["/dashboard"],
  ]) {
    // Encoded control characters are refused too (tests/redirect.test.ts has the whole corpus).
    assert.equal(safeRedirectPath(hostile), DEFAULT_AFTER_SIGN_IN, `for ${JSON.stringify(hostile)}`);
  }
});

test("opaque tokens carry 256 bits from the CSPRNG and are never repeated", () => {
  const tokens = new Set(Array.from({ length: 1000 }, () => newOpaqueToken()));
  assert.equal(tokens.size, 1000);
  for (const token of tokens) assert.match(token, /^[A-Za-z0-9_-]{43}$/);
});

test("hashToken is SHA-256 base64url and differs from the token", () => {
  const token = newOpaqueToken();
  const hash = hashToken(token);
  assert.match(hash, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(hash, token);
  assert.equal(hashToken(token), hash);
});

// ASVS 15.3.4 / 6.3.1: the client address comes from the edge (server.mjs), never from a client-sent header.
test("client context is trimmed, takes the address server.mjs set, and ignores X-Forwarded-For", () => {
  const headers = new Headers({
    "user-agent": "x".repeat(2000),
    "x-sot-client-ip": "198.51.100.4",
    "x-forwarded-for": "203.0.113.7, 10.0.0.1",
    "x-real-ip": "203.0.113.8",
  });
  const context = clientContext(headers);
  assert.equal(context.userAgent?.length, 512);
  assert.equal(context.ip, "198.51.100.4");
  assert.equal(clientContext(new Headers({ "x-forwarded-for": "203.0.113.7" })).ip, null, "no edge address: unknown, not the spoofable header");
});

test("same-origin check: cross-site and Origin: null are refused, same-origin and non-browser clients pass", () => {
  const request = (headers: Record<string, string>) => new Request("http://app.test/api/auth/signout", { method: "POST", headers: { host: "app.test", ...headers } });
  assert.equal(isSameOriginRequest(request({ origin: "http://app.test", "sec-fetch-site": "same-origin" })), true);
  assert.equal(isSameOriginRequest(request({})), true);
  assert.equal(isSameOriginRequest(request({ origin: "https://evil.example" })), false);
  assert.equal(isSameOriginRequest(request({ origin: "null" })), false);
  assert.equal(isSameOriginRequest(request({ "sec-fetch-site": "cross-site" })), false);
  assert.equal(isSameOriginRequest(request({ "sec-fetch-site": "same-site", origin: "http://sub.app.test" })), false);
});

// ASVS 5.0 3.3.1 / 3.3.3 / 3.3.4: over https the session cookies are __Host- prefixed and Secure; always HttpOnly, SameSite=Lax, Path=/.
test("session cookie names and attributes follow the connection", async () => {
  const { browserStrategies, cookieNameFor, strategies } = await import("../lib/strategies");
  const { sessionCookieOptions } = await import("../lib/auth/cookies");
  for (const strategy of browserStrategies(strategies)) {
    assert.equal(cookieNameFor(strategy, true), `__Host-${strategy.cookieName}`);
    assert.equal(cookieNameFor(strategy, false), strategy.cookieName);
  }
  const expires = new Date();
  assert.deepEqual(sessionCookieOptions(true, expires), { httpOnly: true, sameSite: "lax", path: "/", secure: true, expires });
  assert.equal(sessionCookieOptions(false, expires).secure, false);
});
