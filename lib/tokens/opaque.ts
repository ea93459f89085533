import "server-only";
import { createHash, randomBytes } from "node:crypto";

/**
 * Opaque tokens: 256 bits from the CSPRNG, base64url (43 characters). The
 * database-session cookie, refresh tokens and one-time links are all of this
 * shape; the database keeps only their SHA-256.
 */
export function newOpaqueToken(): string {
  return randomBytes(32).toString("base64url");
}

const OPAQUE_TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** The one shape check: anything else is refused before it reaches a query. */
export function isOpaqueToken(value: unknown): value is string {
  return typeof value === "string" && OPAQUE_TOKEN.test(value);
}

/** What the database stores instead of a token: SHA-256, base64url. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}
