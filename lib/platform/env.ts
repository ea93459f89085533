import "server-only";
import { z } from "zod";
import { isLoopbackHost, isLoopbackOrigin } from "./loopback";

/**
 * The one place that reads process.env. Parsed once, at first use; a bad value
 * stops the process with a message naming the variable, instead of failing later
 * on some request.
 */
const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);
/** An optional variable; set but blank counts as unset. */
const blankIsUnset = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (typeof value === "string" && value.trim() === "" ? undefined : value), schema.optional());
const providerSecret = z.string().trim().min(1).max(512);
const limit = (fallback: number) => z.coerce.number().int().min(0).max(1_000_000).default(fallback);

/** As many instances as scripts/cluster.mjs starts at most. */
const MAX_CLUSTER_INSTANCES = 16;

/** CLUSTER_INSTANCE_URLS: `id=http://127.0.0.1:port` entries, comma-separated, each id once, loopback only. */
export const ClusterInstanceUrlsSchema = z
  .string()
  .trim()
  .transform((list, context) => {
    const parsed: { id: string; url: string }[] = [];
    for (const entry of list.split(",").map((part) => part.trim())) {
      const match = /^([A-Za-z0-9_-]{1,32})=(.+)$/.exec(entry);
      if (!match?.[1] || !match[2] || !isLoopbackOrigin(match[2])) {
        context.addIssue({ code: "custom", message: "must be id=http://127.0.0.1:port entries, comma-separated, loopback only" });
        return z.NEVER;
      }
      parsed.push({ id: match[1], url: new URL(match[2]).origin });
    }
    if (parsed.length > MAX_CLUSTER_INSTANCES || new Set(parsed.map((instance) => instance.id)).size !== parsed.length) {
      context.addIssue({ code: "custom", message: `must name 1-${MAX_CLUSTER_INSTANCES} instances, each once` });
      return z.NEVER;
    }
    return parsed;
  });

const EnvSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  DATABASE_URL: z
    .string()
    .trim()
    .min(1)
    .default("file:./data/app.db")
    .refine((url) => /^(file:|postgres(ql)?:\/\/)/.test(url), {
      message: "must start with file: (SQLite) or postgresql:// (PostgreSQL)",
    }),
  /** JSON file holding the JWT signing keys and the Auth.js secret (created by `npm run keys:init`). */
  KEYS_FILE: z.string().trim().min(1).default("data/keys.json"),
  /**
   * Set: the signing keys and the Auth.js secret live in the database (every
   * instance reads them there), their secret parts sealed with AES-256-GCM under
   * this key: 32 random bytes, base64url (`openssl rand -base64 32 | tr '+/' '-_' | tr -d =`).
   * KEYS_FILE, if it exists, is then only imported once into an empty store.
   * Unset: the key file, as on one machine.
   */
  KEYS_ENCRYPTION_KEY: z.preprocess(
    (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
    z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_-]{43}$/, "must be 32 bytes, base64url without padding (43 characters)")
      .optional(),
  ),
  /** Overrides the Auth.js secret from the keys file (used for its CSRF token). */
  AUTH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  /** `iss` of every token this server signs. Short: it travels in every browser JWT cookie. */
  JWT_ISSUER: z.string().trim().min(1).default("sot"),
  /**
   * Lifetime of one browser JWT (the `sot.jwt` cookie). An active browser gets a
   * fresh one once half of it has passed, so this is also the JWT session's idle
   * timeout; a stateless verifier trusts a copy this long.
   */
  JWT_TTL_SECONDS: seconds(60 * 60),
  /** Absolute lifetime of a browser session of either strategy: no renewal goes past it. */
  SESSION_TTL_SECONDS: seconds(7 * 24 * 60 * 60),
  /** A database session unused for this long is over (idle timeout). */
  SESSION_IDLE_TIMEOUT_SECONDS: seconds(30 * 60),
  /** Sliding renewal: a database session's "last seen" is written at most once per this interval. */
  SESSION_TOUCH_SECONDS: seconds(60),
  /**
   * Step-up authentication: sensitive actions (password change, signing out
   * elsewhere, creating API tokens from a browser, admin actions) need the user
   * to have proved who they are within this many seconds; older sessions are
   * asked to confirm first (lib/auth/step-up.ts).
   */
  STEP_UP_WINDOW_SECONDS: seconds(10 * 60).refine((value) => value <= 24 * 60 * 60, "must be at most 86400 (one day)"),
  /** Lifetime of an API access token (`typ: at+jwt`). Short: it is what a thief could replay. */
  ACCESS_TOKEN_TTL_SECONDS: seconds(10 * 60).refine((value) => value <= 15 * 60, "must be at most 900 (15 minutes)"),
  /** Lifetime of one refresh token; each use replaces it. */
  REFRESH_TOKEN_TTL_SECONDS: seconds(14 * 24 * 60 * 60),
  /** Absolute lifetime of a token family (everything descended from one sign-in). */
  TOKEN_FAMILY_TTL_SECONDS: seconds(30 * 24 * 60 * 60),
  /** A refresh token presented again within this many seconds of its first use gets the same successor. */
  REFRESH_REUSE_GRACE_SECONDS: z.coerce.number().int().min(0).max(120).default(10),
  /**
   * How this server's verifier treats a JWT whose session (`sid`) was revoked:
   * strict = refused on the next request (one indexed lookup per request);
   * stateless = trusted until `exp` (no lookup);
   * pushed = refused on the next request without a lookup: every revocation is
   * pushed to every instance, which keeps the revoked ids in memory
   * (lib/sessions/feed.ts); while the channel is down, strict.
   */
  REVOCATION_MODE: z.enum(["strict", "stateless", "pushed"]).default("strict"),
  /** Public keys are cached by verifiers this long (JWKS Cache-Control); new keys sign only after it. */
  JWKS_MAX_AGE_SECONDS: seconds(300),
  /**
   * This app's public origin. Links in mail are built from it, never from a
   * request's Host header (which a client chooses).
   */
  APP_URL: z
    .url({ protocol: /^https?$/, message: "must be an http:// or https:// URL" })
    .default("http://localhost:3000")
    .transform((url) => new URL(url).origin),
  /**
   * Where mail goes (smtp:// or smtps://, credentials in the URL). Unset: an
   * SMTP catcher inside this process on 127.0.0.1 takes it, and /dev/mailbox shows it.
   */
  SMTP_URL: z.preprocess(
    (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
    z.url({ protocol: /^smtps?$/, message: "must be an smtp:// or smtps:// URL" }).optional(),
  ),
  /**
   * A Redis server shared by every instance (redis://[user:password@]host:port[/db];
   * rediss:// for TLS). Set: rate-limit counters live there (lib/platform/redis.ts).
   * Unset: in the database.
   */
  REDIS_URL: z.preprocess(
    (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
    z.url({ protocol: /^rediss?$/, message: "must be a redis:// or rediss:// URL" }).optional(),
  ),
  /**
   * Where sessions live (database-session rows, the records JWTs' `sid` point to,
   * API token families and their refresh tokens): "database" (the Prisma
   * database) or "redis" (REDIS_URL, each key expiring with its session). Users,
   * the audit log and everything else stay in the database.
   */
  SESSION_STORE: z.enum(["database", "redis"]).default("database"),
  /** The From: of every mail. */
  MAIL_FROM: z.string().trim().min(3).max(320).default("Session or Token <no-reply@localhost>"),
  /** Lifetime of a link that finishes a registration. */
  EMAIL_LINK_TTL_SECONDS: seconds(30 * 60).refine((value) => value <= 7 * 24 * 60 * 60, "must be at most 604800 (7 days)"),
  /** Lifetime of a password-reset link. */
  PASSWORD_RESET_TTL_SECONDS: seconds(30 * 60).refine((value) => value <= 24 * 60 * 60, "must be at most 86400 (1 day)"),
  /** The example downstream service (examples/downstream) the dashboard calls cross-origin. */
  DOWNSTREAM_URL: z.url().default("http://localhost:4000"),
  /**
   * A generic OpenID Connect provider (authorization code flow with PKCE, state
   * and nonce): its issuer URL (discovery at <issuer>/.well-known/openid-configuration),
   * this app's client id and secret there, and the name its button shows.
   * Unset: no such provider. `npm run idp` starts a local one and prints these.
   */
  OIDC_ISSUER: blankIsUnset(
    z
      .url({ protocol: /^https?$/, message: "must be an http:// or https:// URL" })
      // Tokens and the client secret travel to it: plain http only on this machine's loopback.
      .refine((url) => url.startsWith("https://") || isLoopbackHost(new URL(url).hostname, { localhost: true }), "must be https:// (http:// only for a loopback address)"),
  ),
  OIDC_CLIENT_ID: blankIsUnset(providerSecret),
  OIDC_CLIENT_SECRET: blankIsUnset(providerSecret),
  OIDC_NAME: z.preprocess(
    (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
    z.string().trim().min(1).max(60).default("OpenID Connect"),
  ),
  /**
   * Sign-out of a session from the OpenID Connect provider also ends the
   * provider session (RP-initiated logout) when it advertises an end_session_endpoint.
   */
  OIDC_END_SESSION: z.enum(["true", "false"]).default("true").transform((value) => value === "true"),
  /** GitHub (an OAuth app): set both to offer "Sign in with GitHub". */
  AUTH_GITHUB_ID: blankIsUnset(providerSecret),
  AUTH_GITHUB_SECRET: blankIsUnset(providerSecret),
  /** Google (an OAuth client of type "Web application"): set both to offer "Sign in with Google". */
  AUTH_GOOGLE_ID: blankIsUnset(providerSecret),
  AUTH_GOOGLE_SECRET: blankIsUnset(providerSecret),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  /**
   * Brute-force limits: fixed windows of this length, counted in Redis (REDIS_URL)
   * or else the RateLimit table, so they hold across instances. A limit of 0 turns that limit off.
   */
  RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(60).max(24 * 60 * 60).default(15 * 60),
  /** Failed password attempts per account (form, HTTP callback and /api/token together) per window. */
  RATE_LIMIT_SIGNIN_PER_ACCOUNT: limit(10),
  /** Sign-in attempts (form and HTTP callback) per client IP per window, successful ones included. */
  RATE_LIMIT_SIGNIN_PER_IP: limit(30),
  /** Password grants on POST /api/token per client IP per window. */
  RATE_LIMIT_TOKEN_PER_IP: limit(30),
  /** Registrations per client IP per window. */
  RATE_LIMIT_REGISTER_PER_IP: limit(10),
  /** Registrations per email address (new or taken alike) per window: bounds the mail one address receives. */
  RATE_LIMIT_REGISTER_PER_ACCOUNT: limit(5),
  /** Password-reset requests per client IP per window. */
  RATE_LIMIT_RESET_PER_IP: limit(10),
  /** Password-reset requests per email address (known or not) per window. */
  RATE_LIMIT_RESET_PER_ACCOUNT: limit(5),
  /** POST /api/token/refresh per client IP per window (clients refresh every few minutes; NATs share addresses). */
  RATE_LIMIT_REFRESH_PER_IP: limit(300),
  /** Comparison-lab runs (POST /api/compare/run) per client IP per window: each run makes the server do real work. */
  RATE_LIMIT_COMPARE_PER_IP: limit(20),
  /**
   * How many reverse proxies in front of this server append to X-Forwarded-For
   * (read by server.mjs, 0-5). 0: the client address is the socket's.
   */
  TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(5).default(0),
  /** Names this process among several behind a load balancer (X-Instance header, dashboard); server.mjs reads it too. */
  INSTANCE_ID: z.preprocess(
    (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
    z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, "must be 1-32 characters of A-Z a-z 0-9 _ -").optional(),
  ),
  /**
   * Set by scripts/cluster.mjs on every instance, for the comparison lab's
   * scaling experiment (lib/lab/scaling.ts), which asks each instance directly
   * which credentials it accepts: the load balancer's address and every
   * instance's own, as `app-1=http://127.0.0.1:41001,app-2=http://127.0.0.1:41002`.
   * Loopback http origins only (127.x.x.x or [::1], with a port): the lab never
   * sends a request off this machine. Unset: a single instance.
   */
  CLUSTER_BALANCER_URL: z.preprocess(
    (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
    z.string().trim().refine(isLoopbackOrigin, "must be a loopback http origin with a port (http://127.0.0.1:3000)").optional(),
  ),
  CLUSTER_INSTANCE_URLS: z.preprocess(
    (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
    ClusterInstanceUrlsSchema.optional(),
  ),
});

export type Env = z.infer<typeof EnvSchema>;

function allOrNone(...values: unknown[]): boolean {
  const set = values.filter((value) => value !== undefined).length;
  return set === 0 || set === values.length;
}

function parseEnv(): Env {
  const parsed = EnvSchema.refine((value) => value.SESSION_TOUCH_SECONDS < value.SESSION_IDLE_TIMEOUT_SECONDS, {
    path: ["SESSION_TOUCH_SECONDS"],
    message: "must be shorter than SESSION_IDLE_TIMEOUT_SECONDS",
  })
    .refine((value) => value.SESSION_STORE !== "redis" || value.REDIS_URL !== undefined, {
      path: ["SESSION_STORE"],
      message: "redis needs REDIS_URL",
    })
    // Half a provider configuration is a mistake, not "no provider": say so at start.
    .refine((value) => allOrNone(value.OIDC_ISSUER, value.OIDC_CLIENT_ID, value.OIDC_CLIENT_SECRET), {
      path: ["OIDC_ISSUER"],
      message: "OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET go together: set all three or none",
    })
    .refine((value) => allOrNone(value.AUTH_GITHUB_ID, value.AUTH_GITHUB_SECRET), {
      path: ["AUTH_GITHUB_ID"],
      message: "AUTH_GITHUB_ID and AUTH_GITHUB_SECRET go together",
    })
    .refine((value) => allOrNone(value.AUTH_GOOGLE_ID, value.AUTH_GOOGLE_SECRET), {
      path: ["AUTH_GOOGLE_ID"],
      message: "AUTH_GOOGLE_ID and AUTH_GOOGLE_SECRET go together",
    })
    .refine((value) => value.CLUSTER_INSTANCE_URLS === undefined || (value.CLUSTER_BALANCER_URL !== undefined && value.INSTANCE_ID !== undefined && value.CLUSTER_INSTANCE_URLS.some((instance) => instance.id === value.INSTANCE_ID)), {
      path: ["CLUSTER_INSTANCE_URLS"],
      message: "needs CLUSTER_BALANCER_URL and INSTANCE_ID, and must name this instance",
    })
    .safeParse(process.env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`).join("\n");
    throw new Error(`Invalid environment configuration:\n${problems}`);
  }
  return parsed.data;
}

export const env: Env = parseEnv();

export const databaseKind: "sqlite" | "postgresql" = env.DATABASE_URL.startsWith("file:") ? "sqlite" : "postgresql";
