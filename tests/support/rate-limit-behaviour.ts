/**
 * The rate-limit behaviour, one set of tests for every counter store: the
 * database (tests/rate-limit.test.ts) and Redis (tests/rate-limit-redis.test.ts).
 * The app's modules are loaded in `before`, after the caller's `prepare` (which
 * may start a server and set REDIS_URL): lib/platform/env.ts reads the
 * environment once, when it is first imported.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, test } from "node:test";

type RateLimitModule = typeof import("../../lib/security/rate-limit");
type Db = ReturnType<typeof import("../../lib/platform/db").db>;

/** A counter as the store holds it, read past the module under test; null when there is none. */
export type StoredCounter = { count: number; windowStart: Date } | null;

export interface Store {
  /** "database" or "redis": prefixes the test names. */
  name: string;
  /** Runs before the app's modules are loaded. */
  prepare?: () => Promise<void>;
  stored: (key: string) => Promise<StoredCounter>;
}

export function rateLimitBehaviour(store: Store): void {
  let rl: RateLimitModule;
  let db: () => Db;
  let windowSeconds = 0;
  let signinPerAccount = 0;
  let registerPerIp = 0;

  before(async () => {
    await store.prepare?.();
    rl = await import("../../lib/security/rate-limit");
    db = (await import("../../lib/platform/db")).db;
    const { env } = await import("../../lib/platform/env");
    windowSeconds = env.RATE_LIMIT_WINDOW_SECONDS;
    signinPerAccount = env.RATE_LIMIT_SIGNIN_PER_ACCOUNT;
    registerPerIp = env.RATE_LIMIT_REGISTER_PER_IP;
  });

  const rule = { limit: 3, windowSeconds: 60 };
  /** A time well inside one 60 s window. */
  const T0 = new Date("2030-01-01T00:00:10.000Z");
  const later = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
  const freshKey = () => `test:${randomUUID()}`;
  const name = (title: string) => `${store.name}: ${title}`;

  // ASVS 6.3.1 (controls against password brute force) / 2.4.1 (anti-automation): hits are counted and the limit enforced.
  test(name("counts hits and refuses the one over the limit, with the seconds left in the window"), async () => {
    const key = freshKey();
    const states = [];
    for (let i = 0; i < 4; i += 1) states.push(await rl.hit(key, rule, T0));
    assert.deepEqual(states.map((state) => state.count), [1, 2, 3, 4]);
    assert.deepEqual(states.map((state) => state.allowed), [true, true, true, false]);
    assert.equal(states[3]?.retryAfterSeconds, 50);
    assert.equal(states[3]?.resetAt.toISOString(), "2030-01-01T00:01:00.000Z");
    assert.equal((await store.stored(key))?.count, 4);
  });

  // ASVS 6.1.1 (limits must not lock accounts out for good): the window expires and counting starts again.
  test(name("a new window starts again at 1: a blocked client is slowed, not locked out"), async () => {
    const key = freshKey();
    for (let i = 0; i < 5; i += 1) await rl.hit(key, rule, T0);
    assert.equal((await rl.hit(key, rule, later(49))).allowed, false, "still the same window");
    const next = await rl.hit(key, rule, later(50));
    assert.equal(next.count, 1);
    assert.equal(next.allowed, true);
    assert.equal((await store.stored(key))?.windowStart.toISOString(), "2030-01-01T00:01:00.000Z");
  });

  test(name("a request from an instance whose clock is behind counts in the newer window instead of resetting it"), async () => {
    const key = freshKey();
    await rl.hit(key, rule, later(60));
    await rl.hit(key, rule, later(60));
    const behind = await rl.hit(key, rule, later(49));
    assert.equal(behind.count, 3);
    assert.equal(behind.resetAt.toISOString(), "2030-01-01T00:02:00.000Z", "the newer window's end");
    assert.equal((await store.stored(key))?.windowStart.toISOString(), "2030-01-01T00:01:00.000Z");
  });

  // ASVS 6.3.1: one client's counter is not another's.
  test(name("keys are isolated from each other"), async () => {
    const a = freshKey();
    const b = freshKey();
    for (let i = 0; i < 4; i += 1) await rl.hit(a, rule, T0);
    const first = await rl.hit(b, rule, T0);
    assert.equal(first.count, 1);
    assert.equal(first.allowed, true);
    assert.equal((await store.stored(a))?.count, 4);
  });

  // ASVS 6.3.1: parallel guesses cannot slip past the limit — the increment is one atomic step.
  test(name("concurrent hits are all counted exactly"), async () => {
    const key = freshKey();
    const n = 50;
    const states = await Promise.all(Array.from({ length: n }, () => rl.hit(key, { limit: 10, windowSeconds: 60 }, T0)));
    assert.equal((await store.stored(key))?.count, n);
    assert.equal(Math.max(...states.map((state) => state.count)), n);
    assert.ok(states.filter((state) => !state.allowed).length >= n - 10, "at least every hit past the limit is refused");
  });

  test(name("refund gives one hit back, never below zero and never in another window"), async () => {
    const key = freshKey();
    await rl.hit(key, rule, T0);
    await rl.hit(key, rule, T0);
    await rl.refund(key, rule, T0);
    assert.equal((await store.stored(key))?.count, 1);
    await rl.refund(key, rule, later(60));
    assert.equal((await store.stored(key))?.count, 1, "a refund for the next window leaves this one alone");
    await rl.refund(key, rule, T0);
    await rl.refund(key, rule, T0);
    assert.equal((await store.stored(key))?.count, 0);
    const untouched = freshKey();
    await rl.refund(untouched, rule, T0);
    assert.equal(await store.stored(untouched), null, "a refund creates no counter");
  });

  // ASVS 6.3.1 + 6.3.8: per-account limit counts failures only, and treats unknown accounts like known ones.
  test(name("password attempts: only failures use the account's budget; unknown emails are limited the same way"), async () => {
    const context = { userAgent: "node-test", ip: `198.51.100.${Math.floor(Math.random() * 200)}` };
    const email = `Someone-${randomUUID()}@Example.com`;
    const key = await rl.accountKey(email);
    assert.ok(!key.toLowerCase().includes("example.com"), "the key does not contain the email");
    assert.equal(key, await rl.accountKey(email.toLowerCase()), "the email is normalised");

    const succeeded = await rl.beginPasswordAttempt("token", email, context, T0);
    assert.ok(!rl.isBlocked(succeeded));
    await succeeded.succeeded();
    await succeeded.succeeded();
    assert.equal((await store.stored(key))?.count, 0, "a success is given back, once");

    for (let i = 0; i < signinPerAccount; i += 1) assert.ok(!rl.isBlocked(await rl.beginPasswordAttempt("token", email, { ...context, ip: null }, T0)));
    const blocked = await rl.beginPasswordAttempt("signin", email, { ...context, ip: null }, T0);
    assert.ok(rl.isBlocked(blocked));
    assert.equal(blocked.scope, "account");
    assert.equal(blocked.retryAfterSeconds, windowSeconds - 10);

    const audited = await db().auditEvent.findMany({ where: { event: "rate_limit.hit", email: email.toLowerCase() } });
    assert.equal(audited.length, 1, "the crossing of the limit is audited (ASVS 16.3.3), with the attempted email");

    const response = rl.tooManyRequests(blocked);
    assert.equal(response.status, 429);
    assert.equal(response.headers.get("retry-after"), String(blocked.retryAfterSeconds));
    assert.deepEqual(await response.json(), { error: "too_many_requests" });
    assert.equal(rl.tooManyAttemptsMessage(blocked), `Too many attempts. Try again in ${Math.ceil(blocked.retryAfterSeconds / 60)} minutes.`);
    assert.equal(rl.tooManyAttemptsMessage({ ...blocked, retryAfterSeconds: 30 }), "Too many attempts. Try again in 1 minute.");
  });

  // ASVS 2.4.1: per-address limit counts every request; without a known address there is no address bucket.
  test(name("per-address limit counts every attempt, keyed by the address"), async () => {
    const ip = `203.0.113.${Math.floor(Math.random() * 200)}`;
    for (let i = 0; i < registerPerIp; i += 1) assert.equal(await rl.limitByIp("register", { userAgent: null, ip }, T0), null);
    const blocked = await rl.limitByIp("register", { userAgent: null, ip }, T0);
    assert.equal(blocked?.scope, "ip");
    assert.equal((await store.stored(rl.ipKey("register", ip)))?.count, registerPerIp + 1);
    assert.equal(await rl.limitByIp("register", { userAgent: null, ip: null }, T0), null);
  });

  test(name("concurrent hits each read their own count: exactly one sees the crossing of the limit"), async () => {
    const key = `concurrent:${randomUUID()}`;
    const rule = { limit: 10, windowSeconds: 900 };
    const states = await Promise.all(Array.from({ length: 20 }, () => rl.hit(key, rule)));
    assert.deepEqual(
      states.map((state) => state.count).sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, index) => index + 1),
    );
    assert.equal(states.filter((state) => state.count === rule.limit + 1).length, 1);
    assert.equal(states.filter((state) => state.allowed).length, rule.limit);
  });
}
