import "server-only";
import type { Prisma } from "../generated/sqlite/client";
import { db, isUniqueViolation } from "../platform/db";

/**
 * A user's provider identities: rows of the Account table, one per (issuer,
 * subject) (`provider` holds the issuer, `providerAccountId` the subject). An
 * identity belongs to at most one account (the unique index says so).
 */

export interface IdentityKey {
  issuer: string;
  subject: string;
}

export interface IdentityOwner {
  id: string;
  email: string;
  name: string | null;
}

export interface LinkedIdentity {
  /** The Account row's id (what a disconnect names). */
  id: string;
  issuer: string;
  subject: string;
  /** Auth.js's provider type: "oidc" or "oauth". */
  type: string;
  connectedAt: Date;
}

const byKey = (identity: IdentityKey) => ({ provider_providerAccountId: { provider: identity.issuer, providerAccountId: identity.subject } });

/** The account an identity signs in to, or null. */
export async function identityOwner(identity: IdentityKey): Promise<IdentityOwner | null> {
  const account = await db().account.findUnique({ where: byKey(identity), select: { user: { select: { id: true, email: true, name: true } } } });
  return account?.user ?? null;
}

export type LinkResult = { ok: true; created: boolean } | { ok: false; reason: "identity_in_use" };

/**
 * Links an identity to an account. Already linked to it: nothing to do. Linked
 * to another account: refused (an identity is never moved between accounts).
 */
export async function linkIdentity(userId: string, identity: IdentityKey, type: string): Promise<LinkResult> {
  try {
    await db().account.create({ data: { userId, type, provider: identity.issuer, providerAccountId: identity.subject } });
    return { ok: true, created: true };
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const owner = await identityOwner(identity);
    return owner?.id === userId ? { ok: true, created: false } : { ok: false, reason: "identity_in_use" };
  }
}

const identityColumns = { id: true, provider: true, providerAccountId: true, type: true, createdAt: true } as const;

function toLinkedIdentity(row: { id: string; provider: string; providerAccountId: string; type: string; createdAt: Date }): LinkedIdentity {
  return { id: row.id, issuer: row.provider, subject: row.providerAccountId, type: row.type, connectedAt: row.createdAt };
}

/** The user's identities, oldest connection first. */
export async function identitiesOf(userId: string): Promise<LinkedIdentity[]> {
  const rows = await db().account.findMany({ where: { userId }, select: identityColumns, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
  return rows.map(toLinkedIdentity);
}

/** How an account can sign in: its password, if it has one, and each linked identity. */
export interface WaysIn {
  hasPassword: boolean;
  identities: number;
}

/**
 * Whether removing one linked identity would leave the account with no way
 * in: no password and no other identity. Such a removal is refused.
 */
export function isLastWayIn(ways: WaysIn): boolean {
  return !ways.hasPassword && ways.identities <= 1;
}

export type UnlinkResult = { ok: true; identity: LinkedIdentity } | { ok: false; reason: "not_found" | "last_way_in" };

/**
 * Removes one of the user's own identities, unless it is the last way in. The
 * user's row is written first inside the transaction: concurrent removals for
 * one account wait for each other, so two of them cannot each see the other
 * identity still there and leave none.
 */
export async function unlinkIdentity(userId: string, accountId: string): Promise<UnlinkResult> {
  return db().$transaction(async (tx: Prisma.TransactionClient) => {
    const user = await tx.user.update({ where: { id: userId }, data: { updatedAt: new Date() }, select: { passwordHash: true } });
    const rows = await tx.account.findMany({ where: { userId }, select: identityColumns });
    const row = rows.find((candidate) => candidate.id === accountId);
    if (!row) return { ok: false, reason: "not_found" } as const;
    if (isLastWayIn({ hasPassword: user.passwordHash !== null, identities: rows.length })) return { ok: false, reason: "last_way_in" } as const;
    await tx.account.delete({ where: { id: row.id } });
    return { ok: true, identity: toLinkedIdentity(row) } as const;
  });
}
