import "./support/test-env";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { db } from "../lib/platform/db";
import { env } from "../lib/platform/env";
import { accountKey, beginPasswordAttempt, hit, ipKey, isBlocked, limitByIp, refund, tooManyAttemptsMessage, tooManyRequests } from "../lib/security/rate-limit";
import { clientContext } from "../lib/security/request";

// Brute-force limits: fixed-window counters in the RateLimit table (real SQLite).

const rule = { limit: 3, windowSeconds: 60 };
/** A time well inside one 60 s window. */
const T0 = new Date("2030-01-01T00:00:10.000Z");
const later = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const freshKey = () => `test:${randomUUID()}`;

async function stored(key: string) {
  return db().rateLimit.findUnique({ where: { key } });
}

// ASVS 6.3.1 (controls against password brute force) / 2.4.1 (anti-automation): hits are counted and the limit enforced.
test("counts hits and refuses the one over the limit, with the seconds left in the window", async () => {
  const key = freshKey();
  const states = [];
  for (let i = 0; i < 4; i += 1) states.push(await hit(key, rule, T0));
  assert.deepEqual(states.map((state) => state.count), [1, 2, 3, 4]);
  assert.deepEqual(states.map((state) => state.allowed), [true, true, true, false]);
  assert.equal(states[3]?.retryAfterSeconds, 50);
  assert.equal(states[3]?.resetAt.toISOString(), "2030-01-01T00:01:00.000Z");
  assert.equal((await stored(key))?.count, 4);
});

// ASVS 6.1.1 (limits must not lock accounts out for good): the window expires and counting starts again.
test("a new window starts again at 1: a blocked client is slowed, not locked out", async () => {
  const key = freshKey();
  for (let i = 0; i < 5; i += 1) await hit(key, rule, T0);
  assert.equal((await hit(key, rule, later(49))).allowed, false, "still the same window");
  const next = await hit(key, rule, later(50));
  assert.equal(next.count, 1);
  assert.equal(next.allowed, true);
  assert.equal((await stored(key))?.windowStart.toISOString(), "2030-01-01T00:01:00.000Z");
});

test("a request from an instance whose clock is behind counts in the newer window instead of resetting it", async () => {
  const key = freshKey();
  await hit(key, rule, later(60));
  await hit(key, rule, later(60));
  const behind = await hit(key, rule, later(49));
  assert.equal(behind.count, 3);
  assert.equal((await stored(key))?.windowStart.toISOString(), "2030-01-01T00:01:00.000Z");
});

// ASVS 6.3.1: one client's counter is not another's.
test("keys are isolated from each other", async () => {
  const a = freshKey();
  const b = freshKey();
  for (let i = 0; i < 4; i += 1) await hit(a, rule, T0);
  const first = await hit(b, rule, T0);
  assert.equal(first.count, 1);
  assert.equal(first.allowed, true);
  assert.equal((await stored(a))?.count, 4);
});

// ASVS 6.3.1: parallel guesses cannot slip past the limit — the increment is one atomic statement.
test("concurrent hits are all counted exactly", async () => {
  const key = freshKey();
  const n = 50;
  const states = await Promise.all(Array.from({ length: n }, () => hit(key, { limit: 10, windowSeconds: 60 }, T0)));
  assert.equal((await stored(key))?.count, n);
  assert.equal(Math.max(...states.map((state) => state.count)), n);
  assert.ok(states.filter((state) => !state.allowed).length >= n - 10, "at least every hit past the limit is refused");
});

test("refund gives one hit back, never below zero and never in another window", async () => {
  const key = freshKey();
  await hit(key, rule, T0);
  await hit(key, rule, T0);
  await refund(key, rule, T0);
  assert.equal((await stored(key))?.count, 1);
  await refund(key, rule, later(60));
  assert.equal((await stored(key))?.count, 1, "a refund for the next window leaves this one alone");
  await refund(key, rule, T0);
  await refund(key, rule, T0);
  assert.equal((await stored(key))?.count, 0);
});

// ASVS 6.3.1 + 6.3.8: per-account limit counts failures only, and treats unknown accounts like known ones.
test("password attempts: only failures use the account's budget; unknown emails are limited the same way", async () => {
  const context = { userAgent: "node-test", ip: `198.51.100.${Math.floor(Math.random() * 200)}` };
  const email = `Someone-${randomUUID()}@Example.com`;
  const key = await accountKey(email);
  assert.ok(!key.toLowerCase().includes("example.com"), "the key does not contain the email");
  assert.equal(key, await accountKey(email.toLowerCase()), "the email is normalised");

  const limit = env.RATE_LIMIT_SIGNIN_PER_ACCOUNT;
  const succeeded = await beginPasswordAttempt("token", email, context, T0);
  assert.ok(!isBlocked(succeeded));
  await succeeded.succeeded();
  await succeeded.succeeded();
  assert.equal((await stored(key))?.count, 0, "a success is given back, once");

  for (let i = 0; i < limit; i += 1) assert.ok(!isBlocked(await beginPasswordAttempt("token", email, { ...context, ip: null }, T0)));
  const blocked = await beginPasswordAttempt("signin", email, { ...context, ip: null }, T0);
  assert.ok(isBlocked(blocked));
  assert.equal(blocked.scope, "account");
  assert.equal(blocked.retryAfterSeconds, env.RATE_LIMIT_WINDOW_SECONDS - 10);

  const audited = await db().auditEvent.findMany({ where: { event: "rate_limit.hit", email: email.toLowerCase() } });
  assert.equal(audited.length, 1, "the crossing of the limit is audited (ASVS 16.3.3), with the attempted email");

  const response = tooManyRequests(blocked);
  assert.equal(response.status, 429);
  assert.equal(response.headers.get("retry-after"), String(blocked.retryAfterSeconds));
  assert.deepEqual(await response.json(), { error: "too_many_requests" });
  assert.equal(tooManyAttemptsMessage(blocked), `Too many attempts. Try again in ${Math.ceil(blocked.retryAfterSeconds / 60)} minutes.`);
  assert.equal(tooManyAttemptsMessage({ ...blocked, retryAfterSeconds: 30 }), "Too many attempts. Try again in 1 minute.");
});

// ASVS 2.4.1: per-address limit counts every request; without a known address there is no address bucket.
test("per-address limit counts every attempt, keyed by the address", async () => {
  const ip = `203.0.113.${Math.floor(Math.random() * 200)}`;
  const limit = env.RATE_LIMIT_REGISTER_PER_IP;
  for (let i = 0; i < limit; i += 1) assert.equal(await limitByIp("register", { userAgent: null, ip }, T0), null);
  const blocked = await limitByIp("register", { userAgent: null, ip }, T0);
  assert.equal(blocked?.scope, "ip");
  assert.equal((await stored(ipKey("register", ip)))?.count, limit + 1);
  assert.equal(await limitByIp("register", { userAgent: null, ip: null }, T0), null);
});

// ASVS 6.3.1: the client address comes only from the header the production server sets, never from X-Forwarded-For.
test("client context takes the address from x-sot-client-ip only", () => {
  const spoofed = new Headers({ "x-forwarded-for": "203.0.113.7", "x-real-ip": "203.0.113.8" });
  assert.equal(clientContext(spoofed).ip, null);
  const set = new Headers({ "x-sot-client-ip": "192.0.2.1", "x-forwarded-for": "203.0.113.7", "user-agent": "x".repeat(2000) });
  assert.equal(clientContext(set).ip, "192.0.2.1");
  assert.equal(clientContext(set).userAgent?.length, 512);
});

test("concurrent hits each read their own count: exactly one sees the crossing of the limit", async () => {
  const key = `concurrent:${crypto.randomUUID()}`;
  const rule = { limit: 10, windowSeconds: 900 };
  const states = await Promise.all(Array.from({ length: 20 }, () => hit(key, rule)));
  assert.deepEqual(
    states.map((state) => state.count).sort((a, b) => a - b),
    Array.from({ length: 20 }, (_, index) => index + 1),
  );
  assert.equal(states.filter((state) => state.count === rule.limit + 1).length, 1);
  assert.equal(states.filter((state) => state.allowed).length, rule.limit);
});
