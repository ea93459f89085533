import "server-only";
import { existsSync } from "node:fs";
import { db, isUniqueViolation } from "../platform/db";
import { env } from "../platform/env";
import { ConfigurationError } from "../platform/errors";
import { open, seal } from "./sealed";
import {
  createKeyFileContent,
  keyFilePath,
  longestTokenSeconds,
  parseKeySet,
  readKeyFile,
  rotateKeys,
  type KeyFileContent,
  type StoredSigningKey,
} from "./key-set";

/**
 * The key set in the database (tables SigningKey and ServerSecret), used when
 * KEYS_ENCRYPTION_KEY is set: instances on different machines share no disk,
 * but they share the database. Public JWKs are stored plain (they are public);
 * private JWKs and the Auth.js secret are sealed with AES-256-GCM under
 * KEYS_ENCRYPTION_KEY, so a copy of the database (a backup, a read replica, a
 * leaked dump) does not hold a usable signing key without the environment.
 */
export const KEY_STORE_WHERE = "the database (table SigningKey)";

const AUTH_SECRET_NAME = "auth";

export function keyStoreEnabled(): boolean {
  return env.KEYS_ENCRYPTION_KEY !== undefined;
}

/** Options for tests and tools that must act with another key than the environment's. */
export interface KeyStoreOptions {
  /** base64url, 32 bytes; default KEYS_ENCRYPTION_KEY. */
  encryptionKey?: string;
}

function encryptionKey(options: KeyStoreOptions): Buffer {
  const text = options.encryptionKey ?? env.KEYS_ENCRYPTION_KEY;
  if (text === undefined) throw new ConfigurationError("KEYS_ENCRYPTION_KEY is not set: the database key store needs it.");
  const key = Buffer.from(text, "base64url");
  if (key.length !== 32) throw new ConfigurationError("KEYS_ENCRYPTION_KEY must be 32 bytes, base64url.");
  return key;
}

// The associated data binds a ciphertext to its row: a sealed private key copied
// onto another kid (or a secret onto another name) no longer opens, so rows
// cannot be swapped to make one key sign under another's id.
const signingKeyContext = (kid: string) => `session-or-token signing-key ${kid}`;
const secretContext = (name: string) => `session-or-token server-secret ${name}`;

/** Opens a sealed row, or throws a ConfigurationError naming `what` (never the value). */
function openRow(sealed: string, context: string, key: Buffer, what: string): string {
  const opened = open(sealed, context, key);
  if (opened.ok) return opened.plaintext;
  if (opened.reason === "format") throw new ConfigurationError(`${what} in the database is not in the sealed format (v1.<iv>.<ciphertext>.<tag>).`);
  throw new ConfigurationError(
    `KEYS_ENCRYPTION_KEY does not open ${what} in the database: the key is not the one the store was sealed with, or the stored value was altered.`,
  );
}

function rowOf(key: StoredSigningKey, sealKey: Buffer) {
  return {
    kid: key.kid,
    alg: key.alg,
    createdAt: new Date(key.createdAt),
    activatesAt: new Date(key.activatesAt ?? key.createdAt),
    retiredAt: key.retiredAt === null ? null : new Date(key.retiredAt),
    publicJwk: JSON.stringify(key.publicJwk),
    sealedPrivateJwk: seal(JSON.stringify(key.privateJwk), signingKeyContext(key.kid), sealKey),
  };
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigurationError(`${what} in the database is not valid JSON.`);
  }
}

/** A database failure (unreachable, not migrated) as a start-up message: the code, never a connection string. */
function unavailable(error: unknown): ConfigurationError {
  if (error instanceof ConfigurationError) return error;
  const code = typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : undefined;
  const name = error instanceof Error ? error.name : "error";
  return new ConfigurationError(
    `Cannot read the signing keys from the database (${code ?? name}). Is it reachable, and migrated (\`npm run db:migrate\`)?`,
  );
}

/**
 * Reads and opens the whole key set. Every private key is opened here, at
 * load: a wrong KEYS_ENCRYPTION_KEY or an altered row is refused as a whole,
 * at start-up, never as a failure on some later request.
 */
export async function loadStoredKeySet(options: KeyStoreOptions = {}): Promise<KeyFileContent> {
  const key = encryptionKey(options);
  let secret: { sealed: string } | null;
  let rows: Awaited<ReturnType<typeof readRows>>;
  try {
    [secret, rows] = await Promise.all([db().serverSecret.findUnique({ where: { name: AUTH_SECRET_NAME }, select: { sealed: true } }), readRows()]);
  } catch (error) {
    throw unavailable(error);
  }
  if (!secret) throw new ConfigurationError("The key store in the database is empty. Run `npm run keys:init` (npm start does it for you).");
  if (rows.length === 0) throw new ConfigurationError(`${KEY_STORE_WHERE} holds no signing key. Run \`npm run keys:rotate -- --now\`.`);
  const authSecret = openRow(secret.sealed, secretContext(AUTH_SECRET_NAME), key, "the Auth.js secret");
  const keys = rows.map((row) => {
    const what = `signing key ${row.kid}`;
    const privateJwk = parseJson(openRow(row.sealedPrivateJwk, signingKeyContext(row.kid), key, what), what);
    const publicJwk = parseJson(row.publicJwk, `the public half of ${what}`);
    // The public half is stored in the clear and so not covered by the seal: it must be the private key's own.
    const privateX = typeof privateJwk === "object" && privateJwk !== null && "x" in privateJwk ? privateJwk.x : undefined;
    const publicX = typeof publicJwk === "object" && publicJwk !== null && "x" in publicJwk ? publicJwk.x : undefined;
    if (privateX === undefined || privateX !== publicX) throw new ConfigurationError(`The public half of ${what} in the database does not match its private half.`);
    return {
      kid: row.kid,
      alg: row.alg,
      createdAt: row.createdAt.toISOString(),
      activatesAt: row.activatesAt.toISOString(),
      retiredAt: row.retiredAt?.toISOString() ?? null,
      privateJwk,
      publicJwk,
    };
  });
  return parseKeySet({ version: 1, authSecret, keys }, KEY_STORE_WHERE);
}

function readRows() {
  return db().signingKey.findMany({ orderBy: { activatesAt: "asc" } });
}

/**
 * A short text that changes whenever the key set does (a key added, retired or
 * removed): one small read of the key table without the sealed columns, cheap
 * enough for every instance to run every few seconds.
 */
export async function storedKeySetVersion(): Promise<string> {
  const rows = await db().signingKey.findMany({ select: { kid: true, activatesAt: true, retiredAt: true }, orderBy: { kid: "asc" } });
  return rows.map((row) => `${row.kid}:${row.activatesAt.getTime()}:${row.retiredAt?.getTime() ?? "-"}`).join(",");
}

export type KeyStoreInit =
  | { outcome: "existing" }
  | { outcome: "imported"; from: string; kids: string[] }
  | { outcome: "created"; kids: string[] };

/**
 * Fills an empty store, once: from the key file when there is one (the path
 * from one machine to many keeps its keys, so tokens already out still
 * verify), else with a fresh key and secret. Safe when several instances start
 * at once: the secret's row has a fixed primary key, so exactly one
 * transaction inserts it; the others find the store filled.
 */
export async function initKeyStore(options: KeyStoreOptions & { importFrom?: string } = {}): Promise<KeyStoreInit> {
  const key = encryptionKey(options);
  try {
    if (await db().serverSecret.findUnique({ where: { name: AUTH_SECRET_NAME }, select: { name: true } })) return { outcome: "existing" };
  } catch (error) {
    throw unavailable(error);
  }
  const from = options.importFrom ?? keyFilePath();
  const imported = existsSync(/*turbopackIgnore: true*/ from);
  const content = imported ? readKeyFile(from) : await createKeyFileContent();
  try {
    await db().$transaction([
      db().serverSecret.create({ data: { name: AUTH_SECRET_NAME, sealed: seal(content.authSecret, secretContext(AUTH_SECRET_NAME), key) } }),
      ...content.keys.map((stored) => db().signingKey.create({ data: rowOf(stored, key) })),
    ]);
  } catch (error) {
    if (isUniqueViolation(error)) return { outcome: "existing" };
    throw unavailable(error);
  }
  const kids = content.keys.map((stored) => stored.kid);
  return imported ? { outcome: "imported", from, kids } : { outcome: "created", kids };
}

/**
 * `npm run keys:rotate` on the database store: the same rule as for the file
 * (published now, signs after the JWKS cache lifetime, the previous key retires
 * once its last token has expired). The whole set is opened first, so a wrong
 * KEYS_ENCRYPTION_KEY is refused before anything is written: a key sealed
 * under it would be unreadable for every instance. Keys past their retirement
 * are deleted.
 */
export async function rotateStoredKeys(options: KeyStoreOptions & { now?: Date; immediately?: boolean } = {}): Promise<{
  added: StoredSigningKey;
  retiring: { kid: string; retiredAt: string }[];
}> {
  const key = encryptionKey(options);
  const now = options.now ?? new Date();
  const current = await loadStoredKeySet(options);
  const { file, added } = await rotateKeys(current, { now, immediately: options.immediately, longestTokenSeconds: longestTokenSeconds() });
  const signing = new Set(current.keys.filter((stored) => stored.retiredAt === null).map((stored) => stored.kid));
  const retiring = file.keys.flatMap((stored) => (signing.has(stored.kid) && stored.retiredAt !== null ? [{ kid: stored.kid, retiredAt: stored.retiredAt }] : []));
  const retireAt = retiring[0]?.retiredAt;
  await db().$transaction([
    // Every key still without an end, including one another rotation added meanwhile: only the newest signs on.
    ...(retireAt ? [db().signingKey.updateMany({ where: { retiredAt: null }, data: { retiredAt: new Date(retireAt) } })] : []),
    db().signingKey.create({ data: rowOf(added, key) }),
    db().signingKey.deleteMany({ where: { retiredAt: { lt: now } } }),
  ]);
  return { added, retiring };
}
