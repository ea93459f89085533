import "server-only";
import { z } from "zod";

/**
 * The one place that reads process.env. Parsed once, at first use; a bad value
 * stops the process with a message naming the variable, instead of failing later
 * on some request.
 */
const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);

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
  /** Overrides the Auth.js secret from the keys file (used for its CSRF token). */
  AUTH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  /** `iss` of every token this server signs. */
  JWT_ISSUER: z.string().trim().min(1).default("session-or-token"),
  /** Lifetime of a browser JWT (the `sot.jwt` cookie). Short, because it cannot be revoked before `exp`. */
  JWT_TTL_SECONDS: seconds(60 * 60),
  /** Lifetime of a database session (the `sot.session` cookie). */
  SESSION_TTL_SECONDS: seconds(7 * 24 * 60 * 60),
  /** A database session's "last seen" is written at most once per this interval, not on every request. */
  SESSION_TOUCH_SECONDS: seconds(60),
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
   * stateless = trusted until `exp` (no lookup).
   */
  REVOCATION_MODE: z.enum(["strict", "stateless"]).default("strict"),
  /** Public keys are cached by verifiers this long (JWKS Cache-Control); new keys sign only after it. */
  JWKS_MAX_AGE_SECONDS: seconds(300),
  /** The example downstream service (examples/downstream) the dashboard calls cross-origin. */
  DOWNSTREAM_URL: z.url().default("http://localhost:4000"),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
});

export type Env = z.infer<typeof EnvSchema>;

function parseEnv(): Env {
  const parsed = EnvSchema.safeParse(process.env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`).join("\n");
    throw new Error(`Invalid environment configuration:\n${problems}`);
  }
  return parsed.data;
}

export const env: Env = parseEnv();

export const databaseKind: "sqlite" | "postgresql" = env.DATABASE_URL.startsWith("file:") ? "sqlite" : "postgresql";
