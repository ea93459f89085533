/**
 * Imported first by every test file: points the app at a fresh SQLite file and
 * a fresh key file in a temp dir, migrated and created by the project's own
 * scripts (the same ones `npm start` runs), before any app module reads env.
 *
 * TEST_ENV_TEMPLATE_DIR (set by scripts/test.mjs, step "unit"): a directory in
 * which those same scripts already migrated a test.db and created a keys.json,
 * once for the whole run. Each file then starts from a copy of them, which is
 * what the scripts would have produced, instead of spending a migration and a
 * key generation of its own. A file whose keys live in the database
 * (KEYS_ENCRYPTION_KEY, tests/support/key-store-mode.ts) copies only the
 * migrated database and still creates its key store with `keys:init`.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "sot-test-"));
const DATABASE_FILE = "test.db";
const KEYS_FILE = "keys.json";

process.env.DATABASE_URL = `file:${join(dir, DATABASE_FILE)}`;
process.env.KEYS_FILE = join(dir, KEYS_FILE);
process.env.LOG_LEVEL = "silent";

function run(args: string[]): void {
  const result = spawnSync(process.execPath, args, { cwd: root, env: process.env, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
}

const template = process.env.TEST_ENV_TEMPLATE_DIR;
const keysInDatabase = Boolean(process.env.KEYS_ENCRYPTION_KEY);
const fromTemplate = Boolean(template) && existsSync(join(template!, DATABASE_FILE)) && existsSync(join(template!, KEYS_FILE));

if (fromTemplate) {
  copyFileSync(join(template!, DATABASE_FILE), join(dir, DATABASE_FILE));
  if (!keysInDatabase) copyFileSync(join(template!, KEYS_FILE), join(dir, KEYS_FILE));
} else {
  run(["scripts/db-migrate.mjs"]);
}
if (!fromTemplate || keysInDatabase) run([join(root, "node_modules/tsx/dist/cli.mjs"), "--conditions=react-server", "scripts/keys.ts", "init"]);

process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

export const testDir = dir;
