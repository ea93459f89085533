#!/usr/bin/env node
// Generates both Prisma clients: lib/generated/sqlite and lib/generated/postgresql.
// Runs as `postinstall`, so it must work offline, straight after `npm ci`.
//
// The Prisma CLI insists on locating its native schema-engine binary at
// startup and tries to download it when missing, which fails offline. Client
// generation never runs that engine, so pointing PRISMA_SCHEMA_ENGINE_BINARY at
// any existing file (the Node.js executable) satisfies the check. Migrations use
// the WebAssembly engine instead (scripts/db-migrate.mjs).

import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { POSTGRESQL_SCHEMA, SOURCE_SCHEMA, writePostgresqlSchema } from "./prisma-schemas.mjs";

const projectRoot = fileURLToPath(new URL("..", import.meta.url));
// The CLI runs from prisma/, where it finds no prisma.config.ts: generation
// needs no datasource, and a DATABASE_URL meant for something else (or a broken
// .env) must not make `npm ci` fail.
const cliDirectory = path.join(projectRoot, "prisma");
const prismaCli = createRequire(import.meta.url).resolve("prisma/build/index.js");

const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY || process.execPath,
  // No update check or telemetry request: there may be no network.
  CHECKPOINT_DISABLE: "1",
  PRISMA_HIDE_UPDATE_MESSAGE: "1",
};

/** Runs `prisma generate` for one schema; resolves with its output, rejects with it on failure. */
function generate(schema) {
  return new Promise((resolve, reject) => {
    const schemaFromCli = path.relative(cliDirectory, path.join(projectRoot, schema));
    const child = spawn(process.execPath, [prismaCli, "generate", "--schema", schemaFromCli, "--no-hints"], {
      cwd: cliDirectory,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`prisma generate --schema ${schema} exited with ${code}:\n${output.trim()}`));
    });
  });
}

async function main() {
  const started = performance.now();
  if (writePostgresqlSchema()) console.log(`prisma-generate: updated ${POSTGRESQL_SCHEMA} from ${SOURCE_SCHEMA}.`);

  // The two generations are independent, so they run side by side.
  const results = await Promise.allSettled([generate(SOURCE_SCHEMA), generate(POSTGRESQL_SCHEMA)]);
  const failures = results.filter((result) => result.status === "rejected");
  if (failures.length > 0) {
    for (const failure of failures) console.error(failure.reason.message);
    process.exitCode = 1;
    return;
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`prisma-generate: generated lib/generated/sqlite and lib/generated/postgresql in ${seconds}s.`);
}

try {
  await main();
} catch (error) {
  console.error(`prisma-generate: ${error instanceof Error ? error.message : error}`);
  process.exitCode = 1;
}
