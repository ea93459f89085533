import "server-only";
import { db } from "../platform/db";
import { nowAndThen } from "../platform/housekeeping";
import { hashToken, isOpaqueToken, newOpaqueToken } from "./opaque";

/**
 * One-time tokens for links sent by mail (ASVS 5.0 V6.4.1): 256 bits from the
 * CSPRNG, stored only as SHA-256, short-lived, and single use — consuming is
 * one conditional UPDATE (unused and unexpired), so of two concurrent uses
 * exactly one succeeds.
 */

export type OneTimePurpose =
  /** Finishes a registration of a new address; the payload holds what the account will be. */
  | "register"
  /** Written when a taken address is registered again: the same work as "register", never consumable. */
  | "register.existing"
  /** Sets a new password for `userId`. */
  | "password_reset"
  /** Written when a reset names an unknown address: the same work as "password_reset", never consumable. */
  | "password_reset.unknown";

export interface OneTimeRecord {
  id: string;
  purpose: string;
  email: string;
  userId: string | null;
  payload: string | null;
  expiresAt: Date;
}

/** Stores a new token's hash and returns the token (which exists nowhere else but in the mail). */
export async function createOneTimeToken(input: {
  purpose: OneTimePurpose;
  email: string;
  userId?: string | null;
  payload?: string | null;
  ttlSeconds: number;
  now?: Date;
}): Promise<string> {
  const now = input.now ?? new Date();
  const token = newOpaqueToken();
  await db().oneTimeToken.create({
    data: {
      tokenHash: hashToken(token),
      purpose: input.purpose,
      email: input.email,
      userId: input.userId ?? null,
      payload: input.payload ?? null,
      expiresAt: new Date(now.getTime() + input.ttlSeconds * 1000),
      createdAt: now,
    },
  });
  purgeNowAndThen(now);
  return token;
}

const selectRecord = { id: true, purpose: true, email: true, userId: true, payload: true, expiresAt: true } as const;

/** The token's record if it is well-formed, of this purpose, unused and unexpired; it stays usable. */
export async function findUsableToken(token: unknown, purpose: OneTimePurpose, now = new Date()): Promise<OneTimeRecord | null> {
  if (!isOpaqueToken(token)) return null;
  return db().oneTimeToken.findFirst({
    where: { tokenHash: hashToken(token), purpose, usedAt: null, expiresAt: { gt: now } },
    select: selectRecord,
  });
}

/**
 * Uses the token up: its record when this call was the one that marked it used,
 * null when it is malformed, unknown, of another purpose, expired or already used.
 */
export async function consumeOneTimeToken(token: unknown, purpose: OneTimePurpose, now = new Date()): Promise<OneTimeRecord | null> {
  if (!isOpaqueToken(token)) return null;
  const tokenHash = hashToken(token);
  const { count } = await db().oneTimeToken.updateMany({
    where: { tokenHash, purpose, usedAt: null, expiresAt: { gt: now } },
    data: { usedAt: now },
  });
  if (count !== 1) return null;
  return db().oneTimeToken.findUnique({ where: { tokenHash }, select: selectRecord });
}

/** Marks every other unused token of this purpose for the user as used (after a reset, older links die too). */
export async function spendOutstandingTokens(userId: string, purpose: OneTimePurpose, now = new Date()): Promise<number> {
  const { count } = await db().oneTimeToken.updateMany({ where: { userId, purpose, usedAt: null }, data: { usedAt: now } });
  return count;
}

const PURGE_INTERVAL_MS = 60 * 60 * 1000;

/** Deletes tokens that expired more than a day ago (with the payloads they held). */
export async function purgeExpiredOneTimeTokens(now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - 24 * 60 * 60 * 1000);
  return db().oneTimeToken.deleteMany({ where: { expiresAt: { lt: cutoff } } }).then((result) => result.count);
}

function purgeNowAndThen(now: Date): void {
  nowAndThen("one_time_token.purge", PURGE_INTERVAL_MS, now, () => purgeExpiredOneTimeTokens(now));
}
