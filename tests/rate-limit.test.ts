import "./support/test-env";
import assert from "node:assert/strict";
import { test } from "node:test";
import { db } from "../lib/platform/db";
import { clientContext } from "../lib/security/request";
import { rateLimitBehaviour } from "./support/rate-limit-behaviour";

// Brute-force limits: fixed-window counters in the RateLimit table (real SQLite).
// The same behaviour against Redis: tests/rate-limit-redis.test.ts.

rateLimitBehaviour({
  name: "database",
  async stored(key) {
    const row = await db().rateLimit.findUnique({ where: { key } });
    return row ? { count: row.count, windowStart: row.windowStart } : null;
  },
});

// ASVS 6.3.1: the client address comes only from the header the production server sets, never from X-Forwarded-For.
test("client context takes the address from x-sot-client-ip only", () => {
  const spoofed = new Headers({ "x-forwarded-for": "203.0.113.7", "x-real-ip": "203.0.113.8" });
  assert.equal(clientContext(spoofed).ip, null);
  const set = new Headers({ "x-sot-client-ip": "192.0.2.1", "x-forwarded-for": "203.0.113.7", "user-agent": "x".repeat(2000) });
  assert.equal(clientContext(set).ip, "192.0.2.1");
  assert.equal(clientContext(set).userAgent?.length, 512);
});
