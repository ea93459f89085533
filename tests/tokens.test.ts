import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import { SignJWT, base64url, decodeJwt, decodeProtectedHeader, generateKeyPair } from "jose";
import { env } from "../lib/platform/env";
import { KID_LENGTH, keyRing } from "../lib/tokens/keys";
import { API_AUDIENCE, BROWSER_AUDIENCE, FIRST_PARTY_CLIENT_ID, MAX_TOKEN_LENGTH, signAccessToken, signBrowserJwt, verifyAccessToken, verifyBrowserJwt } from "../lib/tokens/jwt";

const user = { id: "user-1", email: "ada@example.com", name: "Ada", role: "user" };
const sid = "session-1";
const now = () => Math.floor(Date.now() / 1000);
const inAnHour = () => new Date(Date.now() + 3600_000);

/** Signs arbitrary claims with the server's real key, to test claim checks in isolation. */
async function signWithServerKey(claims: Record<string, unknown>, header: Record<string, unknown> = {}) {
  const signing = (await keyRing()).signingKey();
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "EdDSA", kid: signing.kid, typ: "JWT", ...header })
    .sign(signing.privateKey);
}

function validClaims(overrides: Record<string, unknown> = {}) {
  return {
    iss: env.JWT_ISSUER,
    aud: BROWSER_AUDIENCE,
    sub: user.id,
    iat: now(),
    exp: now() + 600,
    sid,
    ...overrides,
  };
}

test("a signed token is a compact JWS (three segments), EdDSA with a kid, and verifies", async () => {
  const { token, expires } = await signBrowserJwt(user, sid, inAnHour());
  assert.equal(token.split(".").length, 3);
  const header = decodeProtectedHeader(token);
  assert.equal(header.alg, "EdDSA");
  assert.equal(header.typ, "JWT");
  assert.equal(header.kid, (await keyRing()).signingKey().kid);
  assert.equal(header.kid?.length, KID_LENGTH);
  const claims = decodeJwt(token);
  // Exactly the claims the server needs (see BrowserClaims): no jti, no name or e-mail.
  assert.deepEqual(Object.keys(claims).sort(), ["aud", "exp", "iat", "iss", "sid", "sub"]);
  assert.deepEqual([claims.iss, claims.aud, claims.sub, claims.sid], [env.JWT_ISSUER, BROWSER_AUDIENCE, user.id, sid]);
  assert.equal(claims.exp, Math.floor(expires.getTime() / 1000));
  assert.ok(typeof claims.iat === "number");
  const verified = await verifyBrowserJwt(token);
  assert.equal(verified?.claims.sub, user.id);
});

test("the control case: a hand-signed token with valid claims verifies", async () => {
  assert.ok(await verifyBrowserJwt(await signWithServerKey(validClaims())));
});

// ASVS 5.0 9.1.1: the signature is verified before any claim is trusted.
test("a tampered payload is rejected", async () => {
  const { token } = await signBrowserJwt(user, sid, inAnHour());
  const [header, , signature] = token.split(".");
  const forged = base64url.encode(JSON.stringify({ ...decodeJwt(token), role: "admin" }));
  assert.equal(await verifyBrowserJwt(`${header}.${forged}.${signature}`), null);
});

test("a tampered signature is rejected", async () => {
  const { token } = await signBrowserJwt(user, sid, inAnHour());
  const flipped = token.slice(0, -2) + (token.at(-2) === "A" ? "B" : "A") + token.at(-1);
  assert.equal(await verifyBrowserJwt(flipped), null);
});

// ASVS 5.0 9.2.1: exp and nbf are enforced.
test("an expired token is rejected", async () => {
  assert.equal(await verifyBrowserJwt(await signWithServerKey(validClaims({ iat: now() - 7200, exp: now() - 60 }))), null);
});

test("a token not valid yet (nbf in the future) is rejected", async () => {
  assert.equal(await verifyBrowserJwt(await signWithServerKey(validClaims({ nbf: now() + 3600 }))), null);
});

// ASVS 5.0 9.2.3: the audience (and issuer) must be ours.
test("wrong audience and wrong issuer are rejected", async () => {
  assert.equal(await verifyBrowserJwt(await signWithServerKey(validClaims({ aud: "someone-else" }))), null);
  assert.equal(await verifyBrowserJwt(await signWithServerKey(validClaims({ iss: "https://evil.example" }))), null);
});

// ASVS 5.0 9.2.2: a token is only accepted for its own type and purpose.
test("a token of another type (typ at+jwt) is not accepted as a browser session", async () => {
  assert.equal(await verifyBrowserJwt(await signWithServerKey(validClaims(), { typ: "at+jwt" })), null);
});

test("missing required claims are rejected", async () => {
  for (const claim of ["sub", "sid", "iat", "exp"]) {
    const { [claim as keyof ReturnType<typeof validClaims>]: _dropped, ...without } = validClaims();
    assert.equal(await verifyBrowserJwt(await signWithServerKey(without)), null, `no ${claim}`);
  }
  assert.equal(await verifyBrowserJwt(await signWithServerKey(validClaims({ sid: 42 }))), null);
  assert.equal(await verifyBrowserJwt(await signWithServerKey(validClaims({ sub: "" }))), null);
  // An access token still needs its own id and client (RFC 9068) and the user's e-mail.
  const access = { ...validClaims({ aud: API_AUDIENCE }), jti: "jti-1", client_id: FIRST_PARTY_CLIENT_ID, email: user.email, name: user.name };
  assert.ok(await verifyAccessToken(await signWithServerKey(access, { typ: "at+jwt" })), "control: a complete access token verifies");
  for (const claim of ["jti", "client_id", "email"]) {
    const { [claim as keyof typeof access]: _dropped, ...without } = access;
    assert.equal(await verifyAccessToken(await signWithServerKey(without, { typ: "at+jwt" })), null, `access token without ${claim}`);
  }
  assert.equal(await verifyAccessToken(await signWithServerKey({ ...access, email: 42 }, { typ: "at+jwt" })), null);
});

// ASVS 5.0 9.1.2: only allowlisted algorithms; `none` never.
test("alg none is rejected", async () => {
  const header = base64url.encode(JSON.stringify({ alg: "none", typ: "JWT", kid: (await keyRing()).signingKey().kid }));
  const payload = base64url.encode(JSON.stringify(validClaims()));
  assert.equal(await verifyBrowserJwt(`${header}.${payload}.`), null);
});

test("an algorithm outside the allowlist (HS256 keyed with the public key) is rejected", async () => {
  const signing = (await keyRing()).signingKey();
  const secret = new TextEncoder().encode(String(signing.publicJwk.x));
  const token = await new SignJWT(validClaims()).setProtectedHeader({ alg: "HS256", kid: signing.kid, typ: "JWT" }).sign(secret);
  assert.equal(await verifyBrowserJwt(token), null);
});

// ASVS 5.0 9.1.3: keys come only from the server's own trusted key set (by kid).
test("a token signed by an unknown key is rejected", async () => {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const foreign = await new SignJWT(validClaims()).setProtectedHeader({ alg: "EdDSA", kid: "unknown-kid", typ: "JWT" }).sign(privateKey);
  assert.equal(await verifyBrowserJwt(foreign), null);
  const signing = (await keyRing()).signingKey();
  const impostor = await new SignJWT(validClaims()).setProtectedHeader({ alg: "EdDSA", kid: signing.kid, typ: "JWT" }).sign(privateKey);
  assert.equal(await verifyBrowserJwt(impostor), null, "right kid, wrong key");
});

test("garbage and oversized input is rejected without throwing", async () => {
  for (const garbage of ["", "abc", "a.b.c", "....", "%%%.%%%.%%%", "x".repeat(MAX_TOKEN_LENGTH + 1)]) {
    assert.equal(await verifyBrowserJwt(garbage), null, garbage.slice(0, 20));
  }
});

// ---- token kinds never cross ----

test("an access token is typ at+jwt for the API audience, with sid and client_id (RFC 9068)", async () => {
  const { token } = await signAccessToken(user, sid);
  const header = decodeProtectedHeader(token);
  assert.equal(header.typ, "at+jwt");
  const claims = decodeJwt(token);
  assert.equal(claims.aud, API_AUDIENCE);
  assert.equal(claims.sid, sid);
  assert.equal(claims.client_id, FIRST_PARTY_CLIENT_ID);
  for (const claim of ["iss", "sub", "iat", "exp", "jti"]) assert.ok(claim in claims, claim);
  assert.ok((await verifyAccessToken(token)) !== null);
});

// ASVS 5.0 9.2.2 / 9.2.4: token kinds are told apart by typ and a distinct audience, even from one signing key.
test("an access token is never accepted as a browser session, nor a browser JWT as an access token", async () => {
  const { token: access } = await signAccessToken(user, sid);
  const { token: browser } = await signBrowserJwt(user, sid, inAnHour());
  assert.equal(await verifyBrowserJwt(access), null);
  assert.equal(await verifyAccessToken(browser), null);
  // Also once each has been verified (and cached) as its own kind.
  assert.ok(await verifyAccessToken(access));
  assert.ok(await verifyBrowserJwt(browser));
  assert.equal(await verifyBrowserJwt(access), null);
  assert.equal(await verifyAccessToken(browser), null);
});

test("an access token with the right typ but the browser audience is rejected", async () => {
  const token = await signWithServerKey({ ...validClaims(), client_id: FIRST_PARTY_CLIENT_ID }, { typ: "at+jwt" });
  assert.equal(await verifyAccessToken(token), null);
});
