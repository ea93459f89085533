import "server-only";
import { feedEpoch, isRevoked, rememberSession, rememberedSession } from "./feed";
import { activeSessionExpiry, activeSessionUser } from "./store";

export { isLive } from "./feed";

/**
 * Pushed mode (feed live): whether the session behind a token's `sid` is
 * active, from memory. The first time an instance sees a `sid` (and again after
 * its feed reconnected) it reads the session once — so a session the store no
 * longer has (purged, or lost by a Redis restart) is refused as in strict mode;
 * from then on the answer comes from memory until the session ends or a notice
 * revokes it. `userId`, when given, must own the session (a browser JWT's `sub`).
 */
export async function sessionKnownActive(sid: string, userId?: string): Promise<boolean> {
  if (isRevoked(sid)) return false;
  const key = `sid:${sid}`;
  const known = rememberedSession(key);
  if (known === "revoked") return false;
  if (known) return userId === undefined || known.value === userId;
  const epoch = feedEpoch();
  const now = new Date();
  if (userId !== undefined) {
    const user = await activeSessionUser(sid, userId, now);
    const ends = user && (await activeSessionExpiry(sid, now));
    if (!user || !ends) return false;
    rememberSession(key, sid, userId, ends.getTime(), epoch);
    return true;
  }
  const ends = await activeSessionExpiry(sid, now);
  if (!ends) return false;
  rememberSession(key, sid, undefined, ends.getTime(), epoch);
  return true;
}
