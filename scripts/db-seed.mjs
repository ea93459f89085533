#!/usr/bin/env node
// `npm run db:seed`: creates the demo accounts (prisma/seed.ts).
//
// The seed is TypeScript that imports the app's lib/password.ts and the
// generated Prisma client (TypeScript too), so it runs under tsx. It also needs
// the react-server export condition: lib/password.ts imports "server-only",
// which throws outside React Server Components unless that condition selects
// its empty module. Conditions are fixed when Node starts, hence a child process.

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

import { PROJECT_ROOT, loadProjectEnv } from "../prisma/database.mjs";

// Loaded here, inherited by the child: the seed sees the same DATABASE_URL as the app.
loadProjectEnv();

const seedFile = fileURLToPath(new URL("../prisma/seed.ts", import.meta.url));
const tsxLoader = import.meta.resolve("tsx");

const child = spawn(
  process.execPath,
  ["--conditions=react-server", "--import", tsxLoader, seedFile, ...process.argv.slice(2)],
  { cwd: PROJECT_ROOT, stdio: "inherit", env: process.env },
);

child.on("error", (error) => {
  console.error(`db:seed failed to start: ${error.message}`);
  process.exitCode = 1;
});
child.on("exit", (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
