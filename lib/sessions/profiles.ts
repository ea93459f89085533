import "server-only";
import { queryRows } from "../platform/db";
import type { SessionUser } from "./backend";

/** A user's id, e-mail and name by primary key; null if there is no such user. Users live in the database whatever the session store. */
export async function findSessionUser(userId: string): Promise<SessionUser | null> {
  const [row] = await queryRows(`SELECT "email", "name" FROM "User" WHERE "id" = $1`, [userId]);
  if (!row || typeof row.email !== "string") return null;
  return { id: userId, email: row.email, name: typeof row.name === "string" ? row.name : null };
}

// A signed token carries no name or e-mail, and a session in Redis has no join
// with the user's row: they are read once per user and remembered briefly
// (bounded), so a rename shows within a minute.
const PROFILE_TTL_MS = 60_000;
const PROFILE_CACHE_SIZE = 5000;
const profilesKey = Symbol.for("session-or-token.user-profiles");
type GlobalWithProfiles = typeof globalThis & { [profilesKey]?: Map<string, { user: SessionUser; until: number }> };

/** The user's id, e-mail and name, from memory when read less than a minute ago. */
export async function rememberedProfile(userId: string, now = Date.now()): Promise<SessionUser | null> {
  const holder = globalThis as GlobalWithProfiles;
  const cache = (holder[profilesKey] ??= new Map());
  const hit = cache.get(userId);
  if (hit && hit.until > now) return hit.user;
  const user = await findSessionUser(userId);
  cache.delete(userId);
  if (!user) return null;
  if (cache.size >= PROFILE_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(userId, { user, until: now + PROFILE_TTL_MS });
  return user;
}
