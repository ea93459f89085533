// Pushed revocation mode on SQLite (one process: the feed is in-process). Across
// instances on PostgreSQL (LISTEN/NOTIFY, channel cut): e2e/cluster/revocation.spec.ts.
import "./support/pushed-mode";
import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import { db, hotPathReads } from "../lib/platform/db";
import { feedStatus, startRevocationFeed } from "../lib/sessions/feed";
import { revokeSession } from "../lib/sessions/store";
import { issueTokenPair, revokeToken } from "../lib/strategies/api";
import { databaseStrategy } from "../lib/strategies/database";
import { jwtStrategy } from "../lib/strategies/jwt";
import { strategyByKind } from "../lib/strategies";
import { resolveBearer } from "./support/requests";

const context = { userAgent: "node-test", ip: "127.0.0.1" };

async function newUser() {
  return db().user.create({ data: { email: `pushed-${crypto.randomUUID()}@example.com`, name: "Pushed" } });
}

/** Hot-path reads `check` makes. */
async function readsDuring<T>(check: () => Promise<T>): Promise<{ result: T; reads: number }> {
  const before = hotPathReads();
  const result = await check();
  return { result, reads: hotPathReads() - before };
}

test("the feed is live after start-up and says so", async () => {
  await startRevocationFeed();
  const status = feedStatus();
  assert.equal(status?.live, true);
  assert.equal(status?.transport, "in-process");
});

test("a browser JWT: no read per request once warm; revoked → refused on the next request, without a read", async () => {
  await startRevocationFeed();
  const user = await newUser();
  const issued = await jwtStrategy.issue(user, context);
  assert.ok(await jwtStrategy.verify(issued.value), "first use (reads the user's name once)");
  const warm = await readsDuring(() => jwtStrategy.verify(issued.value));
  assert.equal(warm.result?.user.id, user.id);
  assert.equal(warm.reads, 0, "no store read once warm");

  const revoked = await jwtStrategy.revoke(issued.value);
  assert.equal(revoked.revokedOnServer, true);
  const after = await readsDuring(() => jwtStrategy.verify(issued.value));
  assert.equal(after.result, null, "a copy of the revoked token is refused");
  assert.equal(after.reads, 0, "refused from memory");
});

test("a database session: read once, then kept in memory; sign-out evicts it everywhere at once", async () => {
  await startRevocationFeed();
  const user = await newUser();
  const issued = await databaseStrategy.issue(user, context);
  assert.ok(await databaseStrategy.verify(issued.value));
  const warm = await readsDuring(() => databaseStrategy.verify(issued.value));
  assert.equal(warm.result?.user.id, user.id);
  assert.equal(warm.reads, 0, "the resolved session comes from memory");

  await databaseStrategy.revoke(issued.value);
  assert.equal(await databaseStrategy.verify(issued.value), null, "signed out: refused on the next request");
  assert.equal(await db().session.count({ where: { userId: user.id } }), 0, "the row is gone too");
});

test("a database session revoked by id (revoke one, sign out everywhere, admin) is refused from memory", async () => {
  await startRevocationFeed();
  const user = await newUser();
  const issued = await databaseStrategy.issue(user, context);
  const session = await databaseStrategy.verify(issued.value);
  assert.ok(session?.sessionId);
  await revokeSession(session.sessionId, "revoked_by_user");
  const after = await readsDuring(() => databaseStrategy.verify(issued.value));
  assert.equal(after.result, null);
  assert.equal(after.reads, 0, "the notice evicted the remembered session and the revoked id refuses it");
});

test("an API access token: no family read per request once warm; revoking the family refuses it at once", async () => {
  await startRevocationFeed();
  const user = await newUser();
  const pair = await issueTokenPair(user, context);
  assert.ok(await resolveBearer(`Bearer ${pair.access_token}`), "first use on this instance reads the family once");
  const warm = await readsDuring(() => resolveBearer(`Bearer ${pair.access_token}`));
  assert.equal(warm.result?.user.id, user.id);
  assert.equal(warm.reads, 0);
  assert.equal(await revokeToken(pair.refresh_token), true);
  assert.equal(await resolveBearer(`Bearer ${pair.access_token}`), null);
});

test("a token whose session the store no longer has is refused, though nobody revoked it (read once per instance)", async () => {
  await startRevocationFeed();
  const user = await newUser();
  const issued = await jwtStrategy.issue(user, context);
  await db().session.deleteMany({ where: { userId: user.id } });
  assert.equal(await jwtStrategy.verify(issued.value), null);
});

test("the pages say what pushed mode does", () => {
  for (const kind of ["jwt", "api"] as const) {
    const facts = strategyByKind(kind)!.facts();
    assert.equal(facts.check, "signature verification + in-memory revocation list");
    assert.match(facts.steps.join(" "), /pushed|no lookup/);
  }
  // The home page's diagrams: a request reads nothing from the store; sign-out pushes what it did.
  for (const [kind, inMemory, push] of [
    ["jwt", /revoked list in memory\? \(no lookup\)/, "push the revocation to every instance"],
    ["database", /the session by hash\(id\) in memory/, "push the deletion to every instance"],
  ] as const) {
    const sequence = strategyByKind(kind)!.facts().sequence!;
    const store = sequence.participants.length - 1;
    const request = sequence.phases.find((phase) => phase.title === "Every request")!;
    assert.deepEqual(request.messages.filter((message) => message.from === store || message.to === store), [], kind);
    assert.match(request.messages.map((message) => message.label).join(" "), inMemory);
    assert.ok(sequence.phases.at(-1)!.messages.some((message) => message.label === push), kind);
  }
});
