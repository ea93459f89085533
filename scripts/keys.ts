/**
 * Signing-key file maintenance.
 *   keys.ts init    create KEYS_FILE with a fresh Ed25519 key, unless it exists (idempotent)
 *   keys.ts rotate [--now]  add a signing key: published at once, signing after the JWKS cache
 *                           lifetime (or at once with --now); older keys keep verifying until
 *                           the last token they signed has expired, then retire
 */
import { existsSync } from "node:fs";
import { env } from "../lib/platform/env";
import { createKeyFileContent, keyFilePath, readKeyFile, rotateKeys, writeKeyFile } from "../lib/tokens/keys";

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
  const immediately = process.argv.includes("--now");
  const longestTokenSeconds = Math.max(env.JWT_TTL_SECONDS, env.ACCESS_TOKEN_TTL_SECONDS);
  const { file, added } = await rotateKeys(readKeyFile(path), { immediately, longestTokenSeconds });
  writeKeyFile(file, path);
  const previous = file.keys.filter((key) => key.kid !== added.kid && key.retiredAt !== null).at(-1);
  console.log(`keys: added ${added.kid}; published now, signs from ${added.activatesAt}`);
  if (previous) console.log(`keys: previous key ${previous.kid} keeps verifying until ${previous.retiredAt}`);
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
