/**
 * Signing-key file maintenance.
 *   keys.ts init    create KEYS_FILE with a fresh Ed25519 key, unless it exists (idempotent)
 *   keys.ts rotate  add a new signing key; older keys keep verifying until their tokens have expired
 */
import { existsSync } from "node:fs";
import { env } from "../lib/env";
import { createKeyFileContent, keyFilePath, newSigningKey, readKeyFile, writeKeyFile } from "../lib/keys";

async function init(): Promise<void> {
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

async function rotate(): Promise<void> {
  const path = keyFilePath();
  const file = readKeyFile(path);
  const now = new Date();
  // Tokens signed by the old key live at most JWT_TTL_SECONDS; keep it that long (plus a minute of clock skew).
  const retireAt = new Date(now.getTime() + (env.JWT_TTL_SECONDS + 60) * 1000).toISOString();
  const keys = file.keys.map((key) => (key.retiredAt === null ? { ...key, retiredAt: retireAt } : key));
  const fresh = await newSigningKey(now);
  writeKeyFile({ ...file, keys: [...keys, fresh] }, path);
  console.log(`keys: new signing key ${fresh.kid}; previous keys verify until ${retireAt}`);
}

const command = process.argv[2];
const run = command === "init" ? init : command === "rotate" ? rotate : undefined;
if (!run) {
  console.error("usage: keys.ts init|rotate");
  process.exit(2);
}
run().catch((error: unknown) => {
  console.error(`keys: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
