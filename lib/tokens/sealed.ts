import "server-only";
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/**
 * Two primitives every secret-at-rest and every keyed value here uses:
 * - `purposeKey`: a 32-byte key for one purpose, derived (HKDF-SHA-256) from a
 *   secret, so one secret never keys two different things directly;
 * - `seal`/`open`: AES-256-GCM with a fresh 96-bit IV and associated data that
 *   binds the ciphertext to where it is stored, "v1.<iv>.<ciphertext>.<tag>" in
 *   base64url.
 */

const SEALED_FORMAT = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function purposeKey(secret: string | Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", secret, "", purpose, 32));
}

export function seal(plaintext: string, context: string, key: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(context, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return [SEALED_FORMAT, iv.toString("base64url"), ciphertext.toString("base64url"), cipher.getAuthTag().toString("base64url")].join(".");
}

/** What seal() wrote, opened; or why not: not in the format, or it does not authenticate (another key, or altered). */
export type Opened = { ok: true; plaintext: string } | { ok: false; reason: "format" | "authentication" };

export function open(sealed: string, context: string, key: Buffer): Opened {
  const parts = sealed.split(".");
  const [format, iv, ciphertext, tag] = parts.map((part, index) => (index === 0 ? part : Buffer.from(part, "base64url")));
  if (parts.length !== 4 || format !== SEALED_FORMAT || !(iv instanceof Buffer) || !(tag instanceof Buffer) || !(ciphertext instanceof Buffer) || iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
    return { ok: false, reason: "format" };
  }
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(tag);
    return { ok: true, plaintext: Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString("utf8") };
  } catch {
    // GCM says only "does not authenticate": a different key and an altered value look the same.
    return { ok: false, reason: "authentication" };
  }
}
