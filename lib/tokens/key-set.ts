import "server-only";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import { z } from "zod";
import { env } from "../platform/env";
import { ConfigurationError } from "../platform/errors";

/**
 * The key set — the JWT signing keys and the Auth.js secret — as data: its
 * shape, new keys, rotation, and the JSON file (KEYS_FILE) that holds it on one
 * machine. Where it is kept (the file, or the database: key-store.ts) and how
 * a running server loads it (keys.ts) are separate, so both stores share the
 * same rules.
 */
export const SIGNING_ALG = "EdDSA";

const Base64Url = z.string().regex(/^[A-Za-z0-9_-]+$/);
export const PublicJwk = z.object({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: Base64Url });
export const PrivateJwk = PublicJwk.extend({ d: Base64Url });

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

/** Checks a key set read from elsewhere (the database) against the same rules as the file. */
export function parseKeySet(value: unknown, where: string): KeyFileContent {
  const parsed = KeyFile.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new ConfigurationError(`Signing keys in ${where} are invalid (${problems}).`);
  }
  return parsed.data;
}

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

/** The longest-lived token any key signs: a retiring key verifies at least this long after its successor takes over. */
export function longestTokenSeconds(): number {
  return Math.max(env.JWT_TTL_SECONDS, env.ACCESS_TOKEN_TTL_SECONDS);
}

export async function createKeyFileContent(): Promise<KeyFileContent> {
  return { version: 1, authSecret: randomBytes(32).toString("base64url"), keys: [await newSigningKey()] };
}
