import "server-only";
import { db } from "../platform/db";

/**
 * Roles, read from the database on every check, not from the session: a
 * browser JWT carries a `role` claim signed at sign-in, and a user demoted
 * since then must not keep admin rights until it expires. Kept apart from the
 * password code so the proxy can ask without loading argon2.
 */
export const ADMIN_ROLE = "admin";

export async function isAdmin(userId: string): Promise<boolean> {
  const user = await db().user.findUnique({ where: { id: userId }, select: { role: true } });
  return user?.role === ADMIN_ROLE;
}
