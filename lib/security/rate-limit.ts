import "server-only";
import { createHmac } from "node:crypto";
import { audit } from "./audit";
import { db, parseDbDate } from "../platform/db";
import { env } from "../platform/env";
import { nowAndThen } from "../platform/housekeeping";
import { redisConfigured, redisScript, runScript } from "../platform/redis";
import { keyRing } from "../tokens/keys";
import { log } from "../platform/log";
import type { ClientContext } from "./request";

/**
 * Brute-force limits (ASVS 5.0 6.1.1, 6.3.1, 2.4.1).
 *
 * Fixed windows, aligned to multiples of the window length, counted where
 * every app instance sees the same counters: in Redis when REDIS_URL is set,
 * otherwise in the RateLimit table. Either way one atomic step increments a
 * counter and reads it back (in the database one INSERT … ON CONFLICT DO UPDATE,
 * the same text on SQLite and PostgreSQL; in Redis one Lua script); a counter
 * whose window has passed starts again at 1. So a blocked client waits at most
 * one window: slowed, never locked out for good, and nobody can lock an account
 * away for longer. When the store cannot be reached the call throws and the
 * request fails closed.
 *
 * Keys: "<action>:ip:<address>" and "<action>:account:<HMAC of the normalised
 * email>" — raw email addresses are never stored in a key.
 */

export interface RateLimitRule {
  /** Allowed hits per window; 0 turns the rule off. */
  limit: number;
  windowSeconds: number;
}

export interface RateLimitState {
  key: string;
  /** Hits in the current window, this one included. */
  count: number;
  limit: number;
  allowed: boolean;
  /** When the current window ends. */
  resetAt: Date;
  /** Whole seconds until resetAt (at least 1): the Retry-After value. */
  retryAfterSeconds: number;
}

function windowStartOf(now: Date, windowSeconds: number): Date {
  const length = windowSeconds * 1000;
  return new Date(Math.floor(now.getTime() / length) * length);
}

function stateOf(key: string, rule: RateLimitRule, count: number, windowStart: Date, now: Date): RateLimitState {
  const resetAt = new Date(windowStart.getTime() + rule.windowSeconds * 1000);
  return {
    key,
    count,
    limit: rule.limit,
    allowed: rule.limit === 0 || count <= rule.limit,
    resetAt,
    retryAfterSeconds: Math.max(1, Math.ceil((resetAt.getTime() - now.getTime()) / 1000)),
  };
}

/**
 * Counts one hit on `key` and returns the counter after it. A counter from an
 * earlier window restarts at 1; a request whose clock is behind another
 * instance's (an older window) counts in the newer window instead of resetting it.
 */
export async function hit(key: string, rule: RateLimitRule, now = new Date()): Promise<RateLimitState> {
  const windowStart = windowStartOf(now, rule.windowSeconds);
  if (redisConfigured()) {
    const counted = await redisHit(key, rule, windowStart, now);
    return stateOf(key, rule, counted.count, counted.windowStart, now);
  }
  // One statement increments and reads back (RETURNING, on SQLite and PostgreSQL alike): concurrent
  // hits each see their own count, so exactly one of them sees the crossing of the limit.
  const [row] = await db().$queryRaw<{ count: number | bigint; windowStart: unknown }[]>`
    INSERT INTO "RateLimit" ("key", "count", "windowStart") VALUES (${key}, 1, ${windowStart})
    ON CONFLICT ("key") DO UPDATE SET
      "count" = CASE WHEN excluded."windowStart" > "RateLimit"."windowStart" THEN 1 ELSE "RateLimit"."count" + 1 END,
      "windowStart" = CASE WHEN excluded."windowStart" > "RateLimit"."windowStart" THEN excluded."windowStart" ELSE "RateLimit"."windowStart" END
    RETURNING "count", "windowStart"`;
  purgeNowAndThen(now);
  return stateOf(key, rule, Number(row?.count ?? 1), row ? parseDbDate(row.windowStart) : windowStart, now);
}

/**
 * Gives back one hit counted earlier in the current window (e.g. a sign-in that
 * turned out to succeed). Never goes below 0, never touches another window.
 */
export async function refund(key: string, rule: RateLimitRule, now = new Date()): Promise<void> {
  const windowStart = windowStartOf(now, rule.windowSeconds);
  if (redisConfigured()) {
    await runScript(REFUND_SCRIPT, [redisKey(key)], [windowStart.getTime()]);
    return;
  }
  await db().$executeRaw`
    UPDATE "RateLimit" SET "count" = "count" - 1 WHERE "key" = ${key} AND "windowStart" = ${windowStart} AND "count" > 0`;
}

// ---- the counters in Redis ----
//
// One hash per key: `start` (the window's first millisecond since the epoch) and
// `count`. The same rules as the SQL statement, in one script, so concurrent
// hits from every instance are serialised by the server: a newer window resets
// the counter to 1; the same window increments it; an older window (an instance
// whose clock is behind) increments the newer one instead of resetting it. A
// counter expires on its own once its window is over, plus a margin for clocks
// that disagree (set on the hit that starts the window), so nothing has to be purged.

/** Every rate-limit key in Redis starts with this (other data may share the server). */
export const REDIS_KEY_PREFIX = "rate-limit:";
/** How long a counter outlives its window: instances whose clocks run late still find it. */
const REDIS_EXPIRY_MARGIN_MS = 60_000;

export function redisKey(key: string): string {
  return REDIS_KEY_PREFIX + key;
}

const HIT_SCRIPT = redisScript(`
local current = redis.call('HMGET', KEYS[1], 'start', 'count')
if current[1] == false or tonumber(ARGV[1]) > tonumber(current[1]) then
  redis.call('HSET', KEYS[1], 'start', ARGV[1], 'count', 1)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, ARGV[1]}
end
return {redis.call('HINCRBY', KEYS[1], 'count', 1), current[1]}
`);

const REFUND_SCRIPT = redisScript(`
local current = redis.call('HMGET', KEYS[1], 'start', 'count')
if current[1] == ARGV[1] and tonumber(current[2]) > 0 then
  return redis.call('HINCRBY', KEYS[1], 'count', -1)
end
return -1
`);

async function redisHit(key: string, rule: RateLimitRule, windowStart: Date, now: Date): Promise<{ count: number; windowStart: Date }> {
  const windowEnd = windowStart.getTime() + rule.windowSeconds * 1000;
  const ttl = Math.max(1, windowEnd - now.getTime()) + REDIS_EXPIRY_MARGIN_MS;
  const reply = await runScript(HIT_SCRIPT, [redisKey(key)], [windowStart.getTime(), ttl]);
  if (!Array.isArray(reply) || reply.length !== 2) throw new TypeError("unexpected reply from the rate-limit script");
  const count = Number(reply[0]);
  const start = Number(reply[1]);
  if (!Number.isSafeInteger(count) || !Number.isSafeInteger(start)) throw new TypeError("unexpected reply from the rate-limit script");
  return { count, windowStart: new Date(start) };
}

// ---- housekeeping (database counters only) ----

const PURGE_INTERVAL_MS = 10 * 60 * 1000;

/** Deletes counters whose window ended before `now` minus the longest window allowed. */
export async function purgeExpiredRateLimits(now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - 2 * 24 * 60 * 60 * 1000);
  return db().rateLimit.deleteMany({ where: { windowStart: { lt: cutoff } } }).then((result) => result.count);
}

function purgeNowAndThen(now: Date): void {
  nowAndThen("rate_limit.purge", PURGE_INTERVAL_MS, now, () => purgeExpiredRateLimits(now));
}

// ---- the application's limits ----

export type LimitedAction = "signin" | "token" | "register" | "refresh" | "reset" | "compare";

/** Actions that are also limited per email address, whether or not an account has it. */
export type AccountLimitedAction = "register" | "reset";

/** The rules, from lib/env.ts (documented in the README). */
export function rules() {
  const windowSeconds = env.RATE_LIMIT_WINDOW_SECONDS;
  return {
    account: { limit: env.RATE_LIMIT_SIGNIN_PER_ACCOUNT, windowSeconds },
    ip: {
      signin: { limit: env.RATE_LIMIT_SIGNIN_PER_IP, windowSeconds },
      token: { limit: env.RATE_LIMIT_TOKEN_PER_IP, windowSeconds },
      register: { limit: env.RATE_LIMIT_REGISTER_PER_IP, windowSeconds },
      refresh: { limit: env.RATE_LIMIT_REFRESH_PER_IP, windowSeconds },
      reset: { limit: env.RATE_LIMIT_RESET_PER_IP, windowSeconds },
      compare: { limit: env.RATE_LIMIT_COMPARE_PER_IP, windowSeconds },
    } satisfies Record<LimitedAction, RateLimitRule>,
    perAccount: {
      register: { limit: env.RATE_LIMIT_REGISTER_PER_ACCOUNT, windowSeconds },
      reset: { limit: env.RATE_LIMIT_RESET_PER_ACCOUNT, windowSeconds },
    } satisfies Record<AccountLimitedAction, RateLimitRule>,
  };
}

export function ipKey(action: LimitedAction, ip: string): string {
  return `${action}:ip:${ip}`;
}

/**
 * The account key of an email: an HMAC (keyed with the server's secret) of the
 * normalised address, so the table never holds addresses and its keys cannot be
 * reversed with a list of likely ones. Shared by every password endpoint: the
 * form, the HTTP callback and /api/token draw on one budget per account.
 * Registration and password reset count per address in buckets of their own.
 */
export async function accountKey(email: string, action: "signin" | AccountLimitedAction = "signin"): Promise<string> {
  const secret = (await keyRing()).authSecret;
  const digest = createHmac("sha256", secret).update(`rate-limit:account:${normaliseEmail(email)}`).digest("base64url");
  return `${action}:account:${digest}`;
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export interface Blocked {
  blocked: true;
  retryAfterSeconds: number;
  scope: "ip" | "account";
}

async function recordBlock(action: LimitedAction, scope: "ip" | "account", state: RateLimitState, context: ClientContext, email?: string) {
  log.warn("rate_limit.hit", { action, scope, count: state.count, limit: state.limit, ip: context.ip });
  // One audit row per key and window (the hit that crossed the limit), not one per blocked request.
  if (state.count === state.limit + 1) {
    await audit("rate_limit.hit", {
      email: scope === "account" ? email : null,
      context,
      detail: { action, scope, limit: state.limit, windowSeconds: env.RATE_LIMIT_WINDOW_SECONDS },
    });
  }
}

/**
 * Counts one request of `action` from this client's address; Blocked when the
 * address is over its limit. Without a known address (`next dev`, or a server
 * not started through server.mjs) there is no per-address limit.
 */
export async function limitByIp(action: LimitedAction, context: ClientContext, now = new Date()): Promise<Blocked | null> {
  const rule = rules().ip[action];
  if (rule.limit === 0 || !context.ip) return null;
  const state = await hit(ipKey(action, context.ip), rule, now);
  if (state.allowed) return null;
  await recordBlock(action, "ip", state, context);
  return { blocked: true, retryAfterSeconds: state.retryAfterSeconds, scope: "ip" };
}

/**
 * Counts one request of `action` naming this email address, whether an account
 * has it or not (the same key, the same statement, the same time); Blocked
 * when the address is over its limit.
 */
export async function limitByAccount(
  action: AccountLimitedAction,
  email: string,
  context: ClientContext,
  now = new Date(),
): Promise<Blocked | null> {
  const rule = rules().perAccount[action];
  if (rule.limit === 0) return null;
  const state = await hit(await accountKey(email, action), rule, now);
  if (state.allowed) return null;
  await recordBlock(action, "account", state, context, normaliseEmail(email));
  return { blocked: true, retryAfterSeconds: state.retryAfterSeconds, scope: "account" };
}

export interface PasswordAttempt {
  /** Call once the password proved right: the attempt then does not use up the account's budget. */
  succeeded(): Promise<void>;
}

/**
 * Before checking a password: counts the attempt against the client's address
 * (every attempt) and against the account (given back if it succeeds, so only
 * failures use the account's budget). Counting before the check, not after a
 * failure, means parallel guesses cannot slip past the limit. An unknown email
 * is limited exactly like a known one, so a 429 says nothing about which exist.
 */
export async function beginPasswordAttempt(
  action: "signin" | "token",
  email: string | null,
  context: ClientContext,
  now = new Date(),
): Promise<Blocked | PasswordAttempt> {
  const byIp = await limitByIp(action, context, now);
  if (byIp) return byIp;
  const rule = rules().account;
  if (rule.limit === 0 || !email) return { succeeded: async () => {} };
  const key = await accountKey(email);
  const state = await hit(key, rule, now);
  if (!state.allowed) {
    await recordBlock(action, "account", state, context, normaliseEmail(email));
    return { blocked: true, retryAfterSeconds: state.retryAfterSeconds, scope: "account" };
  }
  let settled = false;
  return {
    succeeded: async () => {
      if (settled) return;
      settled = true;
      await refund(key, rule, now);
    },
  };
}

export function isBlocked(result: Blocked | PasswordAttempt | null): result is Blocked {
  return result !== null && "blocked" in result;
}

/** 429 for the HTTP endpoints. */
export function tooManyRequests(blocked: Blocked): Response {
  return Response.json(
    { error: "too_many_requests" },
    { status: 429, headers: { "Cache-Control": "no-store", "Retry-After": String(blocked.retryAfterSeconds) } },
  );
}

/** The message the forms show. */
export function tooManyAttemptsMessage(blocked: Blocked): string {
  const minutes = Math.max(1, Math.ceil(blocked.retryAfterSeconds / 60));
  return `Too many attempts. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`;
}
