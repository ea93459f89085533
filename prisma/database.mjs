// Which database the tooling talks to, decided once from DATABASE_URL.
//
// Shared by prisma.config.ts, scripts/db-migrate.mjs and the seed so that the
// Prisma CLI, the migration runner and the seed can never disagree about the
// database, its schema file or its migrations folder. Plain JavaScript (typed by
// database.d.mts) so the migration runner starts without a TypeScript loader.

import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Same default as the app (lib/env.ts): an SQLite file under data/, relative to the project root. */
export const DEFAULT_DATABASE_URL = "file:./data/app.db";

const PROVIDERS = {
  sqlite: {
    schemaPath: "prisma/schema.prisma",
    migrationsPath: "prisma/migrations",
  },
  postgresql: {
    schemaPath: "prisma/postgresql/schema.prisma",
    migrationsPath: "prisma/postgresql/migrations",
  },
};

/** Schema file and migrations folder (relative to the project root) of each provider. */
export function providerPaths(provider) {
  return PROVIDERS[provider];
}

/**
 * Loads .env files exactly the way `next dev` / `next start` do, so a
 * DATABASE_URL kept in .env or .env.local reaches the tooling too and the app
 * and its migrations target the same database. Variables already set in the
 * environment win, as in Next.js.
 */
export function loadProjectEnv() {
  const requireFromNext = createRequire(createRequire(import.meta.url).resolve("next/package.json"));
  const { loadEnvConfig } = requireFromNext("@next/env");
  const quiet = { info() {}, error: console.error };
  loadEnvConfig(PROJECT_ROOT, process.env.NODE_ENV !== "production", quiet);
}

/**
 * Describes the database named by DATABASE_URL (or the default).
 * `url` is what to hand to a driver adapter: for SQLite the path is made
 * absolute (resolved against the project root, like the app does from its
 * working directory), so it does not depend on where a command is run from.
 */
export function resolveDatabase(env = process.env) {
  const rawUrl = (env.DATABASE_URL ?? "").trim() || DEFAULT_DATABASE_URL;

  if (/^postgres(ql)?:\/\//i.test(rawUrl)) {
    return {
      provider: "postgresql",
      url: rawUrl,
      displayName: redactDatabaseUrl(rawUrl),
      ...PROVIDERS.postgresql,
    };
  }

  if (rawUrl.startsWith("file:")) {
    // The SQLite adapter takes everything after "file:" as the path, so do the same here.
    const filePath = path.resolve(PROJECT_ROOT, rawUrl.slice("file:".length));
    const relative = path.relative(PROJECT_ROOT, filePath);
    return {
      provider: "sqlite",
      url: `file:${filePath}`,
      filePath,
      displayName: relative.startsWith("..") || path.isAbsolute(relative) ? filePath : relative,
      ...PROVIDERS.sqlite,
    };
  }

  const scheme = rawUrl.match(/^[a-z][a-z0-9+.-]*:/i)?.[0] ?? "(none)";
  throw new Error(
    `DATABASE_URL must start with file: (SQLite) or postgresql:// (PostgreSQL); its scheme is ${scheme}`,
  );
}

/** Creates the folder of an SQLite database file; SQLite creates the file but not its folder. */
export function ensureSqliteDirectory(database) {
  if (database.provider === "sqlite") mkdirSync(path.dirname(database.filePath), { recursive: true });
}

/** Driver adapter factory for the database (the adapters are loaded only when needed). */
export async function createAdapterFactory(database) {
  if (database.provider === "postgresql") {
    const { PrismaPg } = await import("@prisma/adapter-pg");
    return new PrismaPg({ connectionString: database.url });
  }
  const { PrismaBetterSqlite3 } = await import("@prisma/adapter-better-sqlite3");
  return new PrismaBetterSqlite3({ url: database.url });
}

/** The connection string with any password replaced by ***, safe to print. */
export function redactDatabaseUrl(url) {
  return url
    .replace(/(\/\/[^/?#@:]*:)[^@/?#]*@/, "$1***@")
    .replace(/([?&](?:password|sslpassword)=)[^&#]*/gi, "$1***");
}

/**
 * Removes the password of `url` from an arbitrary message (driver errors can
 * echo connection details), in both its raw and percent-decoded spellings.
 */
export function scrubSecrets(message, url) {
  let text = redactDatabaseUrl(String(message));
  const secrets = new Set();
  const inAuthority = url.match(/\/\/[^/?#@:]*:([^@/?#]*)@/)?.[1];
  const inQuery = [...url.matchAll(/[?&](?:password|sslpassword)=([^&#]*)/gi)].map((m) => m[1]);
  for (const secret of [inAuthority, ...inQuery]) {
    if (!secret) continue;
    secrets.add(secret);
    try {
      secrets.add(decodeURIComponent(secret));
    } catch {
      // Not valid percent-encoding: the raw spelling is all there is.
    }
  }
  for (const secret of secrets) text = text.split(secret).join("***");
  return text;
}
