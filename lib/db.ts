import "server-only";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import type { SqlDriverAdapter } from "@prisma/driver-adapter-utils";
import { PrismaClient as SqliteClient } from "./generated/sqlite/client";
import { PrismaClient as PostgresClient } from "./generated/postgresql/client";
import { databaseKind, env } from "./env";

/**
 * Both generated clients come from the same models (prisma/schema.prisma), so
 * their query API is identical; the SQLite one serves as the common type.
 */
export type Db = SqliteClient;

function adapterFactory(poolSize: number) {
  return databaseKind === "postgresql"
    ? new PrismaPg({ connectionString: env.DATABASE_URL, max: poolSize })
    : new PrismaBetterSqlite3({ url: env.DATABASE_URL, timeout: 5000 });
}

function createClient(): Db {
  const adapter = adapterFactory(10);
  return databaseKind === "postgresql"
    ? (new PostgresClient({ adapter }) as unknown as Db)
    : new SqliteClient({ adapter: adapter as PrismaBetterSqlite3 });
}

// One client per process. The proxy and the route handlers are bundled
// separately but run in the same Node.js process, so the instance lives on
// globalThis rather than in module scope.
const globalKey = Symbol.for("session-or-token.db");
type GlobalWithDb = typeof globalThis & { [globalKey]?: Db };

export function db(): Db {
  const holder = globalThis as GlobalWithDb;
  holder[globalKey] ??= createClient();
  return holder[globalKey];
}

// ---- the hot path ----
//
// Prisma Client spends most of a millisecond per query on its own machinery;
// the per-request session lookup cannot afford that. For the few statements on
// that path we talk to the same driver adapter Prisma uses, directly: one
// prepared SQL statement, tens of microseconds. Everything else uses db().

const rawKey = Symbol.for("session-or-token.sql");
type GlobalWithSql = typeof globalThis & { [rawKey]?: Promise<SqlDriverAdapter> };

async function connectRaw(): Promise<SqlDriverAdapter> {
  const adapter = await adapterFactory(5).connect();
  // Readers never wait for the writer (and vice versa) with a write-ahead log.
  if (databaseKind === "sqlite") await adapter.executeScript("PRAGMA journal_mode = WAL");
  return adapter;
}

function rawConnection(): Promise<SqlDriverAdapter> {
  const holder = globalThis as GlobalWithSql;
  const pending = (holder[rawKey] ??= connectRaw());
  pending.catch(() => {
    if (holder[rawKey] === pending) delete holder[rawKey];
  });
  return pending;
}

export type Row = Record<string, unknown>;

/**
 * Runs one parameterised SELECT written with PostgreSQL placeholders ($1, $2 …,
 * each used once and in order) on either database. Values are bound, never
 * spliced into the text.
 */
export async function queryRows(text: string, args: string[]): Promise<Row[]> {
  const adapter = await rawConnection();
  const result = await adapter.queryRaw({
    sql: databaseKind === "sqlite" ? text.replace(/\$\d+/g, "?") : text,
    args,
    argTypes: args.map(() => ({ scalarType: "string", arity: "scalar" })),
  });
  return result.rows.map((row) => Object.fromEntries(result.columnNames.map((name, index) => [name, row[index]])));
}

/** A DateTime column as the driver returns it (ISO text; PostgreSQL's has no zone and is UTC). */
export function parseDbDate(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value !== "string") throw new TypeError("expected a date column");
  const zoned = /(Z|[+-]\d\d:?\d\d)$/.test(value) ? value : `${value.replace(" ", "T")}Z`;
  const date = new Date(zoned);
  if (Number.isNaN(date.getTime())) throw new TypeError("unparseable date column");
  return date;
}
