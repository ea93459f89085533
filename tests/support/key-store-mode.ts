// Imported before test-env (imports run in order): this test file's server keeps
// its signing keys in the database, sealed under a fresh key (lib/tokens/key-store.ts).
import { randomBytes } from "node:crypto";

process.env.KEYS_ENCRYPTION_KEY = randomBytes(32).toString("base64url");
