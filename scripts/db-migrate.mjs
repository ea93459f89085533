#!/usr/bin/env node
// Applies and creates Prisma migrations without the Prisma CLI's native
// schema-engine binary, which the CLI downloads on first use (and which cannot
// be downloaded everywhere this app runs). The same engine, compiled to
// WebAssembly (@prisma/schema-engine-wasm), talks to the database through the
// driver adapters the app already uses.
//
// Migrations stay in Prisma's standard folder layout, so `prisma migrate deploy`
// works on them wherever the binary is available:
//   prisma/migrations/<timestamp>_<name>/migration.sql             SQLite
//   prisma/postgresql/migrations/<timestamp>_<name>/migration.sql  PostgreSQL
//
//   node scripts/db-migrate.mjs                  apply pending migrations to DATABASE_URL
//   node scripts/db-migrate.mjs --create <name>  write a new migration for both providers
//   node scripts/db-migrate.mjs --check          exit 1 if the schema has changes no migration holds

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";

import {
  PROJECT_ROOT,
  createAdapterFactory,
  ensureSqliteDirectory,
  loadProjectEnv,
  providerPaths,
  resolveDatabase,
  scrubSecrets,
} from "../prisma/database.mjs";
import {
  POSTGRESQL_SCHEMA,
  SOURCE_SCHEMA,
  derivePostgresqlSchema,
  postgresqlSchemaIsCurrent,
  writePostgresqlSchema,
} from "./prisma-schemas.mjs";

const NO_FILTER = { externalTables: [], externalEnums: [] };
const MIGRATION_FILE = "migration.sql";
const LOCKFILE = "migration_lock.toml";
/**
 * The PostgreSQL schema each PostgreSQL migration leads to. The next migration
 * is the difference between it and the current schema, which needs no
 * PostgreSQL server (see createMigrations).
 */
const SNAPSHOT_FILE = "schema.prisma.snapshot";

class UsageError extends Error {}

// ---------------------------------------------------------------------------
// Schema engine

let engineModule;

/** Instantiates the WebAssembly schema engine once per process. */
async function loadEngineModule() {
  if (engineModule) return engineModule;
  const glueUrl = import.meta.resolve("@prisma/schema-engine-wasm/schema_engine_bg");
  const glue = await import(glueUrl);
  const bytes = await readFile(new URL("schema_engine_bg.wasm", glueUrl));

  // The engine arms timers (10 s ones while it talks to PostgreSQL) and never
  // clears them; left as they are, they keep Node.js running for 10 s after
  // the work is done. Unreferenced, they still fire while anything else (an
  // open connection, a pending query) keeps the process alive.
  const imports = { ...glue };
  for (const name of Object.keys(glue).filter((key) => key.startsWith("__wbg_setTimeout_"))) {
    imports[name] = (...args) => {
      const timer = glue[name](...args);
      timer?.unref?.();
      return timer;
    };
  }
  const { instance } = await WebAssembly.instantiate(bytes, { "./schema_engine_bg.js": imports });
  glue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  engineModule = glue;
  return glue;
}

/**
 * Starts an engine for one schema file over the given adapter factory.
 * The engine opens connections through the factory but never closes them, so
 * the factory is wrapped to remember every connection; close() disposes them
 * (otherwise a PostgreSQL pool would keep the process alive).
 */
async function startEngine(schemaFile, adapterFactory) {
  const { SchemaEngine } = await loadEngineModule();
  const { bindMigrationAwareSqlAdapterFactory } = await import("@prisma/driver-adapter-utils");

  const connections = [];
  const tracked = {
    provider: adapterFactory.provider,
    adapterName: adapterFactory.adapterName,
    connect: async () => remember(await adapterFactory.connect()),
    connectToShadowDb: async () => remember(await adapterFactory.connectToShadowDb()),
  };
  function remember(connection) {
    connections.push(connection);
    return connection;
  }

  let engine;
  try {
    engine = await SchemaEngine.new(
      { datamodels: [[schemaFile.path, schemaFile.content]] },
      logEngineMessage,
      bindMigrationAwareSqlAdapterFactory(tracked),
    );
  } catch (error) {
    await disposeAll(connections);
    throw error;
  }

  return {
    engine,
    async close() {
      engine.free();
      await disposeAll(connections);
    },
  };
}

async function disposeAll(connections) {
  // A shadow database may already be gone; failing to close is not worth reporting.
  await Promise.allSettled(connections.map((connection) => connection.dispose()));
}

/** The engine logs JSON lines; warnings always matter, the rest only when debugging. */
function logEngineMessage(line) {
  let entry;
  try {
    entry = JSON.parse(line);
  } catch {
    entry = { level: "INFO", fields: { message: String(line) } };
  }
  const important = entry.level === "WARN" || entry.level === "ERROR";
  if (important || process.env.DEBUG) {
    console.error(`schema-engine ${String(entry.level).toLowerCase()}: ${entry.fields?.message ?? line}`);
  }
}

/**
 * A stand-in PostgreSQL connection for computing SQL between two schemas.
 * The engine connects when it starts and asks for the server version; a diff
 * between two datamodels never touches the database after that. Any other
 * query fails loudly rather than pretending to succeed.
 */
function offlinePostgresAdapterFactory() {
  const refuse = async () => {
    throw new Error("no PostgreSQL server: this engine can only compare schemas");
  };
  const connection = {
    provider: "postgres",
    adapterName: "offline-postgres",
    getConnectionInfo: () => ({ schemaName: "public", supportsRelationJoins: true }),
    async queryRaw(query) {
      if (!query.sql.includes("server_version_num")) return refuse();
      // exists(public schema), version(), server_version_num: the oldest PostgreSQL this app supports.
      return {
        columnNames: ["exists", "version", "numeric_version"],
        columnTypes: [5 /* Boolean */, 7 /* Text */, 0 /* Int32 */],
        rows: [[true, "PostgreSQL 13.0", 130000]],
      };
    },
    executeRaw: refuse,
    executeScript: refuse,
    startTransaction: refuse,
    dispose: async () => {},
  };
  return {
    provider: "postgres",
    adapterName: "offline-postgres",
    connect: async () => connection,
    connectToShadowDb: async () => connection,
  };
}

// ---------------------------------------------------------------------------
// Migrations folders

function readSchemaFile(provider) {
  const { schemaPath } = providerPaths(provider);
  return { path: schemaPath, content: readFileSync(path.join(PROJECT_ROOT, schemaPath), "utf8") };
}

function migrationsDirectory(provider) {
  return path.join(PROJECT_ROOT, providerPaths(provider).migrationsPath);
}

/** Names of the migration folders, oldest first (the timestamp prefix sorts them). */
function migrationNames(provider) {
  const dir = migrationsDirectory(provider);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** The migrations folder in the shape the engine expects (the one Prisma's CLI builds). */
function readMigrationList(provider) {
  const baseDir = migrationsDirectory(provider);
  const lockfilePath = path.join(baseDir, LOCKFILE);
  return {
    baseDir,
    // The engine picks its SQL dialect from the lockfile; a folder without one
    // (before the first migration) belongs to this provider all the same.
    lockfile: { path: LOCKFILE, content: existsSync(lockfilePath) ? readFileSync(lockfilePath, "utf8") : lockfileText(provider) },
    shadowDbInitScript: "",
    migrationDirectories: migrationNames(provider).map((name) => {
      let content;
      try {
        content = { tag: "ok", value: readFileSync(path.join(baseDir, name, MIGRATION_FILE), "utf8") };
      } catch (error) {
        content = { tag: "error", value: error.message };
      }
      return { path: name, migrationFile: { path: MIGRATION_FILE, content } };
    }),
  };
}

function lockfileText(provider) {
  return [
    "# Please do not edit this file manually",
    "# It should be added in your version-control system (e.g., Git)",
    `provider = "${provider}"`,
    "",
  ].join("\n");
}

/** Writes the lockfile if missing; refuses a folder locked to the other provider. */
function ensureLockfile(provider) {
  const file = path.join(migrationsDirectory(provider), LOCKFILE);
  if (!existsSync(file)) {
    writeFileSync(file, lockfileText(provider));
    return;
  }
  const locked = readFileSync(file, "utf8").match(/^\s*provider\s*=\s*"([^"]+)"/m)?.[1];
  if (locked !== provider) {
    throw new Error(`${path.relative(PROJECT_ROOT, file)} is for provider "${locked}", expected "${provider}"`);
  }
}

// ---------------------------------------------------------------------------
// Apply

async function applyMigrations(database) {
  const migrationsList = readMigrationList(database.provider);
  const total = migrationsList.migrationDirectories.length;
  if (total === 0) {
    throw new Error(`No migrations in ${database.migrationsPath}. Create one with \`npm run db:migrate:create -- init\`.`);
  }

  ensureSqliteDirectory(database);
  const where = `${database.provider} ${database.displayName}`;
  const { engine, close } = await startEngine(readSchemaFile(database.provider), await createAdapterFactory(database));
  try {
    let appliedMigrationNames;
    try {
      ({ appliedMigrationNames } = await engine.applyMigrations({ migrationsList, filters: NO_FILTER }));
    } catch (error) {
      // The engine's message may be just the database's SQL error; say where it happened.
      throw new Error(`${errorMessage(error)}\n(applying ${database.migrationsPath} to ${where})`);
    }
    if (appliedMigrationNames.length === 0) {
      console.log(`db:migrate: ${where} is up to date (${plural(total, "migration")}).`);
    } else {
      console.log(
        `db:migrate: ${where}: applied ${plural(appliedMigrationNames.length, "migration")}: ${appliedMigrationNames.join(", ")}.`,
      );
    }
  } finally {
    await close();
  }
}

// ---------------------------------------------------------------------------
// Create

/**
 * Writes migration folders of the same name for both providers, each holding
 * the SQL that takes its database from the existing migrations to the current
 * schema.
 *
 * SQLite: the engine replays the existing migrations into an in-memory shadow
 * database and diffs it against prisma/schema.prisma, exactly like
 * `prisma migrate dev`.
 * PostgreSQL: replaying would need a running server, so the engine instead
 * diffs the schema snapshot saved with the latest PostgreSQL migration against
 * prisma/postgresql/schema.prisma; no server is involved.
 */
async function createMigrations(requestedName) {
  const slug = requestedName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 60);
  if (!slug) throw new UsageError("The migration name must contain letters or digits.");

  if (writePostgresqlSchema()) console.log(`db:migrate: updated ${POSTGRESQL_SCHEMA} from ${SOURCE_SCHEMA}.`);
  const { latestMigration, postgresSchema, sqliteSql, postgresSql } = await pendingChanges();

  if (sqliteSql === null && postgresSql === null) {
    console.log("db:migrate: the schema matches the migrations; no migration created.");
    return;
  }
  if (sqliteSql === null || postgresSql === null) {
    // Only possible when a snapshot or a migration was edited by hand; keep the
    // histories in step anyway so both providers list the same migrations.
    console.warn(
      `db:migrate: warning: only the ${sqliteSql === null ? "PostgreSQL" : "SQLite"} migration has changes; ` +
        "the other one is written empty. Check that the migration folders were not edited by hand.",
    );
  }

  const folderName = `${nextTimestamp(latestMigration)}_${slug}`;
  const emptyMigration = "-- This is an empty migration.\n";
  writeMigration("sqlite", folderName, sqliteSql ?? emptyMigration);
  writeMigration("postgresql", folderName, postgresSql ?? emptyMigration, postgresSchema.content);

  console.log(`db:migrate: created ${folderName} in:`);
  for (const provider of ["sqlite", "postgresql"]) {
    console.log(`  ${providerPaths(provider).migrationsPath}/${folderName}/${MIGRATION_FILE}`);
  }
  console.log("Review the SQL, then apply it with `npm run db:migrate`.");
}

/**
 * The SQL a new migration would hold for each provider (null: no changes),
 * computed from prisma/schema.prisma without writing anything.
 */
async function pendingChanges() {
  const sqliteNames = migrationNames("sqlite");
  const postgresNames = migrationNames("postgresql");
  if (sqliteNames.join("\n") !== postgresNames.join("\n")) {
    throw new Error(
      "The SQLite and PostgreSQL migration folders differ; each migration must exist for both providers.\n" +
        `  only in ${providerPaths("sqlite").migrationsPath}: ${difference(sqliteNames, postgresNames).join(", ") || "-"}\n` +
        `  only in ${providerPaths("postgresql").migrationsPath}: ${difference(postgresNames, sqliteNames).join(", ") || "-"}`,
    );
  }

  const sqliteSchema = readSchemaFile("sqlite");
  const postgresSchema = { path: POSTGRESQL_SCHEMA, content: derivePostgresqlSchema(sqliteSchema.content) };
  return {
    latestMigration: sqliteNames.at(-1),
    postgresSchema,
    sqliteSql: await diffSqlite(sqliteSchema),
    postgresSql: await diffPostgres(postgresSchema, postgresNames.at(-1)),
  };
}

/** For CI: fails when the schema has changes that no migration holds yet, or the derived schema is stale. */
async function checkMigrations() {
  const problems = [];
  if (!postgresqlSchemaIsCurrent()) problems.push(`${POSTGRESQL_SCHEMA} is out of date with ${SOURCE_SCHEMA}`);
  const { sqliteSql, postgresSql } = await pendingChanges();
  if (sqliteSql !== null) problems.push("the SQLite migrations do not produce the current schema");
  if (postgresSql !== null) problems.push("the PostgreSQL migrations do not produce the current schema");
  if (problems.length === 0) {
    console.log("db:migrate: the migrations match the schema.");
    return;
  }
  throw new Error(`${problems.join("; ")}. Run \`npm run db:migrate:create -- <name>\` and commit the result.`);
}

/** SQL from the existing SQLite migrations to the schema, or null when there is none. */
async function diffSqlite(schemaFile) {
  // In memory: creating a migration never touches the real database.
  const { PrismaBetterSqlite3 } = await import("@prisma/adapter-better-sqlite3");
  const memory = new PrismaBetterSqlite3({ url: ":memory:" });
  const factory = {
    provider: memory.provider,
    adapterName: memory.adapterName,
    connect: () => memory.connect(),
    connectToShadowDb: async () => acceptMultiStatementScripts(await memory.connectToShadowDb()),
  };
  const { engine, close } = await startEngine(schemaFile, factory);
  try {
    return await diffScript(engine, { tag: "migrations", ...readMigrationList("sqlite") }, schemaFile);
  } finally {
    await close();
  }
}

/**
 * The engine replays each migration file into the shadow database as one raw
 * statement, but better-sqlite3 prepares a single statement at a time and
 * rejects the file. Such a call is retried as a script (SQLite's exec), which
 * is what applying migrations to the real database uses anyway.
 */
function acceptMultiStatementScripts(connection) {
  const executeRaw = connection.executeRaw.bind(connection);
  connection.executeRaw = async (query) => {
    try {
      return await executeRaw(query);
    } catch (error) {
      const multiStatement = /more than one statement/i.test(String(error?.message ?? error?.cause?.message));
      if (!multiStatement || query.args.length > 0) throw error;
      await connection.executeScript(query.sql);
      return 0;
    }
  };
  return connection;
}

/** SQL from the latest PostgreSQL migration's snapshot (or nothing) to the schema, or null. */
async function diffPostgres(schemaFile, latestMigration) {
  let from = { tag: "empty" };
  if (latestMigration) {
    const snapshotPath = path.join(migrationsDirectory("postgresql"), latestMigration, SNAPSHOT_FILE);
    if (!existsSync(snapshotPath)) {
      throw new Error(
        `${path.relative(PROJECT_ROOT, snapshotPath)} is missing, so the state of the PostgreSQL schema after ` +
          `${latestMigration} is unknown. Restore it (the PostgreSQL schema that migration leads to).`,
      );
    }
    from = { tag: "schemaDatamodel", files: [{ path: SNAPSHOT_FILE, content: readFileSync(snapshotPath, "utf8") }] };
  }

  const { engine, close } = await startEngine(schemaFile, offlinePostgresAdapterFactory());
  try {
    const sql = await diffScript(engine, from, schemaFile);
    // From nothing, the engine also emits CREATE SCHEMA "public". Every new
    // PostgreSQL database already has that schema, and the statement needs the
    // CREATE privilege on the database, which application roles often lack.
    return sql && from.tag === "empty"
      ? sql.replace(/^-- CreateSchema\nCREATE SCHEMA IF NOT EXISTS "public";\n\n/m, "")
      : sql;
  } finally {
    await close();
  }
}

async function diffScript(engine, from, schemaFile) {
  const result = await engine.diff({
    from,
    to: { tag: "schemaDatamodel", files: [schemaFile] },
    script: true,
    exitCode: true, // exit code 2 = there are changes
    filters: NO_FILTER,
  });
  return result.exitCode === 2 ? result.stdout : null;
}

function writeMigration(provider, folderName, sql, snapshot) {
  const base = migrationsDirectory(provider);
  mkdirSync(path.join(base, folderName), { recursive: true });
  ensureLockfile(provider);
  writeFileSync(path.join(base, folderName, MIGRATION_FILE), sql);
  if (snapshot !== undefined) writeFileSync(path.join(base, folderName, SNAPSHOT_FILE), snapshot);
}

/** UTC yyyymmddhhmmss like Prisma's, kept after the latest existing migration so the order holds. */
function nextTimestamp(latestName) {
  const format = (date) => date.toISOString().replace(/\D/g, "").slice(0, 14);
  let date = new Date();
  const latest = latestName?.slice(0, 14);
  if (latest && /^\d{14}$/.test(latest) && format(date) <= latest) {
    const [y, mo, d, h, mi, s] = latest.match(/^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/).slice(1).map(Number);
    date = new Date(Date.UTC(y, mo - 1, d, h, mi, s + 1));
  }
  return format(date);
}

// ---------------------------------------------------------------------------

function difference(a, b) {
  const other = new Set(b);
  return a.filter((item) => !other.has(item));
}

/** The message of an error; engine errors lose their Rust span trace ("   0: schema_engine_wasm::..."). */
function errorMessage(error) {
  const message = error instanceof Error ? error.message : String(error);
  return message.split(/\n\s*0: /)[0].trim();
}

function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function parseArgs(args) {
  if (args.length === 1 && args[0] === "--check") return { command: "check" };
  const createIndex = args.findIndex((arg) => arg === "--create" || arg.startsWith("--create="));
  if (createIndex === -1) {
    if (args.length > 0) throw new UsageError(`Unknown argument: ${args[0]}`);
    return { command: "apply" };
  }
  const flag = args[createIndex];
  const name = flag.includes("=") ? flag.slice("--create=".length) : args[createIndex + 1];
  if (!name || name.startsWith("-")) {
    throw new UsageError("Usage: npm run db:migrate:create -- <name>   (e.g. add_user_locale)");
  }
  return { command: "create", name };
}

async function main() {
  let databaseUrl = "";
  try {
    const options = parseArgs(process.argv.slice(2));
    if (options.command === "create") {
      await createMigrations(options.name);
      return;
    }
    if (options.command === "check") {
      await checkMigrations();
      return;
    }
    loadProjectEnv();
    databaseUrl = process.env.DATABASE_URL ?? "";
    await applyMigrations(resolveDatabase());
  } catch (error) {
    console.error(`db:migrate failed: ${scrubSecrets(errorMessage(error), databaseUrl)}`);
    if (process.env.DEBUG && error instanceof Error && error.stack) {
      console.error(scrubSecrets(error.stack, databaseUrl));
    }
    process.exitCode = error instanceof UsageError ? 2 : 1;
  }
}

await main();
