// The comparison lab's hybrid experiment (a JWT tied to its session by sid)
// without a browser: its verdict in every revocation mode and for every
// outcome (fed made-up figures, so each branch is reached whatever this
// server's configuration), the difference it reports as the session check's
// cost, and — on the test database — the read counter it reports with: the
// session lookup by sid is one store read, the signature alone none.
import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import { generateKeyPair, jwtVerify, SignJWT, decodeJwt } from "jose";
import { hybridVerdict, sessionCheckMicros, sidCheckWords } from "../lib/lab/hybrid";
import { timeSteps, type StepCost } from "../lib/lab/measure";
import { isSignedToken } from "../lib/lab/revocation";
import { withThrowawayAccount } from "../lib/lab/throwaway";
import type { RevocationRow } from "../lib/lab/verdicts";
import { activeSessionUser, revokeSession } from "../lib/sessions/store";
import { browserStrategies, strategies } from "../lib/strategies";

const now = Date.parse("2026-01-01T00:00:00Z");
function probed(key: string, role: RevocationRow["role"], refusedAfterMs: number | null, acceptedBefore = true): RevocationRow {
  return { key, label: key, role, acceptedBefore, refusedAfterMs, probedForMs: 1500, expiresAt: now + 3600_000, revokedAt: now };
}
const step = (medianMicros: number, reads = 0): StepCost => ({ medianMicros, reads: { perStep: reads, disturbed: 0 }, steps: 60 });
const costs = { signature: step(80), signatureAndSession: step(230, 1), memory: null };

test("the session check's cost: verify + check less verify alone, never below zero", () => {
  assert.equal(sessionCheckMicros(costs), 150);
  assert.equal(sessionCheckMicros({ signature: step(90), signatureAndSession: step(85) }), 0);
});

test("hybrid verdict: refused at once in strict and pushed mode, accepted until exp in stateless mode", () => {
  const strict = hybridVerdict("strict", probed("server", "token", 3), probed("offline", "offline", null), costs);
  assert.match(strict.verdict, /^True here, and it pays: .*REVOCATION_MODE=strict looks the session its sid names up on every request/);
  assert.match(strict.verdict, /refused the JWT after 3\.00 ms; looking the session up by sid took 150 µs on top of 80 µs for the signature, in process\.$/);
  assert.match(strict.caveat, /public key .* still accepted the revoked JWT, until exp \(1 h later\)/);

  const pushed = hybridVerdict("pushed", probed("server", "token", 1), probed("offline", "offline", null), { ...costs, memory: step(4) });
  assert.match(pushed.verdict, /^True here, and it pays: .*REVOCATION_MODE=pushed checks its sid against the revocations pushed/);
  assert.match(pushed.verdict, /150 µs on top of 80 µs .*; the in-memory check pushed mode makes instead took 4 µs\.$/);
  // The feed down (nothing in memory to time): the lookup's price only, which is what the instance pays then.
  assert.doesNotMatch(hybridVerdict("pushed", probed("server", "token", 1), probed("offline", "offline", null), costs).verdict, /in-memory/);

  const stateless = hybridVerdict("stateless", probed("server", "token", null), probed("offline", "offline", null), costs);
  assert.match(stateless.verdict, /^Linked but not enforced here: .*REVOCATION_MODE=stateless checks the signature only .* until exp \(1 h later\)/);
  assert.match(stateless.caveat, /still written at sign-in/);
  assert.match(stateless.caveat, /REVOCATION_MODE=strict or pushed/);
});

test("hybrid verdict: a failed control or an outcome the mode does not explain says so", () => {
  assert.match(hybridVerdict("strict", probed("server", "token", 2, false), probed("offline", "offline", null), costs).verdict, /^Inconclusive: server refused/);
  assert.match(hybridVerdict("strict", probed("server", "token", null), probed("offline", "offline", null), costs).verdict, /^Not as configured: REVOCATION_MODE=strict .* still accepted/);
  assert.match(hybridVerdict("stateless", probed("server", "token", 4), probed("offline", "offline", null), costs).verdict, /^Not as configured: REVOCATION_MODE=stateless .* refused/);
});

test("the sid check in words, per mode", () => {
  assert.match(sidCheckWords("strict"), /every request/);
  assert.match(sidCheckWords("pushed"), /memory/);
  assert.match(sidCheckWords("stateless"), /never looks at sid/);
});

test("read counter: the session lookup by sid is one store read, a signature check none; a revoked session is refused", async () => {
  const context = { userAgent: "lab-test", ip: "127.0.0.1" };
  await withThrowawayAccount(async (account) => {
    const credentials = [];
    for (const strategy of browserStrategies(strategies)) {
      const issued = await strategy.issue(account.user, context);
      await account.track(issued.value);
      credentials.push(issued.value);
    }
    const token = credentials.find(isSignedToken);
    assert.ok(token, "a browser kind issues a signed token");
    const { sid, sub } = decodeJwt(token);
    assert.ok(typeof sid === "string" && typeof sub === "string");

    const lookup = await timeSteps(() => activeSessionUser(sid, sub), 10);
    assert.deepEqual(lookup.reads, { perStep: 1, disturbed: 0 });
    assert.equal(lookup.steps, 10);
    const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const signed = await new SignJWT({ sid }).setProtectedHeader({ alg: "EdDSA" }).sign(privateKey);
    const signature = await timeSteps(() => jwtVerify(signed, publicKey), 10);
    assert.deepEqual(signature.reads, { perStep: 0, disturbed: 0 });
    assert.ok(signature.medianMicros > 0);

    assert.notEqual(await activeSessionUser(sid, sub), null);
    await revokeSession(sid, "sign_out");
    assert.equal(await activeSessionUser(sid, sub), null, "the lookup the hybrid check makes refuses a revoked session");
  });
});
