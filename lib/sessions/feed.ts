import "server-only";
import type { Redis } from "ioredis";
import pg from "pg";
import { db, parseDbDate, queryRows, type Db } from "../platform/db";
import { databaseKind, env } from "../platform/env";
import { log } from "../platform/log";
import { redisSubscriber, withRedis } from "../platform/redis";
import { redisKeys } from "./redis-keys";
import type { Prisma } from "../generated/sqlite/client";

/**
 * The revocation feed behind REVOCATION_MODE=pushed: every instance keeps in
 * memory what it needs to refuse a revoked credential without reading the
 * store on the request path, and every revocation is pushed to every instance.
 *
 *   - the ids of sessions revoked within the longest token lifetime (a token
 *     signed before the revocation cannot outlive that), loaded from the store
 *     when the feed starts or reconnects, then kept current by notices;
 *   - database sessions this instance has already resolved, until their idle or
 *     absolute end (evicted by a notice naming their id or token hash).
 *
 * Transport: where the sessions are. In PostgreSQL, LISTEN/NOTIFY, the NOTIFY
 * sent in the same transaction as the revoking write; in Redis
 * (SESSION_STORE=redis), pub/sub, the PUBLISH in the same script as the write
 * (./redis-store.ts): no revocation is written without its notice. On SQLite
 * (one process), in-process. Before the feed is live, and
 * whenever its connection is lost, `isLive()` is false and callers read the
 * store on every request (strict mode); a reconnect listens first and loads
 * second, so nothing revoked meanwhile is missed.
 */

export type FeedTransport = "postgresql" | "redis" | "in-process";

export interface RevocationNotice {
  /** Sessions revoked (any kind) or deleted by id. */
  sessionIds?: string[];
  /** Database sessions deleted by the hash of their cookie token. */
  tokenHashes?: string[];
}

export interface FeedStatus {
  mode: "pushed";
  transport: FeedTransport;
  live: boolean;
  /** Since when the feed has been in its current state (ms since the epoch). */
  since: number;
  revokedIdsKnown: number;
  sessionsRemembered: number;
  /** Notices applied since the process started. */
  noticesApplied: number;
  /** Times the feed fell back to reads (lost its connection or failed to start). */
  fallbacks: number;
}

interface RememberedSession {
  sessionId: string;
  value: unknown;
  until: number;
}

interface FeedState {
  transport: FeedTransport;
  live: boolean;
  since: number;
  revoked: Map<string, number>;
  /** Cookie-token hashes of database sessions deleted (signed out), same lifetime: a read racing the notice must not be remembered. */
  deletedTokens: Map<string, number>;
  sessions: Map<string, RememberedSession>;
  noticesApplied: number;
  fallbacks: number;
  /** Changes whenever the feed goes live or down: a read from before a change is not remembered after it. */
  epoch: number;
  starting: Promise<void> | null;
  listener: pg.Client | null;
  subscriber: Redis | null;
  retryTimer: ReturnType<typeof setTimeout> | null;
  pruneTimer: ReturnType<typeof setInterval> | null;
}

const CHANNEL = "sot_revocations";
const RETRY_MS = 1000;
const PRUNE_EVERY_MS = 60_000;
const MAX_REMEMBERED_SESSIONS = 50_000;

// The proxy, the route handlers and instrumentation are bundled separately but
// share the process: one feed per process, on globalThis.
const stateKey = Symbol.for("session-or-token.revocation-feed");
type GlobalWithFeed = typeof globalThis & { [stateKey]?: FeedState };

function state(): FeedState {
  const holder = globalThis as GlobalWithFeed;
  holder[stateKey] ??= {
    transport: env.SESSION_STORE === "redis" ? "redis" : databaseKind === "postgresql" ? "postgresql" : "in-process",
    live: false,
    since: Date.now(),
    revoked: new Map(),
    deletedTokens: new Map(),
    sessions: new Map(),
    noticesApplied: 0,
    fallbacks: 0,
    epoch: 0,
    starting: null,
    listener: null,
    subscriber: null,
    retryTimer: null,
    pruneTimer: null,
  };
  return holder[stateKey];
}

export function pushedMode(): boolean {
  return env.REVOCATION_MODE === "pushed";
}

/** How long a revoked id must be remembered: the longest a token signed before the revocation can live. */
export function revokedIdLifetimeMs(): number {
  return Math.max(env.JWT_TTL_SECONDS, env.ACCESS_TOKEN_TTL_SECONDS) * 1000;
}

/**
 * True when the feed is live in pushed mode: callers may then trust memory
 * instead of reading the store. Starts the feed on first use.
 */
export function isLive(): boolean {
  if (!pushedMode()) return false;
  const feed = state();
  if (!feed.live && !feed.starting && !feed.retryTimer) void startRevocationFeed();
  return feed.live;
}

export function isRevoked(sessionId: string, now = Date.now()): boolean {
  const until = state().revoked.get(sessionId);
  return until !== undefined && until > now;
}

/** Take before reading the store; hand to rememberSession with what was read. */
export function feedEpoch(): number {
  return state().epoch;
}

/**
 * A resolved session kept until `until` (ms), evicted early by a notice naming
 * its id or key. Refused when the feed went down or live since `epoch` (the
 * read may predate notices missed meanwhile) or a notice already named it.
 */
export function rememberSession(key: string, sessionId: string, value: unknown, until: number, epoch: number): void {
  const feed = state();
  const now = Date.now();
  if (!feed.live || epoch !== feed.epoch || until <= now || isRevoked(sessionId, now) || (feed.deletedTokens.get(key) ?? 0) > now) return;
  if (feed.sessions.size >= MAX_REMEMBERED_SESSIONS) feed.sessions.delete(feed.sessions.keys().next().value as string);
  feed.sessions.set(key, { sessionId, value, until });
}

/**
 * A session remembered under `key`; "revoked" when a notice revoked or deleted
 * it (refused without a read); null when unknown here or the feed is not live.
 */
export function rememberedSession(key: string, now = Date.now()): { sessionId: string; value: unknown } | "revoked" | null {
  if (!isLive()) return null;
  const feed = state();
  if ((feed.deletedTokens.get(key) ?? 0) > now) return "revoked";
  const hit = feed.sessions.get(key);
  if (!hit) return null;
  if (isRevoked(hit.sessionId, now)) return "revoked";
  if (hit.until <= now) {
    feed.sessions.delete(key);
    return null;
  }
  return hit;
}

export function forgetSession(key: string): void {
  state().sessions.delete(key);
}

/**
 * Applies a revocation this instance just wrote (the store published it for
 * the others in the same write): before the caller answers, this instance
 * refuses the credential too.
 */
export function applyNotice(notice: RevocationNotice): void {
  if (pushedMode()) apply(notice);
}

function apply(notice: RevocationNotice, now = Date.now()): void {
  const feed = state();
  const until = now + revokedIdLifetimeMs();
  const ids = new Set(notice.sessionIds ?? []);
  for (const id of ids) feed.revoked.set(id, Math.max(until, feed.revoked.get(id) ?? 0));
  // Remembered sessions of a revoked id stay (until their end or the prune) so their cookie is refused without a read.
  for (const hash of notice.tokenHashes ?? []) {
    feed.deletedTokens.set(hash, until);
    feed.sessions.delete(hash);
  }
  feed.noticesApplied += 1;
}

function parseNotice(payload: string | undefined): RevocationNotice | null {
  try {
    const value: unknown = JSON.parse(payload ?? "");
    if (typeof value !== "object" || value === null) return null;
    const list = (field: unknown) => (Array.isArray(field) && field.every((item) => typeof item === "string") ? (field as string[]) : undefined);
    const notice = value as Record<string, unknown>;
    return { sessionIds: list(notice.sessionIds), tokenHashes: list(notice.tokenHashes) };
  } catch {
    return null;
  }
}

export type StoreWriter = Pick<Db, "session">;

/**
 * Runs a revoking write (revoke or delete sessions) and, in pushed mode,
 * pushes its notice to every instance: on PostgreSQL with NOTIFY in the same
 * transaction (delivered on commit, never without it); in every case applied
 * to this instance's memory before the caller answers. `write` returns how
 * many rows it changed; no notice goes out for zero.
 */
export async function revokeAndAnnounce(notice: RevocationNotice, write: (store: StoreWriter) => Promise<number>): Promise<number> {
  if (!pushedMode()) return write(db());
  const feed = state();
  let count: number;
  if (feed.transport === "postgresql") {
    count = await db().$transaction(async (tx: Prisma.TransactionClient) => {
      const changed = await write(tx);
      if (changed > 0) await tx.$executeRawUnsafe(`SELECT pg_notify('${CHANNEL}', $1)`, JSON.stringify(notice));
      return changed;
    });
  } else {
    count = await write(db());
  }
  if (count > 0) apply(notice);
  return count;
}

/** What the dashboard and the lab show about the feed; null unless REVOCATION_MODE=pushed. */
export function feedStatus(): FeedStatus | null {
  if (!pushedMode()) return null;
  const feed = state();
  return {
    mode: "pushed",
    transport: feed.transport,
    live: feed.live,
    since: feed.since,
    revokedIdsKnown: feed.revoked.size,
    sessionsRemembered: feed.sessions.size,
    noticesApplied: feed.noticesApplied,
    fallbacks: feed.fallbacks,
  };
}

function goLive(feed: FeedState): void {
  feed.live = true;
  feed.epoch += 1;
  feed.since = Date.now();
  log.info("revocation_feed.live", { transport: feed.transport, revokedIdsKnown: feed.revoked.size });
}

/** Falls back to reads: memory may have missed notices, so resolved sessions are forgotten. */
function goDown(feed: FeedState, reason: string, error?: unknown): void {
  const wasLive = feed.live;
  feed.live = false;
  feed.epoch += 1;
  feed.since = Date.now();
  feed.sessions.clear();
  feed.fallbacks += 1;
  const listener = feed.listener;
  feed.listener = null;
  listener?.removeAllListeners();
  listener?.on("error", () => {});
  listener?.end().catch(() => {});
  const subscriber = feed.subscriber;
  feed.subscriber = null;
  subscriber?.removeAllListeners();
  subscriber?.on("error", () => {});
  subscriber?.disconnect();
  log.warn("revocation_feed.down", { transport: feed.transport, reason, wasLive, error, fallback: "a store read per request until the feed is back" });
  if (!feed.retryTimer) {
    feed.retryTimer = setTimeout(() => {
      feed.retryTimer = null;
      void startRevocationFeed();
    }, RETRY_MS);
    feed.retryTimer.unref();
  }
}

/**
 * The ids revoked within the longest token lifetime, from the store. Rows leave
 * the table when their session ends (purge), so this reads at most the revoked
 * sessions still inside their absolute lifetime; the age filter runs here, the
 * same on both databases.
 */
async function loadRevokedIds(feed: FeedState, now = Date.now()): Promise<void> {
  if (feed.transport === "redis") {
    const horizon = now - revokedIdLifetimeMs();
    const entries = await withRedis((client) => client.zrangebyscore(redisKeys.revoked, horizon, "+inf", "WITHSCORES"));
    for (let i = 0; i + 1 < entries.length; i += 2) {
      const until = Number(entries[i + 1]) + revokedIdLifetimeMs();
      if (until > now) feed.revoked.set(entries[i]!, Math.max(until, feed.revoked.get(entries[i]!) ?? 0));
    }
    return;
  }
  const rows = await queryRows(`SELECT "id", "revokedAt" FROM "Session" WHERE "revokedAt" IS NOT NULL`, []);
  for (const row of rows) {
    if (typeof row.id !== "string") continue;
    const until = parseDbDate(row.revokedAt).getTime() + revokedIdLifetimeMs();
    if (until > now) feed.revoked.set(row.id, Math.max(until, feed.revoked.get(row.id) ?? 0));
  }
}

/** Redis: a subscriber connection of its own; a lost link is a lost feed (pub/sub keeps nothing for later). */
async function subscribe(feed: FeedState): Promise<void> {
  const subscriber = redisSubscriber("revocations");
  const lost = (reason: string) => () => feed.subscriber === subscriber && goDown(feed, reason);
  subscriber.on("message", (channel: string, message: string) => {
    if (channel !== redisKeys.channel) return;
    const notice = parseNotice(message);
    if (notice) apply(notice);
    else log.warn("revocation_feed.bad_notice");
  });
  feed.subscriber = subscriber;
  try {
    await subscriber.connect();
    await subscriber.subscribe(redisKeys.channel);
  } catch (error) {
    if (feed.subscriber === subscriber) feed.subscriber = null;
    subscriber.removeAllListeners();
    subscriber.on("error", () => {});
    subscriber.disconnect();
    throw error;
  }
  subscriber.on("close", lost("connection closed"));
  subscriber.on("end", lost("connection ended"));
  subscriber.on("error", lost("connection error"));
}

async function listen(feed: FeedState): Promise<void> {
  const client = new pg.Client({ connectionString: env.DATABASE_URL, keepAlive: true, connectionTimeoutMillis: 5000 });
  client.on("error", (error) => feed.listener === client && goDown(feed, "connection error", error));
  client.on("end", () => feed.listener === client && goDown(feed, "connection closed"));
  client.on("notification", (message) => {
    if (message.channel !== CHANNEL) return;
    const notice = parseNotice(message.payload);
    if (notice) apply(notice);
    else log.warn("revocation_feed.bad_notice");
  });
  feed.listener = client;
  try {
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
  } catch (error) {
    if (feed.listener === client) feed.listener = null;
    client.removeAllListeners();
    client.on("error", () => {});
    await client.end().catch(() => {});
    throw error;
  }
}

/**
 * Starts (or restarts) the feed: listen first, then load the revoked ids, then
 * live. Resolves when live or when this attempt failed (it then retries every
 * second, reads serving meanwhile). Called at start-up and on first use.
 */
export function startRevocationFeed(): Promise<void> {
  if (!pushedMode()) return Promise.resolve();
  const feed = state();
  if (feed.live) return Promise.resolve();
  feed.starting ??= (async () => {
    try {
      if (feed.transport === "postgresql") await listen(feed);
      if (feed.transport === "redis") await subscribe(feed);
      await loadRevokedIds(feed);
      if (feed.transport === "in-process" || feed.listener || feed.subscriber) goLive(feed);
      if (!feed.pruneTimer) {
        feed.pruneTimer = setInterval(() => prune(feed), PRUNE_EVERY_MS);
        feed.pruneTimer.unref();
      }
    } catch (error) {
      goDown(feed, "could not start", error);
    } finally {
      feed.starting = null;
    }
  })();
  return feed.starting;
}

/** Closes the feed's connection and timers (tests, shutdown): reads per request from then on, until started again. */
export async function stopRevocationFeed(): Promise<void> {
  const feed = state();
  await feed.starting?.catch(() => {});
  if (feed.retryTimer) clearTimeout(feed.retryTimer);
  if (feed.pruneTimer) clearInterval(feed.pruneTimer);
  feed.retryTimer = null;
  feed.pruneTimer = null;
  feed.live = false;
  feed.epoch += 1;
  feed.sessions.clear();
  const { listener, subscriber } = feed;
  feed.listener = null;
  feed.subscriber = null;
  listener?.removeAllListeners();
  subscriber?.removeAllListeners();
  await listener?.end().catch(() => {});
  subscriber?.disconnect();
}

function prune(feed: FeedState, now = Date.now()): void {
  for (const [id, until] of feed.revoked) if (until <= now) feed.revoked.delete(id);
  for (const [hash, until] of feed.deletedTokens) if (until <= now) feed.deletedTokens.delete(hash);
  for (const [key, entry] of feed.sessions) if (entry.until <= now) feed.sessions.delete(key);
}
