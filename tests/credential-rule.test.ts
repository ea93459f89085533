// The one credential rule (lib/auth/request.ts), used by proxy.ts and by auth() /
// the route-handler wrapper alike: which credential a request carries, and that
// a new session kind is one strategy object plus one registry entry.
import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import { VERIFIED_TICKET_HEADER, issueTicket, resolveRequestSession, resolveWith, sessionFromRequest } from "../lib/auth/request";
import { db } from "../lib/platform/db";
import { strategies, type SessionStrategy } from "../lib/strategies";
import { createSession } from "../lib/strategies/database";
import { issueTokenPair } from "../lib/strategies/api";
import { requestSource } from "./support/requests";

const context = { userAgent: "node-test", ip: "127.0.0.1" };

async function newUser() {
  return db().user.create({ data: { email: `rule-${crypto.randomUUID()}@example.com`, name: "Rule" } });
}

/** A throwaway kind: what a third strategy would be (one file implementing SessionStrategy). */
const throwaway: SessionStrategy<"throwaway"> = {
  kind: "throwaway",
  label: "Throwaway",
  sessionLabel: "Throwaway session",
  credentialLabel: "Throwaway cookie",
  credentialForm: "opaque",
  transport: "cookie",
  cookieName: "sot.throwaway",
  idleTimeoutSeconds: null,
  facts: () => ({ hint: "test only", steps: ["issue", "verify", "revoke"], check: "string comparison" }),
  issue: async () => ({ value: "valid-throwaway", expires: new Date(Date.now() + 60_000) }),
  verify: async (credential) =>
    credential === "valid-throwaway"
      ? { strategy: "throwaway", user: { id: "u1", email: "t@example.com", name: null }, expires: new Date(Date.now() + 60_000), credential }
      : null,
  revoke: async () => ({ revokedOnServer: true, summary: "gone" }),
  evidence: async () => ({ sections: [], notes: [] }),
};
/** The app's registry plus one line. */
const extended = [...strategies, throwaway];

test("a kind added to the registry is accepted by the proxy's rule and by auth()'s", async () => {
  const source = requestSource({}, { "sot.throwaway": "valid-throwaway" });
  // What proxy.ts runs (resolveRequestSession is resolveWith over the app's registry):
  const viaRule = await resolveWith(extended, "browser", source);
  assert.equal(viaRule?.strategy, "throwaway");
  // What auth() and the route wrapper run, without a proxy ticket:
  const viaAuth = await sessionFromRequest(extended, "browser", source);
  assert.equal(viaAuth?.strategy, "throwaway");
  assert.equal((await sessionFromRequest(extended, "api-route", source))?.strategy, "throwaway", "API routes take cookies too");
  // …and with the proxy's ticket, bound to the same cookie.
  const ticketed = requestSource({ [VERIFIED_TICKET_HEADER]: issueTicket(viaRule!) }, { "sot.throwaway": "valid-throwaway" });
  assert.equal((await sessionFromRequest(extended, "browser", ticketed))?.strategy, "throwaway");
  // The app's own registry does not know the kind: its cookie means nothing there.
  assert.equal(await resolveRequestSession("browser", source), null);
  // Over https the cookie name carries the __Host- prefix, as for every browser kind.
  const https = requestSource({ "x-forwarded-proto": "https" }, { "__Host-sot.throwaway": "valid-throwaway" });
  assert.equal((await resolveWith(extended, "browser", https))?.strategy, "throwaway");
});

test("pages take cookies only: a Bearer token alone gets no session, from the rule or from auth()", async () => {
  const user = await newUser();
  const pair = await issueTokenPair(user, context);
  const bearerOnly = requestSource({ authorization: `Bearer ${pair.access_token}` });
  assert.equal((await resolveRequestSession("api-route", bearerOnly))?.strategy, "api", "the token is valid for APIs");
  assert.equal(await resolveRequestSession("browser", bearerOnly), null, "the proxy's rule for pages");
  assert.equal(await sessionFromRequest(strategies, "browser", bearerOnly), null, "auth() with no proxy ticket");
  // A ticket the proxy made for the bearer token is not honoured by a page either.
  const session = await resolveRequestSession("api-route", bearerOnly);
  const ticketed = requestSource({ authorization: `Bearer ${pair.access_token}`, [VERIFIED_TICKET_HEADER]: issueTicket(session!) });
  assert.equal(await sessionFromRequest(strategies, "browser", ticketed), null);
});

test("a bad Authorization header is never rescued by a valid cookie", async () => {
  const user = await newUser();
  const { token } = await createSession(user.id, context);
  const cookies = { "sot.session": token };
  assert.equal((await resolveRequestSession("api-route", requestSource({}, cookies)))?.strategy, "database");
  for (const authorization of ["Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer a.b.c", ""]) {
    assert.equal(await resolveRequestSession("api-route", requestSource({ authorization }, cookies)), null, `for ${JSON.stringify(authorization)}`);
  }
  // Pages ignore the header altogether and read the cookie.
  assert.equal((await resolveRequestSession("browser", requestSource({ authorization: "Bearer not-a-token" }, cookies)))?.strategy, "database");
});

test("a proxy ticket only stands for the very credential it was issued for", async () => {
  const user = await newUser();
  const first = await createSession(user.id, context);
  const second = await createSession(user.id, context);
  const session = await resolveRequestSession("browser", requestSource({}, { "sot.session": first.token }));
  assert.ok(session);
  const ticket = issueTicket(session);
  // Presented with another cookie: not redeemed; the full check answers for the cookie actually sent.
  const other = await sessionFromRequest(strategies, "browser", requestSource({ [VERIFIED_TICKET_HEADER]: ticket }, { "sot.session": second.token }));
  assert.equal(other?.sessionId, second.session.id);
  // Single use: a replayed ticket is not found, and a forged one neither.
  const replayed = await sessionFromRequest(strategies, "browser", requestSource({ [VERIFIED_TICKET_HEADER]: ticket }, {}));
  assert.equal(replayed, null);
  assert.equal(await sessionFromRequest(strategies, "browser", requestSource({ [VERIFIED_TICKET_HEADER]: "forged" }, {})), null);
});
