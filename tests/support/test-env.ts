/**
 * Imported first by every test file: points the app at a fresh SQLite file and
 * a fresh key file in a temp dir, migrated and created by the project's own
 * scripts (the same ones `npm start` runs), before any app module reads env.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "sot-test-"));

process.env.DATABASE_URL = `file:${join(dir, "test.db")}`;
process.env.KEYS_FILE = join(dir, "keys.json");
process.env.LOG_LEVEL = "silent";

function run(args: string[]): void {
  const result = spawnSync(process.execPath, args, { cwd: root, env: process.env, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
}

run(["scripts/db-migrate.mjs"]);
run([join(root, "node_modules/tsx/dist/cli.mjs"), "--conditions=react-server", "scripts/keys.ts", "init"]);

process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

export const testDir = dir;
