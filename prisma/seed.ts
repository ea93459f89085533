// Creates the demo accounts. Run through scripts/db-seed.mjs (`npm run db:seed`),
// which loads .env and starts this file with tsx under the react-server
// condition: lib/password.ts imports "server-only", which resolves to an empty
// module only under that condition.
//
// Idempotent: an existing account keeps its password (someone may have changed
// it); only its name and role are put back to the demo values.

import { hashPassword } from "../lib/users/password";
import type { PrismaClient } from "../lib/generated/sqlite/client";
import { createAdapterFactory, resolveDatabase, scrubSecrets, type Database } from "./database.mjs";

interface DemoAccount {
  label: string;
  email: string;
  password: string;
  name: string;
  role: "user" | "admin";
}

const DEMO_ACCOUNTS: readonly DemoAccount[] = [
  { label: "Demo user", email: "demo@example.com", password: "demo-password-123", name: "Demo User", role: "user" },
  { label: "Demo admin", email: "admin@example.com", password: "admin-password-123", name: "Demo Admin", role: "admin" },
];

/**
 * The generated client for the database's provider. Both are generated from
 * the same models, so the SQLite client's type describes either.
 */
async function openClient(database: Database): Promise<PrismaClient> {
  const adapter = await createAdapterFactory(database);
  if (database.provider === "postgresql") {
    const { PrismaClient: PostgresqlClient } = await import("../lib/generated/postgresql/client");
    return new PostgresqlClient({ adapter, errorFormat: "minimal" }) as unknown as PrismaClient;
  }
  const { PrismaClient: SqliteClient } = await import("../lib/generated/sqlite/client");
  return new SqliteClient({ adapter, errorFormat: "minimal" });
}

type Outcome = "created" | "updated" | "unchanged";

async function ensureAccount(prisma: PrismaClient, account: DemoAccount): Promise<Outcome> {
  const existing = await prisma.user.findUnique({
    where: { email: account.email },
    select: { name: true, role: true },
  });

  if (!existing) {
    // Hash only when creating: argon2id is deliberately slow. upsert rather than
    // create, so a concurrent seed (two processes starting at once) cannot fail.
    const passwordHash = await hashPassword(account.password);
    await prisma.user.upsert({
      where: { email: account.email },
      create: { email: account.email, name: account.name, role: account.role, passwordHash },
      update: {},
    });
    return "created";
  }

  if (existing.name === account.name && existing.role === account.role) return "unchanged";
  await prisma.user.update({ where: { email: account.email }, data: { name: account.name, role: account.role } });
  return "updated";
}

async function main(): Promise<void> {
  const database = resolveDatabase();
  const prisma = await openClient(database);
  try {
    const outcomes: string[] = [];
    for (const account of DEMO_ACCOUNTS) {
      outcomes.push(`${account.email} ${await ensureAccount(prisma, account)}`);
    }
    console.log(`db:seed: ${database.provider} ${database.displayName}: ${outcomes.join(", ")}.`);
    for (const account of DEMO_ACCOUNTS) {
      console.log(`  ${`${account.label}:`.padEnd(12)} ${account.email} / ${account.password}`);
    }
  } finally {
    await prisma.$disconnect();
  }
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  const hint = /no such table|does not exist|directory does not exist/i.test(message) ? " (run `npm run db:migrate` first)" : "";
  const text = message.trim().replace(/\n\s*\n+/g, "\n");
  console.error(`db:seed failed: ${scrubSecrets(text, process.env.DATABASE_URL ?? "")}${hint}`);
  process.exitCode = 1;
});
