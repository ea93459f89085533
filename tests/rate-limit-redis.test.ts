import "./support/test-env";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, test } from "node:test";
import { Redis } from "ioredis";
import type { RunningRedis } from "../scripts/redis-process.mjs";
import { rateLimitBehaviour } from "./support/rate-limit-behaviour";

// The brute-force limits with their counters in Redis (REDIS_URL): the same
// behaviour as with the database (tests/support/rate-limit-behaviour.ts), against
// a real, throwaway redis-server (scripts/redis-process.mjs) that this file
// starts, stops and restarts; plus what only Redis has: expiry instead of purging,
// and failing fast and closed while the server is gone or hangs. Without
// redis-server the tests are skipped (scripts/test.mjs says so loudly, and fails
// under CI).

let server: RunningRedis | undefined;
/** A connection of the test's own, to read what the app wrote. */
let reader: Redis | undefined;

async function readCounter(key: string) {
  const fields = await reader!.hgetall(`rate-limit:${key}`);
  if (fields.start === undefined || fields.count === undefined) return null;
  return { count: Number(fields.count), windowStart: new Date(Number(fields.start)) };
}

// A suite, so that it can be declared after an await: scripts/*.mjs are ES modules
// with top-level await, which tsx cannot compile into this CommonJS test, so they
// are imported dynamically.
describe("rate limits in Redis", async () => {
  const { findRedisServer, startRedis } = await import("../scripts/redis-process.mjs");
  if (!findRedisServer()) {
    test("redis: all of it", { skip: "redis-server is not installed (apt-get install -y redis-server)" }, () => {});
    return;
  }

  after(async () => {
    const { closeRedis } = await import("../lib/platform/redis");
    await closeRedis();
    reader?.disconnect();
    await server?.stop();
  });

  rateLimitBehaviour({
    name: "redis",
    async prepare() {
      server = await startRedis();
      process.env.REDIS_URL = server.url;
      reader = new Redis(server.url, { lazyConnect: true });
      await reader.connect();
    },
    stored: readCounter,
  });

  test("redis: no counter is written to the database, and every counter expires on its own after its window", async () => {
    const { hit } = await import("../lib/security/rate-limit");
    const { db } = await import("../lib/platform/db");
    const key = `expiry:${randomUUID()}`;
    const windowSeconds = 60;
    const now = new Date();
    const state = await hit(key, { limit: 3, windowSeconds }, now);
    const ttl = await reader!.pttl(`rate-limit:${key}`);
    const untilReset = state.resetAt.getTime() - now.getTime();
    assert.ok(ttl > untilReset, `outlives its window (${ttl} ms > ${untilReset} ms)`);
    assert.ok(ttl <= untilReset + 60_000, `by at most the clock margin (${ttl} ms)`);
    assert.equal(await db().rateLimit.count(), 0, "the RateLimit table stays empty");
  });

  // ASVS 16.5.2: an unreachable store fails closed, at once; the next request after it is back works, no restart.
  test("redis: server gone — hits fail at once with RedisUnavailableError; back — counting works again without a restart", async () => {
    const { beginPasswordAttempt, hit } = await import("../lib/security/rate-limit");
    const { RedisUnavailableError } = await import("../lib/platform/errors");
    const rule = { limit: 3, windowSeconds: 60 };
    const key = `outage:${randomUUID()}`;
    assert.equal((await hit(key, rule)).count, 1, "baseline");

    await server!.pause();
    for (let i = 0; i < 3; i += 1) {
      const started = performance.now();
      await assert.rejects(hit(key, rule), RedisUnavailableError);
      assert.ok(performance.now() - started < 1_000, "refused without waiting for the server");
    }
    await assert.rejects(beginPasswordAttempt("signin", "someone@example.com", { userAgent: null, ip: "192.0.2.10" }), RedisUnavailableError);

    await server!.resume();
    const deadline = Date.now() + 15_000;
    let counted: number | null = null;
    while (Date.now() < deadline) {
      counted = await hit(key, rule).then(
        (state) => state.count,
        () => null,
      );
      if (counted !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The throwaway server keeps nothing across a restart: counting starts again.
    assert.equal(counted, 1, "counting again after the server came back");
  });

  // A server that accepts the connection but stops answering must not hold a request either.
  test("redis: server hangs — a hit fails after the command timeout instead of waiting", async () => {
    const { hit } = await import("../lib/security/rate-limit");
    const { RedisUnavailableError } = await import("../lib/platform/errors");
    const rule = { limit: 3, windowSeconds: 60 };
    await hit(`hang:${randomUUID()}`, rule);
    process.kill(server!.pid, "SIGSTOP");
    try {
      const started = performance.now();
      await assert.rejects(hit(`hang:${randomUUID()}`, rule), RedisUnavailableError);
      const waited = performance.now() - started;
      assert.ok(waited < 5_000, `gave up after ${Math.round(waited)} ms`);
    } finally {
      process.kill(server!.pid, "SIGCONT");
    }
    assert.equal((await hit(`hang:${randomUUID()}`, rule)).count, 1, "answers again once the server does");
  });
});
