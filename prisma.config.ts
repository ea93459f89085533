// Prisma CLI configuration. DATABASE_URL picks the provider: a postgres(ql)://
// URL selects the PostgreSQL schema and migrations, anything else the SQLite
// ones, so `prisma migrate deploy` / `prisma migrate status` work for both
// (where the CLI can get its schema-engine binary; `npm run db:migrate` does
// the same without it).
import { defineConfig } from "prisma/config";

import { loadProjectEnv, resolveDatabase } from "./prisma/database.mjs";

// The CLI does not read .env files itself; load them the way Next.js does.
loadProjectEnv();
const database = resolveDatabase();

export default defineConfig({
  schema: database.schemaPath,
  migrations: {
    path: database.migrationsPath,
    seed: "node scripts/db-seed.mjs",
  },
  datasource: {
    // For SQLite an absolute file: URL, so the CLI and the app open the same file
    // whatever directory a relative path would otherwise be resolved against.
    url: database.url,
  },
});
