import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";

export type DatabaseProvider = "sqlite" | "postgresql";

export interface ProviderPaths {
  /** Prisma schema file, relative to the project root. */
  schemaPath: string;
  /** Prisma migrations folder, relative to the project root. */
  migrationsPath: string;
}

interface DatabaseBase extends ProviderPaths {
  /** Connection string for a driver adapter (SQLite: `file:` + absolute path). */
  url: string;
  /** Printable description, never containing a password. */
  displayName: string;
}

export interface SqliteDatabase extends DatabaseBase {
  provider: "sqlite";
  /** Absolute path of the database file. */
  filePath: string;
}

export interface PostgresqlDatabase extends DatabaseBase {
  provider: "postgresql";
}

export type Database = SqliteDatabase | PostgresqlDatabase;

export declare const PROJECT_ROOT: string;
export declare const DEFAULT_DATABASE_URL: string;
export declare function providerPaths(provider: DatabaseProvider): ProviderPaths;
export declare function loadProjectEnv(): void;
export declare function resolveDatabase(env?: NodeJS.ProcessEnv): Database;
export declare function ensureSqliteDirectory(database: Database): void;
export declare function createAdapterFactory(database: Database): Promise<SqlMigrationAwareDriverAdapterFactory>;
export declare function redactDatabaseUrl(url: string): string;
export declare function scrubSecrets(message: unknown, url: string): string;
