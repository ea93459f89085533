import "server-only";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { z } from "zod";
import { env } from "../platform/env";
import { ConfigurationError } from "../platform/errors";

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
  /**
   * When the key starts signing. Published in the JWKS from creation, so
   * verifiers that cache the JWKS know it before the first token it signs.
   */
  activatesAt: z.iso.datetime().optional(),
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
  /** The key that signs at `now`: the newest one already active. */
  signingKey(now?: Date): LoadedKey;
  /** Every key that still verifies (and is published), by kid. */
  byKid: ReadonlyMap<string, LoadedKey>;
  /** When the next key retires: the ring must be rebuilt then. */
  reloadAt: number;
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

function activation(key: StoredSigningKey): number {
  return new Date(key.activatesAt ?? key.createdAt).getTime();
}

async function loadKeyRing(): Promise<KeyRing> {
  const file = readKeyFile();
  const usable = file.keys.filter((key) => isUsable(key, new Date()));
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
  const byKid = new Map(loaded.map((key) => [key.kid, key]));
  // Newest activation first.
  const bySigningOrder = [...usable].sort((a, b) => activation(b) - activation(a));
  if (!bySigningOrder.some((key) => activation(key) <= Date.now())) {
    throw new ConfigurationError(`Signing key file ${keyFilePath()} has no active key. Run \`npm run keys:rotate -- --now\`.`);
  }
  const retirements = usable.flatMap((key) => (key.retiredAt ? [new Date(key.retiredAt).getTime()] : []));
  return {
    authSecret: env.AUTH_SECRET ?? file.authSecret,
    byKid,
    reloadAt: Math.min(Infinity, ...retirements),
    signingKey(now = new Date()) {
      const stored = bySigningOrder.find((key) => activation(key) <= now.getTime() && isUsable(key, now)) ?? bySigningOrder.at(-1);
      const key = stored && byKid.get(stored.kid);
      if (!key) throw new ConfigurationError("no signing key");
      return key;
    },
  };
}

// The ring is loaded once per process (shared by the proxy and the app
// bundles) and reloaded when the file changes, checked at most every few
// seconds: `npm run keys:rotate` reaches running servers without a restart.
const RELOAD_CHECK_MS = 5000;
interface LoadedRing {
  ring: Promise<KeyRing>;
  fileVersion: number;
  checkedAt: number;
  reloadAt: number;
}
const globalKey = Symbol.for("session-or-token.keyring");
type GlobalWithKeys = typeof globalThis & { [globalKey]?: LoadedRing };

function fileVersion(): number {
  try {
    return statSync(/*turbopackIgnore: true*/ keyFilePath()).mtimeMs;
  } catch {
    return -1;
  }
}

export function keyRing(): Promise<KeyRing> {
  const holder = globalThis as GlobalWithKeys;
  const now = Date.now();
  const current = holder[globalKey];
  const due = current !== undefined && now >= current.reloadAt;
  if (current && !due && now - current.checkedAt < RELOAD_CHECK_MS) return current.ring;
  const version = fileVersion();
  if (current && !due && current.fileVersion === version) {
    current.checkedAt = now;
    return current.ring;
  }
  const ring = loadKeyRing();
  const entry: LoadedRing = { ring, fileVersion: version, checkedAt: now, reloadAt: Infinity };
  holder[globalKey] = entry;
  ring.then((loaded) => {
    entry.reloadAt = loaded.reloadAt;
  }, () => {});
  // A failed load is not kept: a fixed file is picked up on the next call.
  ring.catch(() => {
    if (holder[globalKey] === entry) delete holder[globalKey];
  });
  return ring;
}

/** Forgets the loaded ring, as a restart would. */
export function forgetKeyRing(): void {
  delete (globalThis as GlobalWithKeys)[globalKey];
}

export async function publicJwks(): Promise<{ keys: LoadedKey["publicJwk"][] }> {
  const ring = await keyRing();
  return { keys: [...ring.byKid.values()].map((key) => key.publicJwk) };
}

// ---- writing the file (scripts only) ----

/**
 * Length of a new key's `kid`: the first characters of its RFC 7638 thumbprint
 * (base64url SHA-256, 60 bits here). Every token names its key, so a full
 * 43-character thumbprint would cost 33 bytes in every cookie; the kid only has
 * to tell this server's few keys apart (a clash with a key in the file is
 * re-rolled). Key files with longer kids, from before, still load.
 */
export const KID_LENGTH = 10;

export async function newSigningKey(now = new Date(), activatesAt = now, takenKids: ReadonlySet<string> = new Set()): Promise<StoredSigningKey> {
  for (;;) {
    const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALG, { crv: "Ed25519", extractable: true });
    const publicJwk = PublicJwk.parse(await exportJWK(publicKey));
    const privateJwk = PrivateJwk.parse(await exportJWK(privateKey));
    const kid = (await calculateJwkThumbprint(publicJwk)).slice(0, KID_LENGTH);
    if (takenKids.has(kid)) continue;
    return { kid, alg: SIGNING_ALG, createdAt: now.toISOString(), activatesAt: activatesAt.toISOString(), retiredAt: null, privateJwk, publicJwk };
  }
}

export function writeKeyFile(content: KeyFileContent, path = keyFilePath()): void {
  KeyFile.parse(content);
  mkdirSync(/*turbopackIgnore: true*/ dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  // Private keys: owner-only, and replaced atomically so a reader never sees half a file.
  writeFileSync(/*turbopackIgnore: true*/ temporary, JSON.stringify(content, null, 2) + "\n", { mode: 0o600 });
  renameSync(/*turbopackIgnore: true*/ temporary, path);
}

/**
 * Adds a signing key. It is published at once and signs from `activatesAt`
 * (default: after verifiers' JWKS caches have expired). Keys signing until then
 * are retired once the last token they may sign has expired.
 */
export async function rotateKeys(file: KeyFileContent, options: { now?: Date; immediately?: boolean; longestTokenSeconds: number }): Promise<{ file: KeyFileContent; added: StoredSigningKey }> {
  const now = options.now ?? new Date();
  const activatesAt = new Date(now.getTime() + (options.immediately ? 0 : env.JWKS_MAX_AGE_SECONDS * 1000));
  const retireAt = new Date(activatesAt.getTime() + (options.longestTokenSeconds + 60) * 1000).toISOString();
  const added = await newSigningKey(now, activatesAt, new Set(file.keys.map((key) => key.kid)));
  const keys = file.keys.map((key) => (key.retiredAt === null ? { ...key, retiredAt: retireAt } : key));
  return { file: { ...file, keys: [...keys, added] }, added };
}

export async function createKeyFileContent(): Promise<KeyFileContent> {
  return { version: 1, authSecret: randomBytes(32).toString("base64url"), keys: [await newSigningKey()] };
}
