import "server-only";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { z } from "zod";
import { env } from "./env";
import { ConfigurationError } from "./errors";

/**
 * The signing keys. They live in a JSON file (KEYS_FILE) so they survive
 * restarts and can be shared by every instance; the app only reads it. The
 * file is written by `npm run keys:init` (part of `npm start`) and
 * `npm run keys:rotate`, never at boot.
 */
export const SIGNING_ALG = "EdDSA";

const Base64Url = z.string().regex(/^[A-Za-z0-9_-]+$/);
const PublicJwk = z.object({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: Base64Url });
const PrivateJwk = PublicJwk.extend({ d: Base64Url });

const StoredKey = z.object({
  kid: z.string().min(8),
  alg: z.literal(SIGNING_ALG),
  createdAt: z.iso.datetime(),
  /** Set when a newer key took over signing; the key still verifies until `retiredAt`. */
  retiredAt: z.iso.datetime().nullable().default(null),
  privateJwk: PrivateJwk,
  publicJwk: PublicJwk,
});

const KeyFile = z.object({
  version: z.literal(1),
  /** Secret for Auth.js's own CSRF token; ≥ 256 bits. */
  authSecret: z.string().min(43),
  keys: z.array(StoredKey).min(1),
});

export type KeyFileContent = z.infer<typeof KeyFile>;
export type StoredSigningKey = z.infer<typeof StoredKey>;

export interface LoadedKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK & { kid: string; alg: string; use: "sig" };
}

export interface KeyRing {
  authSecret: string;
  /** The newest key: signs everything issued now. */
  signing: LoadedKey;
  /** Every key that still verifies, by kid. */
  byKid: ReadonlyMap<string, LoadedKey>;
}

export function keyFilePath(): string {
  return resolve(/*turbopackIgnore: true*/ process.cwd(), env.KEYS_FILE);
}

export function readKeyFile(path = keyFilePath()): KeyFileContent {
  let raw: string;
  try {
    raw = readFileSync(/*turbopackIgnore: true*/ path, "utf8");
  } catch {
    throw new ConfigurationError(`Signing keys not found at ${path}. Run \`npm run keys:init\` (npm start does it for you).`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigurationError(`Signing key file ${path} is not valid JSON.`);
  }
  const parsed = KeyFile.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new ConfigurationError(`Signing key file ${path} is invalid (${problems}).`);
  }
  return parsed.data;
}

function isUsable(key: StoredSigningKey, now: Date): boolean {
  return key.retiredAt === null || new Date(key.retiredAt) > now;
}

async function loadKeyRing(): Promise<KeyRing> {
  const file = readKeyFile();
  const now = new Date();
  const usable = file.keys.filter((key) => isUsable(key, now));
  const loaded = await Promise.all(
    usable.map(async (key): Promise<LoadedKey> => {
      const [privateKey, publicKey] = await Promise.all([
        importJWK(key.privateJwk, SIGNING_ALG),
        importJWK(key.publicJwk, SIGNING_ALG),
      ]);
      if (!(privateKey instanceof CryptoKey) || !(publicKey instanceof CryptoKey)) {
        throw new ConfigurationError(`Signing key ${key.kid} could not be imported.`);
      }
      return { kid: key.kid, privateKey, publicKey, publicJwk: { ...key.publicJwk, kid: key.kid, alg: SIGNING_ALG, use: "sig" } };
    }),
  );
  // The signing key is the newest one not scheduled for retirement.
  const signingStored = usable.filter((key) => key.retiredAt === null).at(-1);
  const signing = loaded.find((key) => key.kid === signingStored?.kid);
  if (!signing) throw new ConfigurationError(`Signing key file ${keyFilePath()} has no active key. Run \`npm run keys:rotate\`.`);
  return {
    authSecret: env.AUTH_SECRET ?? file.authSecret,
    signing,
    byKid: new Map(loaded.map((key) => [key.kid, key])),
  };
}

const globalKey = Symbol.for("session-or-token.keyring");
type GlobalWithKeys = typeof globalThis & { [globalKey]?: Promise<KeyRing> };

/** The key ring, loaded once per process (shared by the proxy and the app bundles). */
export function keyRing(): Promise<KeyRing> {
  const holder = globalThis as GlobalWithKeys;
  const pending = (holder[globalKey] ??= loadKeyRing());
  // A failed load is not cached, so a fixed file is picked up on the next call.
  pending.catch(() => {
    if (holder[globalKey] === pending) delete holder[globalKey];
  });
  return pending;
}

/** The Auth.js secret, read synchronously for its configuration. */
export function authSecret(): string {
  return env.AUTH_SECRET ?? readKeyFile().authSecret;
}

export async function publicJwks(): Promise<{ keys: LoadedKey["publicJwk"][] }> {
  const ring = await keyRing();
  return { keys: [...ring.byKid.values()].map((key) => key.publicJwk) };
}

// ---- writing the file (scripts only) ----

export async function newSigningKey(now = new Date()): Promise<StoredSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALG, { crv: "Ed25519", extractable: true });
  const publicJwk = PublicJwk.parse(await exportJWK(publicKey));
  const privateJwk = PrivateJwk.parse(await exportJWK(privateKey));
  const kid = await calculateJwkThumbprint(publicJwk);
  return { kid, alg: SIGNING_ALG, createdAt: now.toISOString(), retiredAt: null, privateJwk, publicJwk };
}

export function writeKeyFile(content: KeyFileContent, path = keyFilePath()): void {
  KeyFile.parse(content);
  mkdirSync(/*turbopackIgnore: true*/ dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  // Private keys: owner-only, and replaced atomically so a reader never sees half a file.
  writeFileSync(/*turbopackIgnore: true*/ temporary, JSON.stringify(content, null, 2) + "\n", { mode: 0o600 });
  renameSync(/*turbopackIgnore: true*/ temporary, path);
}

export async function createKeyFileContent(): Promise<KeyFileContent> {
  return { version: 1, authSecret: randomBytes(32).toString("base64url"), keys: [await newSigningKey()] };
}
