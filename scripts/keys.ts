/**
 * Signing-key maintenance, on the store the configuration selects: the database
 * when KEYS_ENCRYPTION_KEY is set (DATABASE_URL names it), else KEYS_FILE.
 *   keys.ts init    file: create KEYS_FILE with a fresh Ed25519 key, unless it exists;
 *                   database: fill an empty store, from KEYS_FILE if it exists (imported
 *                   once), else with a fresh key (idempotent either way)
 *   keys.ts rotate [--now]  add a signing key: published at once, signing after the JWKS cache
 *                           lifetime (or at once with --now); older keys keep verifying until
 *                           the last token they signed has expired, then retire. Running
 *                           servers pick it up within seconds, on every instance.
 */
import { existsSync } from "node:fs";
import { db } from "../lib/platform/db";
import { createKeyFileContent, keyFilePath, longestTokenSeconds, readKeyFile, rotateKeys, writeKeyFile } from "../lib/tokens/key-set";
import { initKeyStore, keyStoreEnabled, loadStoredKeySet, rotateStoredKeys } from "../lib/tokens/key-store";

async function initFile(): Promise<void> {
  const path = keyFilePath();
  if (existsSync(path)) {
    const file = readKeyFile(path);
    console.log(`keys: ${path} has ${file.keys.length} key(s); nothing to do`);
    return;
  }
  const content = await createKeyFileContent();
  writeKeyFile(content, path);
  console.log(`keys: created ${path} (kid ${content.keys[0]?.kid})`);
}

async function initDatabase(): Promise<void> {
  const init = await initKeyStore();
  if (init.outcome === "imported") {
    console.log(`keys: imported ${init.kids.length} key(s) from ${init.from} into the database (${init.kids.join(", ")}); the file is no longer read`);
  } else if (init.outcome === "created") {
    console.log(`keys: created the key store in the database (kid ${init.kids[0]})`);
  } else {
    // Opening every key proves KEYS_ENCRYPTION_KEY is the store's, before a server finds out.
    const set = await loadStoredKeySet();
    console.log(`keys: the database holds ${set.keys.length} key(s); nothing to do`);
  }
}

async function rotateFile(): Promise<void> {
  const path = keyFilePath();
  const immediately = process.argv.includes("--now");
  const { file, added } = await rotateKeys(readKeyFile(path), { immediately, longestTokenSeconds: longestTokenSeconds() });
  writeKeyFile(file, path);
  const previous = file.keys.filter((key) => key.kid !== added.kid && key.retiredAt !== null).at(-1);
  console.log(`keys: added ${added.kid}; published now, signs from ${added.activatesAt}`);
  if (previous) console.log(`keys: previous key ${previous.kid} keeps verifying until ${previous.retiredAt}`);
}

async function rotateDatabase(): Promise<void> {
  const { added, retiring } = await rotateStoredKeys({ immediately: process.argv.includes("--now") });
  console.log(`keys: added ${added.kid}; published now, signs from ${added.activatesAt} (database key store: every instance within seconds)`);
  for (const key of retiring) console.log(`keys: previous key ${key.kid} keeps verifying until ${key.retiredAt}`);
}

const command = process.argv[2];
const database = keyStoreEnabled();
const run = command === "init" ? (database ? initDatabase : initFile) : command === "rotate" ? (database ? rotateDatabase : rotateFile) : undefined;
if (!run) {
  console.error("usage: keys.ts init|rotate [--now]");
  process.exit(2);
}
run()
  .then(() => (database ? db().$disconnect() : undefined))
  .catch((error: unknown) => {
    console.error(`keys: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
