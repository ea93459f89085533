import "server-only";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import Database, { type Statement } from "better-sqlite3";
import { PrismaClient as SqliteClient } from "../generated/sqlite/client";
import { PrismaClient as PostgresClient } from "../generated/postgresql/client";
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
// Prisma Client spends a few hundred microseconds per query on its own
// machinery; the per-request session lookup cannot afford that. The few
// statements on that path go to the driver directly: on SQLite a cached
// prepared statement of better-sqlite3 (the driver Prisma's adapter wraps),
// on PostgreSQL Prisma's pg driver adapter. Everything else uses db().

export type Row = Record<string, unknown>;
type RawRunner = (text: string, args: string[]) => Promise<Row[]>;

function sqliteRunner(): RawRunner {
  const connection = new Database(env.DATABASE_URL.replace(/^file:/, ""), { timeout: 5000 });
  // Readers never wait for the writer (and vice versa) with a write-ahead log.
  connection.pragma("journal_mode = WAL");
  const statements = new Map<string, Statement<string[], Row>>();
  return async (text, args) => {
    let statement = statements.get(text);
    if (!statement) {
      statement = connection.prepare<string[], Row>(text.replace(/\$\d+/g, "?"));
      statements.set(text, statement);
    }
    return statement.all(...args);
  };
}

function postgresRunner(): RawRunner {
  // The pool reconnects by itself once the server is back; only a failed first
  // connect has to be forgotten so the next request tries again.
  let pending: ReturnType<PrismaPg["connect"]> | undefined;
  const connect = () => {
    const attempt = (pending ??= new PrismaPg({ connectionString: env.DATABASE_URL, max: 5 }).connect());
    attempt.catch(() => {
      if (pending === attempt) pending = undefined;
    });
    return attempt;
  };
  return async (text, args) => {
    const adapter = await connect();
    const result = await adapter.queryRaw({
      sql: text,
      args,
      argTypes: args.map(() => ({ scalarType: "string", arity: "scalar" })),
    });
    return result.rows.map((row) => Object.fromEntries(result.columnNames.map((name, index) => [name, row[index]])));
  };
}

const rawKey = Symbol.for("session-or-token.sql");
const countKey = Symbol.for("session-or-token.sql-count");
type GlobalWithSql = typeof globalThis & { [rawKey]?: RawRunner; [countKey]?: number };

/** How many hot-path reads (queryRows) this process has run: what "no read per request" is checked against. */
export function hotPathReads(): number {
  return (globalThis as GlobalWithSql)[countKey] ?? 0;
}

/**
 * Runs one parameterised SELECT written with PostgreSQL placeholders ($1, $2 …,
 * each used once and in order) on either database. Values are bound, never
 * spliced into the text.
 */
export function queryRows(text: string, args: string[]): Promise<Row[]> {
  const holder = globalThis as GlobalWithSql;
  holder[countKey] = (holder[countKey] ?? 0) + 1;
  return rawRunner()(text, args);
}

function rawRunner(): RawRunner {
  const holder = globalThis as GlobalWithSql;
  holder[rawKey] ??= databaseKind === "sqlite" ? sqliteRunner() : postgresRunner();
  return holder[rawKey];
}

/**
 * One trivial statement on the hot path's connection: resolves if the
 * database answers, throws if it does not. Not counted as a hot-path read (it
 * reads no session).
 */
export async function pingDatabase(): Promise<void> {
  await rawRunner()("SELECT 1", []);
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

/** A unique constraint refused the write (Prisma's P2002). */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === "object" && error !== null && "code" in error && error.code === "P2002";
}

/** Row ids are cuids; anything else is refused before it reaches a query. */
export function isPlausibleId(value: unknown): value is string {
  return typeof value === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(value);
}
