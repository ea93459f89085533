// Everything a server needs before it starts, idempotent and quick when already done:
// migrate the database, seed the demo users, create the signing keys if missing.
// `npm start` runs it; so do the tests, against their own fresh database.
import { spawnSync } from "node:child_process";

const steps = [
  ["node", ["scripts/db-migrate.mjs"]],
  ["node", ["scripts/db-seed.mjs"]],
  [process.execPath, ["node_modules/tsx/dist/cli.mjs", "--conditions=react-server", "scripts/keys.ts", "init"]],
];

for (const [command, args] of steps) {
  const result = spawnSync(command, args, { stdio: "inherit", env: process.env });
  if (result.status !== 0) {
    console.error(`setup: step failed: ${[command, ...args].join(" ")}`);
    process.exit(result.status ?? 1);
  }
}
