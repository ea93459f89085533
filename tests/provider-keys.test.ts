// Verifying a provider's tokens against its published key set, over real HTTP
// on loopback: a provider here is a small server with a discovery document and
// a key set that answers well or badly. A token that does not verify is
// refused; a key set that cannot be had is no verdict on the token, and is
// thrown (the callers fail closed: 503 for a logout token, which the provider
// then sends again; "cannot be reached" on the sign-in page).
import "./support/test-env";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { errors, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { BACKCHANNEL_LOGOUT_EVENT, verifyLogoutToken } from "../lib/auth/backchannel-logout";
import { verifyIdTokenSignature } from "../lib/auth/id-token";
import { keySetUnavailable } from "../lib/auth/provider-metadata";

const AUDIENCE = "session-or-token";
/** How a provider's key set endpoint answers: its key set, a server error, text that is not JSON, JSON that is no key set. */
type KeySetAnswer = "keys" | "server-error" | "not-json" | "not-a-key-set";
const ANSWERS: KeySetAnswer[] = ["keys", "server-error", "not-json", "not-a-key-set"];

let server: Server;
let origin: string;
let signingKey: CryptoKey;
let publicJwk: JWK;
const KID = randomBytes(8).toString("hex");

/** One provider per answer, each under its own path: the issuer is `<origin>/<answer>`. */
const issuerOf = (answer: KeySetAnswer) => `${origin}/${answer}`;

before(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  signingKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), alg: "RS256", use: "sig", kid: KID };
  server = createServer((request, response) => {
    const [, answer, ...rest] = (request.url ?? "").split("/") as [string, KeySetAnswer, ...string[]];
    const path = rest.join("/");
    if (!ANSWERS.includes(answer)) return void response.writeHead(404).end();
    if (path === ".well-known/openid-configuration") {
      response.writeHead(200, { "content-type": "application/json" });
      return void response.end(JSON.stringify({ issuer: issuerOf(answer), jwks_uri: `${issuerOf(answer)}/jwks` }));
    }
    if (path !== "jwks") return void response.writeHead(404).end();
    if (answer === "server-error") return void response.writeHead(500).end("internal error");
    response.writeHead(200, { "content-type": "application/json" });
    if (answer === "not-json") return void response.end("<html>maintenance</html>");
    if (answer === "not-a-key-set") return void response.end(JSON.stringify({ keys: "none" }));
    response.end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function idToken(issuer: string, key: CryptoKey = signingKey): Promise<string> {
  return new SignJWT({ nonce: "n" })
    .setProtectedHeader({ alg: "RS256", kid: KID })
    .setIssuer(issuer)
    .setAudience(AUDIENCE)
    .setSubject("alice")
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(key);
}

async function logoutToken(issuer: string, key: CryptoKey = signingKey): Promise<string> {
  return new SignJWT({ events: { [BACKCHANNEL_LOGOUT_EVENT]: {} }, sid: "sid-1" })
    .setProtectedHeader({ alg: "RS256", kid: KID, typ: "logout+jwt" })
    .setIssuer(issuer)
    .setAudience(AUDIENCE)
    .setSubject("alice")
    .setJti(randomBytes(12).toString("hex"))
    .setIssuedAt()
    .setExpirationTime("2m")
    .sign(key);
}

test("ID token: signed with the published key verifies; another key under the same kid is a bad signature", async () => {
  const issuer = issuerOf("keys");
  const expected = { issuer, audience: AUDIENCE };
  assert.deepEqual(await verifyIdTokenSignature(await idToken(issuer), expected), { ok: true });
  const { privateKey: foreign } = await generateKeyPair("RS256");
  assert.deepEqual(await verifyIdTokenSignature(await idToken(issuer, foreign), expected), { ok: false, reason: "signature" });
});

test("logout token: signed with the published key verifies; another key is a bad signature (400 at the endpoint)", async () => {
  const provider = { issuer: issuerOf("keys"), audience: AUDIENCE };
  const verified = await verifyLogoutToken(await logoutToken(provider.issuer), provider);
  assert.equal(verified.ok, true, JSON.stringify(verified));
  const { privateKey: foreign } = await generateKeyPair("RS256");
  assert.deepEqual(await verifyLogoutToken(await logoutToken(provider.issuer, foreign), provider), { ok: false, reason: "signature" });
});

for (const answer of ["server-error", "not-json", "not-a-key-set"] as const) {
  test(`a key set that answers ${answer} is no verdict on the token: both verifiers throw, neither calls it a bad signature`, async () => {
    const issuer = issuerOf(answer);
    await assert.rejects(verifyIdTokenSignature(await idToken(issuer), { issuer, audience: AUDIENCE }), (error) => keySetUnavailable(error));
    await assert.rejects(verifyLogoutToken(await logoutToken(issuer), { issuer, audience: AUDIENCE }), (error) => keySetUnavailable(error));
  });
}

test("keySetUnavailable: the key set's timeout and malformed set are; a bad signature, an unknown kid or a bad token are not", () => {
  assert.equal(keySetUnavailable(new errors.JWKSTimeout()), true);
  assert.equal(keySetUnavailable(new errors.JWKSInvalid()), true);
  assert.equal(keySetUnavailable(new errors.JOSEError("Expected 200 OK from the JSON Web Key Set HTTP response")), true);
  assert.equal(keySetUnavailable(new errors.JWSSignatureVerificationFailed()), false);
  assert.equal(keySetUnavailable(new errors.JWKSNoMatchingKey()), false);
  assert.equal(keySetUnavailable(new errors.JWSInvalid("bad")), false);
  assert.equal(keySetUnavailable(new errors.JWTExpired("old", {})), false);
  assert.equal(keySetUnavailable(new TypeError("fetch failed")), false);
});
