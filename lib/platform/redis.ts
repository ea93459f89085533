import "server-only";
import { createHash } from "node:crypto";
import { Redis, type RedisOptions } from "ioredis";
import { env } from "./env";
import { ConfigurationError, RedisUnavailableError } from "./errors";
import { log } from "./log";

/**
 * The optional shared Redis (REDIS_URL): what every instance must agree on and
 * may live outside the database (today: rate-limit counters). Without REDIS_URL
 * nothing here runs and those things stay in the database.
 *
 * Fail fast, fail closed. A command never waits for a server that is not there:
 * no offline queue (a command while disconnected is refused at once), no re-send
 * after a dropped connection, and a per-command timeout for a server that hangs.
 * The caller gets a RedisUnavailableError, and the request fails closed — 503 or
 * the forms' generic message — like when the database is down. The client keeps
 * reconnecting in the background, so the next request after the server is back
 * works without a restart.
 */

/** A rate-limit script answers in well under a millisecond; this bounds a server that stopped answering. */
const COMMAND_TIMEOUT_MS = 2_000;
const CONNECT_TIMEOUT_MS = 2_000;
/** Reconnect back-off: 100 ms, 200 ms … at most 2 s between attempts, forever. */
const reconnectDelay = (attempt: number) => Math.min(attempt * 100, 2_000);

function options(role: string): RedisOptions {
  return {
    // Connected on first use (redis() below), not at import: a build or a
    // process that never needs Redis never dials it.
    lazyConnect: true,
    enableOfflineQueue: false,
    // A command in flight when the connection drops fails instead of being sent
    // again on the next connection (a counter must not count one hit twice).
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: reconnectDelay,
    connectionName: `session-or-token:${role}`,
  };
}

/** host:port of REDIS_URL, for the log: never the password the URL may carry. */
function serverOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || "6379"}`;
}

function configuredUrl(): string {
  if (!env.REDIS_URL) throw new ConfigurationError("REDIS_URL is not set");
  return env.REDIS_URL;
}

/** One log line when a connection goes down and one when it is back, not one per reconnect attempt. */
function watch(client: Redis, role: string, server: string): Redis {
  let down = false;
  const lost = (error?: unknown) => {
    if (down) return;
    down = true;
    log.error("redis.unavailable", { role, server, ...(error === undefined ? {} : { error }) });
  };
  // A failed connection attempt, or a connection the server dropped (the client
  // then reconnects; a disconnect() of ours is not reported).
  client.on("error", (error: unknown) => lost(error));
  client.on("reconnecting", () => lost());
  client.on("ready", () => {
    if (down) log.info("redis.back", { role, server });
    else log.debug("redis.connected", { role, server });
    down = false;
  });
  return client;
}

function createClient(role: string): Redis {
  const url = configuredUrl();
  return watch(new Redis(url, options(role)), role, serverOf(url));
}

interface Shared {
  client: Redis;
  /** The first connect(); later connections are the client's own reconnects. */
  firstConnect: Promise<void>;
}

// One client per process. The proxy, the route handlers and instrumentation are
// bundled separately but run in one Node.js process: module state is not
// shared between them, globalThis is.
const globalKey = Symbol.for("session-or-token.redis");
type GlobalWithRedis = typeof globalThis & { [globalKey]?: Shared };

/** Whether REDIS_URL is set: the shared store is Redis rather than the database. */
export function redisConfigured(): boolean {
  return env.REDIS_URL !== undefined;
}

/**
 * The process's Redis client, connected and ready. Throws RedisUnavailableError
 * at once when it is not (first connection refused or timed out, or a reconnect
 * in progress): a request never waits for Redis to come back.
 */
export async function redis(): Promise<Redis> {
  const holder = globalThis as GlobalWithRedis;
  let shared = holder[globalKey];
  if (!shared) {
    const client = createClient("commands");
    shared = { client, firstConnect: client.connect() };
    // Awaited below by whoever is first; this only keeps a failure from being "unhandled".
    shared.firstConnect.catch(() => {});
    holder[globalKey] = shared;
  }
  try {
    await shared.firstConnect;
  } catch {
    // The client goes on reconnecting by itself; it may be ready again by now.
  }
  if (shared.client.status !== "ready") {
    throw new RedisUnavailableError(`Redis is not connected (${shared.client.status})`);
  }
  return shared.client;
}

/**
 * Runs commands on the process's client. Connection failures and timeouts come
 * back as RedisUnavailableError (the original as `cause`); an error reply from
 * the server (a bug in a script or command) is passed through as it is.
 */
export async function withRedis<T>(work: (client: Redis) => Promise<T>): Promise<T> {
  const client = await redis();
  try {
    return await work(client);
  } catch (error) {
    if (error instanceof Error && error.name === "ReplyError") throw error;
    throw new RedisUnavailableError("Redis command failed", { cause: error });
  }
}

/** A Lua script run with EVALSHA, sent in full (EVAL) only when the server does not know it yet. */
export interface RedisScript {
  source: string;
  sha1: string;
}

export function redisScript(source: string): RedisScript {
  return { source, sha1: createHash("sha1").update(source).digest("hex") };
}

/** Runs a script atomically on the server (keys, then arguments); the reply as the server sent it. */
export function runScript(script: RedisScript, keys: string[], args: (string | number)[]): Promise<unknown> {
  return withRedis(async (client) => {
    try {
      return await client.evalsha(script.sha1, keys.length, ...keys, ...args);
    } catch (error) {
      // A restarted (or flushed) server has forgotten every script.
      if (!(error instanceof Error && error.message.startsWith("NOSCRIPT"))) throw error;
      return client.eval(script.source, keys.length, ...keys, ...args);
    }
  });
}

/**
 * A second, separate connection for SUBSCRIBE (a connection in subscriber mode
 * can run no other command, so it cannot be the shared client). Each call makes
 * a new one; it is not connected yet and belongs to the caller:
 *
 *   const subscriber = redisSubscriber("revocations");
 *   subscriber.on("message", (channel, message) => …);
 *   await subscriber.connect();              // rejects when Redis is down (it keeps retrying)
 *   await subscriber.subscribe("channel");
 *   …
 *   subscriber.disconnect();
 *
 * The same fail-fast options as the shared client: without connect() first, or
 * while Redis is unreachable, `subscribe` is refused at once rather than queued.
 * `ready` and `error` events say when the link comes and goes (one log line
 * each way is written already). After a reconnect the client subscribes again by
 * itself (autoResubscribe), but messages published meanwhile are lost: a caller
 * that must not miss one treats the time between `error` and `ready` as unknown.
 * Throws ConfigurationError when REDIS_URL is not set.
 */
export function redisSubscriber(role = "subscriber"): Redis {
  return createClient(role);
}

/** Closes the process's shared client (tests, shutdown); the next redis() call connects again. */
export async function closeRedis(): Promise<void> {
  const holder = globalThis as GlobalWithRedis;
  const shared = holder[globalKey];
  if (!shared) return;
  delete holder[globalKey];
  await shared.client.quit().catch(() => shared.client.disconnect());
}
