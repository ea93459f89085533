import "./support/test-env";
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Redis } from "ioredis";
import type { RunningRedis } from "../scripts/redis-process.mjs";

// SESSION_STORE=redis against a real, throwaway redis-server (scripts/redis-process.mjs):
// every kind of session lives in Redis with its lifetime as the key's TTL, the
// behaviour is the database store's (the same strategy code runs on it), and in
// pushed revocation mode the feed rides on Redis pub/sub. Users stay in the
// database. Without redis-server the tests are skipped (scripts/test.mjs says so
// loudly, and fails under CI).

const context = { userAgent: "node-test", ip: "127.0.0.1" };

describe("sessions in Redis", async () => {
  const { findRedisServer, startRedis } = await import("../scripts/redis-process.mjs");
  if (!findRedisServer()) {
    test("redis sessions: all of it", { skip: "redis-server is not installed (apt-get install -y redis-server)" }, () => {});
    return;
  }
  const server: RunningRedis = await startRedis();
  process.env.REDIS_URL = server.url;
  process.env.SESSION_STORE = "redis";
  process.env.REVOCATION_MODE = "pushed";
  /** A connection of the test's own, to read what the app wrote. */
  const reader = new Redis(server.url, { lazyConnect: true });
  await reader.connect();

  // Imported only now: the environment is read once, when lib/platform/env.ts loads.
  const { db } = await import("../lib/platform/db");
  const { hashPassword } = await import("../lib/users/password");
  const { hashToken } = await import("../lib/tokens/opaque");
  const { databaseStrategy } = await import("../lib/strategies/database");
  const { jwtStrategy } = await import("../lib/strategies/jwt");
  const { exchangeBrowserSession, issueTokenPair, refreshTokenPair } = await import("../lib/strategies/api");
  const { activeSessionsForUser, revokeOtherSessions } = await import("../lib/account/sessions");
  const { feedStatus, startRevocationFeed, stopRevocationFeed } = await import("../lib/sessions/feed");
  const { revokeProviderSessions, sessionStoreName } = await import("../lib/sessions/store");
  const { resolveBearer } = await import("./support/requests");
  const { closeRedis } = await import("../lib/platform/redis");

  after(async () => {
    await stopRevocationFeed();
    await closeRedis();
    reader.disconnect();
    await server.stop();
  });

  async function newUser() {
    const email = `redis-${crypto.randomUUID()}@example.com`;
    return db().user.create({ data: { email, name: "Redis", passwordHash: await hashPassword("a long password 1") } });
  }

  test("redis sessions: the store is Redis and the feed is live on its pub/sub", async () => {
    assert.equal(sessionStoreName(), "redis");
    await startRevocationFeed();
    assert.deepEqual({ live: feedStatus()?.live, transport: feedStatus()?.transport }, { live: true, transport: "redis" });
  });

  test("redis sessions: a database session is a Redis hash with the session's lifetime as TTL, found by the token's hash only", async () => {
    const user = await newUser();
    const issued = await databaseStrategy.issue(user, context);
    const verified = await databaseStrategy.verify(issued.value);
    assert.equal(verified?.user.email, user.email);
    const id = verified!.sessionId!;
    const fields = await reader.hgetall(`sot:session:${id}`);
    assert.equal(fields.strategy, "database");
    assert.equal(fields.userId, user.id);
    assert.equal(fields.tokenHash, hashToken(issued.value));
    assert.ok(!JSON.stringify(fields).includes(issued.value), "the raw token is stored nowhere");
    const ttl = await reader.pttl(`sot:session:${id}`);
    const lifetime = issued.expires.getTime() - Date.now();
    assert.ok(ttl > 0 && Math.abs(ttl - lifetime) < 5_000, `TTL ${ttl} ms ≈ lifetime ${lifetime} ms`);
    assert.equal(await reader.get(`sot:session-token:${hashToken(issued.value)}`), id);
    assert.equal(await db().session.count({ where: { userId: user.id } }), 0, "nothing in the database's Session table");

    await databaseStrategy.revoke(issued.value);
    assert.equal(await databaseStrategy.verify(issued.value), null, "signed out: refused");
    assert.equal(await reader.exists(`sot:session:${id}`, `sot:session-token:${hashToken(issued.value)}`), 0, "both keys deleted");
  });

  test("redis sessions: a JWT's sid record is revoked in Redis, published on the channel, and refused", async () => {
    const user = await newUser();
    const issued = await jwtStrategy.issue(user, context);
    const verified = await jwtStrategy.verify(issued.value);
    assert.equal(verified?.user.id, user.id);
    const listener = new Redis(server.url, { lazyConnect: true });
    await listener.connect();
    const heard = new Promise<string>((resolve) => listener.on("message", (_channel: string, message: string) => resolve(message)));
    await listener.subscribe("sot:revocations");
    try {
      assert.equal((await jwtStrategy.revoke(issued.value)).revokedOnServer, true);
      assert.deepEqual(JSON.parse(await heard), { sessionIds: [verified!.sessionId] });
    } finally {
      listener.disconnect();
    }
    assert.equal(await jwtStrategy.verify(issued.value), null);
    assert.ok((await reader.hget(`sot:session:${verified!.sessionId}`, "revokedAt"))!.length > 0);
    assert.notEqual(await reader.zscore("sot:revoked-sessions", verified!.sessionId!), null, "what a starting instance loads");
  });

  test("redis sessions: back-channel logout finds provider sessions by (issuer, sid) and (issuer, sub) and revokes them, pushed", async () => {
    const user = await newUser();
    const issuer = "https://idp.example.test";
    const origin = (subject: string, sid: string | null) => ({ method: "oidc" as const, issuer, subject, providerSessionId: sid });
    const bySid = await jwtStrategy.issue(user, context, origin("alice", "sid-1"));
    const sameSubject = await databaseStrategy.issue(user, context, origin("alice", "sid-2"));
    const otherSubject = await jwtStrategy.issue(user, context, origin("bob", "sid-3"));
    const sidOf = async (value: string) => (await jwtStrategy.verify(value))!.sessionId!;
    const [bySidId, otherId] = [await sidOf(bySid.value), await sidOf(otherSubject.value)];

    assert.deepEqual(await revokeProviderSessions({ issuer, sid: "sid-1", subject: null }, "backchannel_logout"), [bySidId]);
    assert.equal(await jwtStrategy.verify(bySid.value), null, "refused at once: the revocation reached this instance's memory");
    assert.notEqual(await reader.zscore("sot:revoked-sessions", bySidId), null);
    assert.notEqual(await databaseStrategy.verify(sameSubject.value), null);

    assert.equal((await revokeProviderSessions({ issuer, sid: null, subject: "alice" }, "backchannel_logout")).length, 1);
    assert.equal(await databaseStrategy.verify(sameSubject.value), null);
    assert.deepEqual(await revokeProviderSessions({ issuer: "https://other.example.test", sid: "sid-3", subject: null }, "backchannel_logout"), []);
    assert.equal((await jwtStrategy.verify(otherSubject.value))?.sessionId, otherId);
  });

  test("redis sessions: back-channel logout revokes an API token family exchanged from the provider session, pushed", async () => {
    const user = await newUser();
    const origin = { method: "oidc" as const, issuer: "https://idp.example.test", subject: "dave", providerSessionId: "sid-d1" };
    const browser = await databaseStrategy.verify((await databaseStrategy.issue(user, context, origin)).value);
    assert.ok(browser);
    const pair = await exchangeBrowserSession(browser, context, null);
    const familyId = (await resolveBearer(`Bearer ${pair.access_token}`))?.sessionId;
    assert.ok(familyId);
    assert.equal(await reader.hget(`sot:session:${familyId}`, "idpSessionId"), "sid-d1");

    const revoked = await revokeProviderSessions({ issuer: origin.issuer, sid: "sid-d1", subject: null }, "backchannel_logout");
    assert.deepEqual(revoked.sort(), [browser.sessionId, familyId].sort());
    assert.equal(await resolveBearer(`Bearer ${pair.access_token}`), null, "refused at once: the revocation reached this instance's memory");
    assert.deepEqual(await refreshTokenPair(pair.refresh_token), { ok: false, reason: "revoked" });
  });

  test("redis sessions: an API token family rotates its refresh token; reuse revokes the family", async () => {
    const user = await newUser();
    const first = await issueTokenPair(user, context);
    const second = await refreshTokenPair(first.refresh_token);
    assert.ok(second.ok);
    assert.equal((await resolveBearer(`Bearer ${second.pair.access_token}`))?.user.id, user.id);
    // Within the grace window the same parent yields the same successor.
    const again = await refreshTokenPair(first.refresh_token);
    assert.ok(again.ok && again.pair.refresh_token === second.pair.refresh_token);
    const third = await refreshTokenPair(second.pair.refresh_token);
    assert.ok(third.ok);
    const reuse = await refreshTokenPair(second.pair.refresh_token, new Date(Date.now() + 60_000));
    assert.deepEqual(reuse, { ok: false, reason: "reused" });
    assert.equal(await resolveBearer(`Bearer ${third.pair.access_token}`), null, "the whole family is revoked");
    assert.deepEqual(await refreshTokenPair(third.pair.refresh_token), { ok: false, reason: "revoked" });
  });

  test("redis sessions: the account lists every kind and 'sign out everywhere else' ends the others", async () => {
    const user = await newUser();
    const mine = await databaseStrategy.issue(user, context);
    const me = await databaseStrategy.verify(mine.value);
    const jwt = await jwtStrategy.issue(user, context);
    const pair = await issueTokenPair(user, context);
    const listed = await activeSessionsForUser(user.id, me!.sessionId);
    assert.deepEqual(listed.map((session) => session.strategy).sort(), ["api", "database", "jwt"]);
    assert.equal(listed.filter((session) => session.current).length, 1);
    assert.equal(await revokeOtherSessions(user.id, me!.sessionId), 2);
    assert.equal(await jwtStrategy.verify(jwt.value), null);
    assert.equal(await resolveBearer(`Bearer ${pair.access_token}`), null);
    assert.ok(await databaseStrategy.verify(mine.value), "this device stays signed in");
    assert.deepEqual((await activeSessionsForUser(user.id, me!.sessionId)).map((session) => session.strategy), ["database"]);
  });

  // ASVS 16.5.2: the store unreachable → fail closed; the feed falls back and comes back.
  test("redis sessions: Redis gone — credentials are refused with an error, never accepted from memory; back — live again", async () => {
    const { RedisUnavailableError } = await import("../lib/platform/errors");
    const user = await newUser();
    const issued = await jwtStrategy.issue(user, context);
    assert.ok(await jwtStrategy.verify(issued.value));
    await server.pause();
    try {
      await assert.rejects(
        (async () => {
          // Until the subscriber notices the lost link, memory may still answer; it must not for long.
          const deadline = Date.now() + 5_000;
          while (Date.now() < deadline) {
            await jwtStrategy.verify(issued.value);
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        })(),
        RedisUnavailableError,
      );
      assert.equal(feedStatus()?.live, false);
    } finally {
      await server.resume();
    }
    const deadline = Date.now() + 15_000;
    while (!feedStatus()?.live && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(feedStatus()?.live, true, "live again");
    // The throwaway server keeps nothing across a restart: the session is gone, and refused.
    assert.equal(await jwtStrategy.verify(issued.value), null);
  });
});
